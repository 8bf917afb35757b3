#include "auth/audit.h"

#include <sqlite3.h>

#include "auth/test_support.h"

namespace mamori::auth {
namespace {

using testing::AuthFixture;

class AuditTest : public AuthFixture {
 protected:
  void AppendSome(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(audit_->AppendNow(cli_, "test", "t/" + std::to_string(i), {{"i", i}}).ok());
    }
  }
  // Edits the database file behind Mamori's back, as an attacker with file access would.
  void Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  int64_t FirstBad() {
    auto r = audit_->Verify();
    EXPECT_TRUE(r.ok());
    return r->ok ? 0 : r->first_bad_seq;
  }
};

TEST_F(AuditTest, IntactChainVerifies) {
  AppendSome(25);
  auto r = audit_->Verify();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->entries, 25);
}

TEST_F(AuditTest, TheApplicationCannotUpdateOrDelete) {
  AppendSome(3);
  Status st = store_->Write([](store::Connection& c) -> Status {
    auto r = c.Exec("UPDATE audit_log SET actor = 'x' WHERE seq = 2");
    if (!r.ok()) return std::move(r).error();
    return {};
  });
  EXPECT_FALSE(st.ok());
  Status del = store_->Write([](store::Connection& c) -> Status {
    auto r = c.Exec("DELETE FROM audit_log WHERE seq = 2");
    if (!r.ok()) return std::move(r).error();
    return {};
  });
  EXPECT_FALSE(del.ok());
  EXPECT_EQ(FirstBad(), 0);
}

TEST_F(AuditTest, DetectsAnEditedEntry) {
  AppendSome(10);
  Tamper("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone' WHERE seq = 4");
  EXPECT_EQ(FirstBad(), 4);
}

TEST_F(AuditTest, DetectsARemovedEntry) {
  AppendSome(10);
  Tamper("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 6");
  EXPECT_EQ(FirstBad(), 6);
}

TEST_F(AuditTest, DetectsARemovedLastEntry) {
  AppendSome(10);
  Tamper("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 10");
  EXPECT_EQ(FirstBad(), 10);
}

TEST_F(AuditTest, DetectsReorderedEntries) {
  AppendSome(10);
  // Swap the contents of entries 3 and 7 (keeping their sequence numbers).
  Tamper(
      "DROP TRIGGER audit_log_no_update;"
      "CREATE TEMP TABLE s AS SELECT * FROM audit_log WHERE seq IN (3, 7);"
      "UPDATE audit_log SET at = (SELECT at FROM s WHERE seq = 7), target = (SELECT target FROM s "
      "WHERE seq = 7), detail = (SELECT detail FROM s WHERE seq = 7), prev_hash = (SELECT "
      "prev_hash FROM s WHERE seq = 7), hash = (SELECT hash FROM s WHERE seq = 7) WHERE seq = 3;"
      "UPDATE audit_log SET at = (SELECT at FROM s WHERE seq = 3), target = (SELECT target FROM s "
      "WHERE seq = 3), detail = (SELECT detail FROM s WHERE seq = 3), prev_hash = (SELECT "
      "prev_hash FROM s WHERE seq = 3), hash = (SELECT hash FROM s WHERE seq = 3) WHERE seq = 7;");
  EXPECT_EQ(FirstBad(), 3);
}

TEST_F(AuditTest, RegisterWritesAreAuditedInTheirTransaction) {
  const int64_t unit = Unit("J", "bureau", 0);
  ASSERT_GT(unit, 0);
  auto q = audit_->Query({.action = "create"});
  ASSERT_TRUE(q.ok());
  ASSERT_EQ((*q)["total"], 1);
  EXPECT_EQ((*q)["items"][0]["target"], "org_units/" + std::to_string(unit));
  EXPECT_EQ((*q)["items"][0]["actor"], "cli");
  // A rejected write leaves no audit entry.
  auto dup = admin_->Create(cli_, *registry_->ByKey("org_units"),
                            {{"code", "J"}, {"name", "x"}, {"kind", "bureau"}});
  EXPECT_FALSE(dup.ok());
  EXPECT_EQ((*audit_->Query({.action = "create"}))["total"], 1);
}

TEST_F(AuditTest, QueryFiltersByActorActionTargetAndDate) {
  AppendSome(5);
  registers::Actor other{"yamada", "10.0.0.1", 0, {}};
  ASSERT_TRUE(audit_->AppendNow(other, "export", "org_units", {}).ok());
  EXPECT_EQ((*audit_->Query({.actor = "yamada"}))["total"], 1);
  EXPECT_EQ((*audit_->Query({.target = "t"}))["total"], 5);
  EXPECT_EQ((*audit_->Query({.target = "t/3"}))["total"], 1);
  EXPECT_EQ((*audit_->Query({.from = "2026-05-01", .to = "2026-05-01"}))["total"], 6);
  EXPECT_EQ((*audit_->Query({.from = "2026-05-02"}))["total"], 0);
  EXPECT_FALSE(audit_->Query({.from = "2026-13-01"}).ok());
}

}  // namespace
}  // namespace mamori::auth
