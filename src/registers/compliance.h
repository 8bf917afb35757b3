// 管理策の実施状況 (§6–§8): the evidence (証跡) that shows each control of the catalog is in
// place, the exceptions (例外措置) granted against a control, and each control's status, which
// is derived from its evidence and the evidence's freshness, never typed in.
//
// Two registers carry it: 証跡 (`evidence`: a record per piece of evidence, immutable once
// made; automated results come from the engines through service accounts and keep their raw
// result with its SHA-256) and 例外措置 (`control_exceptions`: requested by one person,
// approved or rejected by another who holds the approve grant, with an expiry).
//
// ComplianceService computes the status of every control on a date:
//   実施済 (implemented)       every kind of evidence the control needs is present and fresh;
//   一部実施 (partial)          some are;
//   未実施 (not_implemented)    none is, but some evidence exists (expired, or a failed check);
//   不明 (unknown)              no evidence at all.
// One kind of evidence is "fresh" when its latest record has not passed its valid_until and
// passed (an attestation counts only when it has an attached file: without one it is a claim,
// not evidence; a document only while the policy document it names (規程) has a version in force
// whose review is not overdue: records naming none, or a document not yet in force, are not
// counted; a document abolished, archived or overdue for review makes the kind "expired" when
// nothing else counts); for "register:<key>" when that register has active records changed
// within the control's review interval (a register a later issue builds is "unavailable").
// An automated result recorded for kEveryControl counts for every control that asks for its
// kind, as if recorded for each (the latest of both kinds of record is the kind's latest).
//
// Thread-safety: ComplianceService is thread-safe (state is the store and immutable values).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "policy/catalog.h"
#include "registers/access.h"
#include "registers/definition.h"
#include "registers/registry.h"
#include "store/store.h"

namespace mamori::registers {

RegisterDef EvidenceRegister(const policy::Catalog& catalog);
RegisterDef ControlExceptionsRegister(const policy::Catalog& catalog);

// The evidence register's control value of an automated result that stands for every control
// asking for its kind (an engine posts one record per run, not one per control).
inline constexpr const char* kEveryControl = "all";

// The enum value of a control id: "C-6-3a-01" -> "c_6_3a_01".
std::string ControlValue(std::string_view control_id);
// The evidence register's kind for a catalog evidence name: "automated:netcheck" ->
// "automated_netcheck"; "" for register evidence.
std::string EvidenceKindValue(std::string_view catalog_kind);

// Bounds of ComplianceService::MonitorReports.
struct MonitorReportLimits {
  size_t max_reports = 1000;                 // reports listed, newest first
  size_t max_read = 200;                     // reports whose raw result is read …
  size_t max_read_bytes = size_t{16} << 20;  // … until this many bytes of raw have been read
  size_t max_alerts = 2000;                  // alerts returned
};

class ComplianceService {
 public:
  ComplianceService(store::Store& store, const Registry& registry, const Authorizer& authorizer,
                    std::shared_ptr<const policy::Catalog> catalog, const Clock& clock);

  // The status of every control today, for actors who may view the evidence register:
  // {"today", "totals": {"controls", "implemented", "partial", "not_implemented", "unknown"},
  //  "sections": [{"id": "6(3)", "title": {ja, en}, "controls", "implemented", …}],
  //  "controls": [{"id", "value", "section", "measure", "title": {ja, en}, "owner_role",
  //                "review_months", "status", "exception": {"id", "title", "expires_on"} | null,
  //                "evidence": [{"kind", "state": "fresh"|"expired"|"failed"|"missing"|
  //                              "unavailable", "record": {"id", "result", "summary",
  //                              "recorded_on", "valid_until", "source", "attachments"} |
  //                              null, "records": n, "unattached"?: n (attestations without
  //                              a file, not counted), "uncounted"?: n (documents whose
  //                              document does not hold), "document"?: {"id", "code", "title",
  //                              "kind", "hidden"?, "version": {"id", "name", "version_no",
  //                              "effective_date", "status"} | null, "review_due", "state":
  //                              "in_force"|"review_overdue"|"abolished"|"archived"|
  //                              "not_in_force"|"unlinked"|"missing", "counts", "reason":
  //                              {ja, en}} (the latest counted document's basis, else the
  //                              latest one's), "last_change"?}]}]}.
  Result<nlohmann::json> Status(const Actor& actor) const;

  // The 実施状況一覧 for the 情報セキュリティ委員会: one row per control (section, id, title,
  // status, evidence and its dates, exception), as XLSX bytes.
  Result<std::string> ReportXlsx(const Actor& actor) const;
  // The same as a printable, self-contained Japanese HTML page.
  Result<std::string> ReportHtml(const Actor& actor) const;

  // The reports `mamori monitor --report-to` recorded (kind automated_monitor) in the last
  // `days` days (1..31), and the newest one however old, for actors who may view the evidence
  // register, read on the server so that the 通信監視 page needs one request: {"days", "since",
  // "reports": [{"id", "created_at", "source", "result", "summary", "read", and when read:
  // "host", "ran_at", "since", "healthy", "events", "alerts_total", "alerts_left_out"}] (newest
  // first; a report posted once per control by an earlier version is listed once),
  // "reports_total", "reports_read", "reports_unread" (beyond the bounds), "unreadable" (raw
  // results that are not a monitor report), "latest" (the newest report read, without its
  // alerts, plus "record" and "created_at"; null when none), "zones" ({name: description}, the
  // newest report's), "alerts" (the reports' alerts with "report": the record id; an alert in
  // several reports once, the newest copy; critical first, then the latest first),
  // "alerts_total" (before the bound), "alerts_left_out" (what the reports themselves left out,
  // counted by the monitor), "alerts_beyond" (what the bound leaves out here)}.
  Result<nlohmann::json> MonitorReports(const Actor& actor, int days,
                                        const MonitorReportLimits& limits = {}) const;

 private:
  store::Store& store_;
  const Registry& registry_;
  const Authorizer& authorizer_;
  std::shared_ptr<const policy::Catalog> catalog_;
  const Clock& clock_;
};

}  // namespace mamori::registers
