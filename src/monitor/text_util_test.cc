#include "monitor/text_util.h"

#include "netsep/ruleset.h"

#include <gtest/gtest.h>

#include <ctime>
#include <random>

namespace mamori::monitor {
namespace {

// Four decimal numbers joined by dots, each below 1000 when `wide`, else below 256.
std::string RandomQuad(std::mt19937_64& rng, bool wide) {
  std::string t;
  for (int k = 0; k < 4; ++k) {
    if (k > 0) t += '.';
    t += std::to_string(rng() % (wide ? 1000 : 256));
  }
  return t;
}

// Fewer than `bound` characters drawn from `alphabet`.
std::string RandomText(std::mt19937_64& rng, const std::string& alphabet, size_t bound) {
  std::string t;
  const size_t length = rng() % bound;
  for (size_t k = 0; k < length; ++k) t += alphabet[rng() % alphabet.size()];
  return t;
}

// A network ("a.b.c.d/n"; usually without host bits, sometimes without its length), maybe with
// one character replaced by one from `alphabet`.
std::string RandomNetwork(std::mt19937_64& rng, const std::string& alphabet) {
  const int length = static_cast<int>(rng() % 34);
  uint32_t address = static_cast<uint32_t>(rng());
  if (rng() % 4 != 0 && length < 32) address &= length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  std::string t = netsep::FormatIpv4(address);
  if (rng() % 5 != 0) t += "/" + std::to_string(length);
  if (rng() % 3 == 0) t[rng() % t.size()] = alphabet[rng() % alphabet.size()];
  return t;
}

TEST(TextUtil, Numbers) {
  EXPECT_EQ(ParseUnsigned("0"), 0u);
  EXPECT_EQ(ParseUnsigned("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseUnsigned("18446744073709551616"), std::nullopt);
  EXPECT_EQ(ParseUnsigned(""), std::nullopt);
  EXPECT_EQ(ParseUnsigned("-1"), std::nullopt);
  EXPECT_EQ(ParsePort("65535"), 65535);
  EXPECT_EQ(ParsePort("65536"), std::nullopt);
  EXPECT_EQ(ParsePort("1e3"), std::nullopt);
}

TEST(TextUtil, EpochSeconds) {
  EXPECT_EQ(ParseEpochSeconds("1714523400"), 1714523400000000);
  EXPECT_EQ(ParseEpochSeconds("1714523400.5"), 1714523400500000);
  EXPECT_EQ(ParseEpochSeconds("1714523400.123456789"), 1714523400123456);
  EXPECT_EQ(ParseEpochSeconds("1714523400."), std::nullopt);
  EXPECT_EQ(ParseEpochSeconds("-5"), std::nullopt);
  EXPECT_EQ(ParseEpochSeconds("1.2.3"), std::nullopt);
}

TEST(TextUtil, IsoTimes) {
  EXPECT_EQ(ParseIsoTime("2024-05-01T00:30:00Z"), 1714523400000000);
  EXPECT_EQ(ParseIsoTime("2024-05-01T09:30:00+09:00"), 1714523400000000);
  EXPECT_EQ(ParseIsoTime("2024-05-01T09:30:00.250000+0900"), 1714523400250000);
  EXPECT_EQ(ParseIsoTime("2024-04-30T23:30:00-01:00"), 1714523400000000);
  EXPECT_EQ(ParseIsoTime("2024-05-01 00:30:00"), 1714523400000000);
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIsoTime("2024-13-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseIsoTime("2024-05-01T00:30:00+9"), std::nullopt);
  EXPECT_EQ(ParseIsoTime("2024-05-01T00:30"), std::nullopt);
  EXPECT_EQ(ParseIsoTime("2024-05-01T00:30:00Zjunk"), std::nullopt);
  EXPECT_EQ(FormatIsoUtc(1714523400999999), "2024-05-01T00:30:00Z");
  EXPECT_EQ(FormatIsoUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoUtc(951782400000000), "2000-02-29T00:00:00Z");
}

TEST(TextUtil, Addresses) {
  Address a;
  SetAddress(a, "192.0.2.1");
  EXPECT_TRUE(a.is_v4);
  EXPECT_EQ(a.v4, 0xC0000201u);
  SetAddress(a, "2001:db8::1");
  EXPECT_FALSE(a.is_v4);
  EXPECT_EQ(a.text, "2001:db8::1");
}

// ParseDottedQuad is netsep::ParseIpv4 unrolled: the same answer for addresses, near misses
// and random text.
TEST(TextUtil, ParseDottedQuadAgreesWithParseIpv4) {
  std::mt19937_64 rng(5);
  const std::string alphabet = "0123456789.....:x -";
  std::vector<std::string> texts = {
      "0.0.0.0",    "255.255.255.255", "256.1.1.1",    "01.2.3.4",  "1.2.3.04",
      "1.2.3",      "1.2.3.4.",        ".1.2.3.4",     "1..2.3",    "1.2.3.4 ",
      "1000.2.3.4", "10.20.11.151",    "199.255.0.99", "1.2.3.4.5", ""};
  for (int i = 0; i < 300000; ++i) {
    std::string t;
    if (i % 2 == 0) {  // an address, maybe changed
      t = RandomQuad(rng, i % 6 == 0);
      if (rng() % 3 == 0) t[rng() % t.size()] = alphabet[rng() % alphabet.size()];
    } else {
      t = RandomText(rng, alphabet, 17);
    }
    texts.push_back(std::move(t));
  }
  size_t valid = 0;
  for (const std::string& t : texts) {
    const std::optional<uint32_t> expected = netsep::ParseIpv4(t);
    ASSERT_EQ(ParseDottedQuad(t), expected) << t;
    valid += expected.has_value();
  }
  EXPECT_GT(valid, 50000u);
}

// ParseDottedQuadPadded reads past the text: what follows (digits and dots that would extend
// an address, or anything else) must not change its answer, which is ParseDottedQuad's.
TEST(TextUtil, ParseDottedQuadPaddedAgreesWithParseDottedQuad) {
  std::mt19937_64 rng(6);
  const std::string alphabet = "0123456789.....:x -\x80\xff";
  size_t valid = 0;
  for (int i = 0; i < 300000; ++i) {
    std::string t;
    if (i % 2 == 0) {
      t = RandomQuad(rng, i % 6 == 0);
      if (rng() % 3 == 0) t[rng() % t.size()] = alphabet[rng() % alphabet.size()];
      if (rng() % 5 == 0) t.erase(rng() % t.size(), 1);
    } else {
      t = RandomText(rng, alphabet, 17);
    }
    std::string padded = t;
    for (int k = 0; k < 20; ++k) padded += alphabet[rng() % alphabet.size()];
    const std::string_view text(padded.data(), t.size());
    const std::optional<uint32_t> expected = ParseDottedQuad(t);
    ASSERT_EQ(ParseDottedQuadPadded(text), expected) << t;
    valid += expected.has_value();
  }
  EXPECT_GT(valid, 50000u);
}

// ParsePrefixStrict is netsep::ParsePrefix refusing host bits, in fewer steps: the same answer
// for networks, near misses and random text.
TEST(TextUtil, ParsePrefixStrictAgreesWithParsePrefix) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789...//:x -+";
  std::vector<std::string> texts = {
      "0.0.0.0/0",    "10.0.0.0/8",  "10.0.0.1/8",  "10.0.0.0/08", "10.0.0.0/33", "10.0.0.0/",
      "10.0.0.0//8",  "10.0.0.0/8/", "1.2.3.4",     "1.2.3.4/32",  "1.2.3.4/+3",  "1.2.3.4/-0",
      "192.0.2.0/24", "/24",         "1.2.3.0/024", "1.2.3.0/ 24", "01.2.3.0/24", ""};
  for (int i = 0; i < 300000; ++i) {
    std::string t;
    if (i % 2 == 0) {  // a network, maybe changed
      t = RandomNetwork(rng, alphabet);
    } else {
      t = RandomText(rng, alphabet, 20);
    }
    texts.push_back(std::move(t));
  }
  size_t valid = 0;
  for (const std::string& t : texts) {
    const std::optional<netsep::Prefix> expected =
        netsep::ParsePrefix(t, netsep::HostBits::kReject);
    const std::optional<std::pair<uint32_t, int>> got = ParsePrefixStrict(t);
    ASSERT_EQ(got.has_value(), expected.has_value()) << t;
    if (got) {
      ASSERT_EQ(got->first, expected->address) << t;
      ASSERT_EQ(got->second, expected->length) << t;
      ++valid;
    }
  }
  EXPECT_GT(valid, 50000u);
}

// ParsePrefixStrictPadded reads past the text: what follows (digits, dots and slashes that would
// extend a network, or anything else) must not change its answer, which is ParsePrefixStrict's.
TEST(TextUtil, ParsePrefixStrictPaddedAgreesWithParsePrefixStrict) {
  std::mt19937_64 rng(8);
  const std::string alphabet = "0123456789...//:x -+\x80\xff";
  size_t valid = 0;
  for (int i = 0; i < 300000; ++i) {
    std::string t;
    if (i % 2 == 0) {  // a network, maybe changed
      t = RandomNetwork(rng, alphabet);
      if (rng() % 5 == 0) t.erase(rng() % t.size(), 1);
    } else {
      t = RandomText(rng, alphabet, 22);
    }
    std::string padded = t;
    for (int k = 0; k < 20; ++k) padded += alphabet[rng() % alphabet.size()];
    const std::string_view text(padded.data(), t.size());
    const std::optional<std::pair<uint32_t, int>> expected = ParsePrefixStrict(t);
    ASSERT_EQ(ParsePrefixStrictPadded(text), expected) << t;
    valid += expected.has_value();
  }
  EXPECT_GT(valid, 50000u);
}

// QuotedDottedQuadPadded finds the closing quote itself: its answer is ParseDottedQuad's for
// the text before the first quote (when that is within 16 bytes), whatever follows.
TEST(TextUtil, QuotedDottedQuadPaddedAgreesWithParseDottedQuad) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789.....\"\"\\:x -\x80\xff";
  size_t valid = 0;
  for (int i = 0; i < 300000; ++i) {
    std::string t;
    if (i % 2 == 0) {
      t = RandomQuad(rng, i % 6 == 0);
      if (rng() % 3 == 0) t[rng() % t.size()] = alphabet[rng() % alphabet.size()];
      if (rng() % 5 == 0) t.erase(rng() % t.size(), 1);
      if (rng() % 2 == 0) t += '"';
    } else {
      t = RandomText(rng, alphabet, 18);
    }
    std::string padded = t;
    for (int k = 0; k < 20; ++k) padded += alphabet[rng() % alphabet.size()];
    const size_t quote = padded.find('"');
    std::optional<uint32_t> expected;
    if (quote < 16) expected = ParseDottedQuad(std::string_view(padded).substr(0, quote));
    const uint64_t got = QuotedDottedQuadPadded(padded.data());
    ASSERT_EQ(got != 0, expected.has_value()) << padded;
    if (expected) {
      ASSERT_EQ(got >> 32, quote) << padded;
      ASSERT_EQ(static_cast<uint32_t>(got), *expected) << padded;
      ++valid;
    }
  }
  EXPECT_GT(valid, 30000u);
}

// FormatIsoUtc writes the digits itself: the C library's calendar (gmtime_r, strftime) must
// agree, from the year 1000 (before 1970 too) to the year 9999.
TEST(TextUtil, FormatIsoUtcAgreesWithTheCLibrary) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100000; ++i) {
    const int64_t seconds = static_cast<int64_t>(rng() % 253402300800ull) -
                            (i % 10 == 0 ? int64_t{30610224000} : int64_t{0});  // from 1000
    const int64_t micros = static_cast<int64_t>(rng() % 1000000);
    const time_t t = static_cast<time_t>(seconds);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char expected[40];
    std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ASSERT_EQ(FormatIsoUtc(seconds * 1000000 + micros), expected) << seconds;
  }
}

}  // namespace
}  // namespace mamori::monitor
