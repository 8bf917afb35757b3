// A hint to load the cache line holding `p` (a slot of a large table that will be read soon),
// so that other work hides the wait. GCC 12 drops __builtin_prefetch at -O2 in some inlined
// contexts, so on x86-64 the instruction is written out.
#pragma once

namespace mamori::monitor {

[[gnu::always_inline]] inline void PrefetchLine(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace mamori::monitor
