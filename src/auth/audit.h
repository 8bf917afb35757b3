// The audit trail (監査ログ): an append-only, hash-chained log of every write, export, login
// success and failure, permission or role change, and view of a confidential record.
//
// Entry n stores hash_n = SHA-256(hash_{n-1} || canonical JSON of entry n), with hash_0 = 64
// zeros; `audit_head` keeps the last sequence number and hash. Triggers refuse UPDATE and
// DELETE on the log, and Verify() finds the first entry that was edited, removed or
// reordered by other means (an edited database file).
//
// Thread-safety: thread-safe. Append runs inside the caller's write transaction (the store
// serializes writers, so sequence numbers are gapless).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "registers/access.h"
#include "store/store.h"

namespace mamori::auth {

// The schema of the audit trail (to be applied with the other migrations).
std::vector<store::Migration> AuditMigrations();

struct AuditQuery {
  std::string actor;   // exact login id
  std::string action;  // exact action
  std::string target;  // prefix, e.g. "org_units" or "org_units/12"
  std::string from;    // YYYY-MM-DD (inclusive, UTC)
  std::string to;      // YYYY-MM-DD (inclusive, UTC)
  int limit = 100;     // 1..1000
  int64_t offset = 0;
};

struct VerifyResult {
  bool ok = true;
  int64_t entries = 0;        // entries checked
  int64_t first_bad_seq = 0;  // when !ok
  std::string reason;         // Japanese, when !ok
};

class AuditLog final : public registers::AuditSink {
 public:
  AuditLog(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  Status Append(store::Connection& c, const registers::Actor& actor, std::string_view action,
                std::string_view target, const nlohmann::json& detail) override;
  // Appends in a transaction of its own (logins, denied attempts).
  Status AppendNow(const registers::Actor& actor, std::string_view action, std::string_view target,
                   const nlohmann::json& detail);

  // {"items": [{"seq","at","actor","address","action","target","detail"}], "total": n}
  Result<nlohmann::json> Query(const AuditQuery& q) const;
  // Rows for CSV export (header first), at most 200,000 entries.
  Result<std::vector<std::vector<std::string>>> ExportRows(const AuditQuery& q) const;

  // Walks the whole chain in sequence order, reading in batches.
  Result<VerifyResult> Verify() const;

 private:
  store::Store& store_;
  const Clock& clock_;
};

// The canonical form that is hashed (exposed for tests and the benchmark).
std::string CanonicalEntry(int64_t seq, std::string_view at, std::string_view actor,
                           std::string_view address, std::string_view action,
                           std::string_view target, std::string_view detail_json);
std::string ChainHash(std::string_view prev_hash, std::string_view canonical);

}  // namespace mamori::auth
