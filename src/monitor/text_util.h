// Small, allocation-free helpers the log parsers share: decimal numbers, timestamps and
// addresses. Every function is total: bad input gives nullopt (or false), never an exception.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "monitor/event.h"

namespace mamori::monitor {

// Digits only, no sign, at most 20 digits, no overflow.
std::optional<uint64_t> ParseUnsigned(std::string_view text);
std::optional<uint16_t> ParsePort(std::string_view text);

// "1700000000", "1700000000.123456" (epoch seconds; at most 9 fraction digits, truncated to
// microseconds) → microseconds.
std::optional<int64_t> ParseEpochSeconds(std::string_view text);

// RFC 3339 / ISO 8601 date-time: "2024-05-01T09:30:00Z", "…T09:30:00.123456+09:00",
// "…+0900" (Suricata), a space instead of "T"; without an offset the time is taken as UTC.
std::optional<int64_t> ParseIsoTime(std::string_view text);

// Microseconds since the epoch for a civil date and time (UTC), no range checks beyond the
// obvious: month 1–12, day 1–31, hour 0–23, minute 0–59, second 0–60.
std::optional<int64_t> CivilToMicros(int year, int month, int day, int hour, int minute,
                                     int second);

// "2024-05-01T00:30:00Z" (whole seconds, UTC).
std::string FormatIsoUtc(int64_t ts_us);
// The same written into `out`, without allocating; the text views `out`.
inline constexpr size_t kIsoUtcBytes = 40;
std::string_view FormatIsoUtcTo(int64_t ts_us, char (&out)[kIsoUtcBytes]);

// A dotted-quad IPv4 address exactly as netsep::ParseIpv4 reads it, in fewer steps (two per
// event); nullopt when `text` is not one.
std::optional<uint32_t> ParseDottedQuad(std::string_view text);
// An IPv4 address or network ("192.0.2.1", "192.0.2.0/24") exactly as netsep::ParsePrefix reads
// it refusing host bits (HostBits::kReject), in fewer steps (a blocklist has millions): the
// address (host order) and the prefix length (32 without "/"); nullopt when `text` is not one.
std::optional<std::pair<uint32_t, int>> ParsePrefixStrict(std::string_view text);
// ParsePrefixStrict for text followed by padding: 16 bytes from text.data() must be readable
// (their values do not matter). The same answers in fewer steps (SIMD).
std::optional<std::pair<uint32_t, int>> ParsePrefixStrictPadded(std::string_view text);
// Fills `address` from text: is_v4 when it is a dotted quad.
void SetAddress(Address& address, std::string_view text);
// ParseDottedQuad for text followed by padding: 16 bytes from text.data() must be readable
// (their values do not matter). The same answers in fewer steps (SIMD).
std::optional<uint32_t> ParseDottedQuadPadded(std::string_view text);
// For a quoted text (a JSON string): when the bytes from `s` up to the first '"' are a dotted
// quad (then the string has no escapes: it is those bytes), its length in the top 32 bits and
// its value in the low ones; 0 otherwise. 16 bytes from `s` must be readable. The quote is
// looked for in the same 16 bytes the address is read from.
uint64_t QuotedDottedQuadPadded(const char* s);
// An IPv6 address ("2001:db8::1"; "[2001:db8::1]" as Squid and URLs write it) as 16 bytes in
// network order; false when `text` is not one (inet_pton's grammar, IPv4-mapped forms
// included).
bool ParseIpv6(std::string_view text, std::array<uint8_t, 16>& out);

// ASCII case-insensitive search and comparison.
bool StartsWith(std::string_view s, std::string_view prefix);
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);

// A quick, well-mixed hash of a short text, eight bytes at a time (hash tables and memos; not
// for anything an attacker must not steer).
uint64_t QuickHash(std::string_view text);

}  // namespace mamori::monitor
