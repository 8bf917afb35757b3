// Sigma rules (https://github.com/SigmaHQ/sigma-specification) for `mamori monitor`: the
// network log sources (firewall, proxy, dns, and Zeek's conn, dns, http and ssl logs) read from
// YAML text and compiled for the monitor's input formats, and the detector that raises `sigma`
// alerts for the events they match.
//
// Load takes the rule files' text (never a path: the CLI reads the files). A file may hold
// several YAML documents, each one rule. A file that is not YAML, a document that is not a Sigma
// rule and a rule that is broken (no condition, a condition naming an entry detection does not
// have, a value of the wrong shape) are errors that name the file and line. A valid rule this
// engine cannot evaluate (an unknown modifier, an aggregation or `near` condition, a timeframe,
// a log source that is not a network log, fields no input format has) is not an error: it is
// listed in unsupported() with its reason, and the other rules are used.
//
// Compiled once: each rule per input format (field names resolved through event.h's one table,
// needles lower-cased, regular expressions built with RE2, CIDR ranges parsed) and indexed by
// (format, log type), so that an event meets only the rules of its kind and nothing is
// allocated per event. The supported subset is described in docs/monitor.md.
//
// SigmaRules is immutable after Load and may be shared between threads; each detector is used
// by one thread and must not outlive its SigmaRules.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "monitor/detector.h"

namespace mamori::monitor {

inline constexpr size_t kMaxSigmaFileBytes = size_t{1} << 20;

struct SigmaFile {
  std::string name;  // for messages and the unsupported list
  std::string text;
};

// A rule that was read but will not be evaluated, and why (Japanese and English).
struct SigmaUnsupported {
  std::string file;
  int line = 0;  // where the rule (or the reason) is, 1-based
  std::string id;
  std::string title;
  std::string reason;
  std::string reason_en;
};

struct SigmaOptions {
  // Index the rules by their necessary conditions on ports, numbers and IPv4 ranges, so that an
  // event is checked only against rules it may match, and remember the regular expressions'
  // answers per text (sigma_match.h) (default). false evaluates every rule of the event's kind
  // for every event, every expression every time: same results, slower; tests compare the two.
  bool index = true;
};

class SigmaRules {
 public:
  // Errors: kInvalidInput "file:line: …" (not YAML, not a Sigma rule, a broken rule), kTooLarge
  // for a file above kMaxSigmaFileBytes or a rule with more than 10,000 values.
  static Result<SigmaRules> Load(std::span<const SigmaFile> files, SigmaOptions options = {});

  SigmaRules(SigmaRules&&) noexcept;
  SigmaRules& operator=(SigmaRules&&) noexcept;
  ~SigmaRules();

  // Rules evaluated on at least one input format.
  size_t loaded() const;
  // Rules read but not evaluated, in file order.
  const std::vector<SigmaUnsupported>& unsupported() const;

  struct Compiled;  // sigma.cc
  const Compiled& compiled() const { return *compiled_; }

 private:
  explicit SigmaRules(std::unique_ptr<Compiled> compiled);
  std::unique_ptr<Compiled> compiled_;
};

// Events matching one or more rules → one `sigma` finding per event (severity: the highest
// `level` of the rules matched; informational and low → low, medium, high, critical; no level →
// medium), naming the rules. `rules` must outlive the detector.
std::unique_ptr<Detector> MakeSigmaDetector(const SigmaRules& rules);

// For the summary on standard error: the number of rules loaded, then one line per unsupported
// rule (file:line, id, title, reason in Japanese and English).
std::string SigmaRulesToText(const SigmaRules& rules);

}  // namespace mamori::monitor
