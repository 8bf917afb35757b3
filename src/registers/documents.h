// 規程 (§5, §9, §10): the policy documents, their versions and their 決裁 route, and each staff
// member's acknowledgement (周知の確認) of a version in force.
//
// Four registers carry it:
// - 規程 (`documents`): 基本方針 (public), 対策基準 and 実施手順 (non-public: only those with the
//   need to know see them), other rules; a review interval.
// - 版 (`document_versions`): the Markdown body of one version and its status 起案 → 審査 → 決裁 →
//   施行 → 廃止. The body and route change only while 起案; a version is submitted for 審査 along a
//   決裁 route of roles; it is 決裁 once every step approved in the current round; 施行 needs an
//   effective date and the approve grant. The version in force is the latest 施行 one whose
//   effective date has come.
// - 決裁記録 (`document_decisions`): one decision (承認 or 差戻し) per step, made by a holder of
// the
//   step's role or, when the holder is absent, by 代決: a holder of the previous step's role (or
//   of the same role, for the first step), naming the absent holder. Nobody decides on their own
//   draft; nobody approves two steps as themselves. Never changed afterwards.
// - 周知の確認 (`acknowledgements`): a staff member's own acknowledgement of a version in force,
//   once per version, within the document's scope.
// - 周知の督促 (`acknowledgement_reminders`): a reminder of a version in force, sent by one who
//   may create it (the officer following the progress) to everyone in the version's scope who has
//   not acknowledged it; the server records who sent it, when, and how many it reached. Staff
//   see it on their home page until they acknowledge. Never changed afterwards.
// DocumentService answers what the registers alone cannot: the versions waiting for a user's
// acknowledgement, the completion of an acknowledgement by bureau and section with the list of
// who has not, and the line diff between two versions.
//
// Thread-safety: DocumentService is thread-safe (state is the store and immutable values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "registers/access.h"
#include "registers/definition.h"
#include "registers/registry.h"
#include "registers/service.h"
#include "store/store.h"

namespace mamori::registers {

RegisterDef DocumentsRegister();
RegisterDef DocumentVersionsRegister();
RegisterDef DocumentDecisionsRegister();
RegisterDef AcknowledgementsRegister();
RegisterDef AcknowledgementRemindersRegister();

// The staff a reminder of `version` (API JSON of a document version) reaches: the active users
// in its document's scope (its section and the units below it, or everyone) who have not
// acknowledged it, as [{"id", "login", "name", "section"}] in id order. The one list of
// recipients: the reminder register counts it, and a mail notifier (none yet: the body has no
// mail relay) would address these users.
std::vector<nlohmann::json> ReminderRecipients(RuleContext& ctx, const nlohmann::json& version);

// One line of a diff: '=' kept, '-' only in the old text, '+' only in the new one.
struct DiffLine {
  char op;
  std::string text;
};
// The shortest line diff (Myers) of two texts. Lines split at '\n' ("\r\n" counts as one end).
// Texts of more than 20,000 lines, or differing in more than 4,000 lines, are kTooLarge.
Result<std::vector<DiffLine>> DiffLines(const std::string& before, const std::string& after);

class DocumentService {
 public:
  DocumentService(store::Store& store, RegisterService& service, const Registry& registry,
                  const Authorizer& authorizer, const Clock& clock);

  // The versions in force that `actor` has not acknowledged yet and is in the scope of:
  // {"items": [{"version", "document", "code", "title", "kind", "version_no",
  //             "effective_date", "outstanding_days" (since the effective date),
  //             "reminder": {"sent_on", "count"} | null (the latest 督促 of the version)}]}.
  Result<nlohmann::json> PendingAcknowledgements(const Actor& actor) const;

  // The documents whose version in force is due for review (its effective date plus the
  // document's review interval, 12 months when blank) within `within_days` or overdue, for
  // actors who may draft versions: {"items": [{"document", "code", "title", "kind", "version",
  // "version_no", "effective_date", "review_months", "due_on", "overdue", "revision": id |
  // null (a newer version being drafted, reviewed or approved)}]}, the most overdue first.
  Result<nlohmann::json> ReviewsDue(const Actor& actor, int within_days = 30) const;

  // The acknowledgement of version `version_id` by the active users in its document's scope:
  // {"version": {...}, "totals": {"users", "acknowledged", "percent"},
  //  "bureaus": [{"id", "name", "users", "acknowledged", "percent"}],
  //  "sections": [{"id", "name", "bureau", "users", "acknowledged", "percent"}],
  //  "pending": [{"id", "login", "name", "section_name"}],
  //  "reminders": {"count", "last": {"id", "sent_on", "sent_by", "sent_by_name", "recipients"} |
  //                null}}.
  // Needs view on the version (need to know) and on 周知の確認.
  Result<nlohmann::json> AcknowledgementProgress(const Actor& actor, int64_t version_id) const;

  // {"from": {...}, "to": {...}, "lines": [{"op", "text"}], "added", "removed"}; both versions
  // must be visible to `actor`.
  Result<nlohmann::json> Diff(const Actor& actor, int64_t from_id, int64_t to_id) const;

  // A public version (基本方針 or other public rules, 決裁 or 施行) as a standalone, printable
  // Japanese HTML page for the body's website: the Markdown body rendered safely, the title,
  // the version and its effective date. Non-public kinds are kInvalidInput.
  Result<std::string> PublicHtml(const Actor& actor, int64_t version_id) const;

  // The same version as a PDF (A4, Japanese layout; document_pdf.h) dated by the clock, with
  // the same checks as PublicHtml. The file name is the title and the version's name.
  // kUnavailable when the server has no Japanese font, kTooLarge past the PDF's limits.
  struct PublicFile {
    std::string name;  // e.g. 情報セキュリティ基本方針_第2版.pdf
    std::string bytes;
  };
  Result<PublicFile> PublicPdf(const Actor& actor, int64_t version_id) const;

 private:
  // A version that may be published (public kind, 決裁 or 施行), visible to `actor`, with its
  // document's title.
  struct Publishable;  // the version's record and its document's title
  Result<Publishable> PublishableVersion(const Actor& actor, int64_t version_id) const;

  store::Store& store_;
  RegisterService& service_;
  const Registry& registry_;
  const Authorizer& authorizer_;
  const Clock& clock_;
};

}  // namespace mamori::registers
