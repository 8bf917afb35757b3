// The ceiling of bench/monitor.sh: a parse-only pass over a JSON-lines file with simdjson (the
// same library and DOM API Mamori's Zeek JSON parser uses), reading the file in 16 MiB blocks as
// the monitor does (its memory stays bounded too), with one filter so that the documents are
// really looked at: count the connections to port 445 (the jq run applies the same filter).
//
//   monitor_parse FILE    → prints "documents matching" on standard output
#include <simdjson.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: monitor_parse FILE\n");
    return 2;
  }
  std::FILE* in = std::fopen(argv[1], "rb");
  if (in == nullptr) {
    std::perror(argv[1]);
    return 2;
  }
  constexpr size_t kBlock = size_t{16} << 20;
  std::string carry;
  std::string block(kBlock + simdjson::SIMDJSON_PADDING, '\0');
  simdjson::dom::parser parser;
  unsigned long long documents = 0, matching = 0;
  for (;;) {
    const size_t prefix = carry.size();
    std::memcpy(block.data(), carry.data(), prefix);
    const size_t got = std::fread(block.data() + prefix, 1, kBlock - prefix, in);
    const size_t size = prefix + got;
    if (size == 0) break;
    size_t end = size;
    if (got > 0) {  // keep the last partial line for the next block
      while (end > 0 && block[end - 1] != '\n') --end;
    }
    carry.assign(block.data() + end, size - end);
    if (end == 0) {
      if (got == 0) break;
      continue;
    }
    simdjson::dom::document_stream docs;
    if (parser.parse_many(block.data(), end, kBlock).get(docs) != simdjson::SUCCESS) return 1;
    for (auto doc : docs) {
      simdjson::dom::element element;
      if (doc.get(element) != simdjson::SUCCESS) return 1;
      ++documents;
      uint64_t port = 0;
      if (element["id.resp_p"].get(port) == simdjson::SUCCESS && port == 445) ++matching;
    }
    if (got == 0) break;
  }
  std::fclose(in);
  std::printf("%llu %llu\n", documents, matching);
  return 0;
}
