#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "store/store.h"

namespace mamori::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mamori-store-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> Open() {
    auto s = OpenSqlite({.path = (dir_ / "t.db").string()});
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message_en);
    return std::move(s).value();
  }
  std::filesystem::path dir_;
};

const Migration kMigrations[] = {
    {"test/001", "table t", {"CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"}},
    {"test/002", "index", {"CREATE INDEX t_name ON t(name)"}},
};

TEST_F(SqliteStoreTest, MigratesOnceAndRecordsVersion) {
  auto store = Open();
  auto v1 = store->Migrate(kMigrations);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(*v1, 2);
  auto v2 = store->Migrate(kMigrations);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, 2);
  std::vector<Migration> more(std::begin(kMigrations), std::end(kMigrations));
  more.push_back({"test/003", "col", {"ALTER TABLE t ADD COLUMN note TEXT"}});
  auto v3 = store->Migrate(more);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(*v3, 3);
}

TEST_F(SqliteStoreTest, FailedMigrationChangesNothing) {
  auto store = Open();
  const Migration bad[] = {
      {"a", "ok", {"CREATE TABLE a (x INTEGER)"}},
      {"b", "broken", {"CREATE TABLE b (x INTEGER", "x"}},
  };
  EXPECT_FALSE(store->Migrate(bad).ok());
  Status st = store->Read([](Connection& c) -> Status {
    auto rows = c.Query("SELECT count(*) FROM sqlite_master WHERE name = 'a'");
    if (!rows.ok()) return std::move(rows).error();
    EXPECT_EQ(AsInt((*rows)[0][0]), 0);
    return {};
  });
  EXPECT_TRUE(st.ok());
}

TEST_F(SqliteStoreTest, WriteRollsBackOnError) {
  auto store = Open();
  ASSERT_TRUE(store->Migrate(kMigrations).ok());
  Status st = store->Write([](Connection& c) -> Status {
    const Value p[] = {std::string("総務課")};
    MAMORI_TRY(c.Exec("INSERT INTO t (name) VALUES (?)", p));
    return Error::Invalid("中止", "abort");
  });
  EXPECT_FALSE(st.ok());
  Status dup = store->Write([](Connection& c) -> Status {
    const Value p[] = {std::string("x")};
    MAMORI_TRY(c.Exec("INSERT INTO t (name) VALUES (?)", p));
    return c.Exec("INSERT INTO t (name) VALUES (?)", p).ok()
               ? Status{}
               : Status(Error::Conflict("重複", "dup"));
  });
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  ASSERT_TRUE(store
                  ->Read([](Connection& c) -> Status {
                    auto rows = c.Query("SELECT count(*) FROM t");
                    EXPECT_TRUE(rows.ok());
                    EXPECT_EQ(AsInt((*rows)[0][0]), 0);
                    return {};
                  })
                  .ok());
}

TEST_F(SqliteStoreTest, BindsParametersNeverInterpolates) {
  auto store = Open();
  ASSERT_TRUE(store->Migrate(kMigrations).ok());
  const std::string evil = "x'); DROP TABLE t; --";
  ASSERT_TRUE(store
                  ->Write([&](Connection& c) -> Status {
                    const Value p[] = {evil};
                    return c.Exec("INSERT INTO t (name) VALUES (?)", p).ok()
                               ? Status{}
                               : Status(Error::Internal("insert"));
                  })
                  .ok());
  ASSERT_TRUE(store
                  ->Read([&](Connection& c) -> Status {
                    const Value p[] = {evil};
                    auto rows = c.Query("SELECT name FROM t WHERE name = ?", p);
                    EXPECT_TRUE(rows.ok());
                    EXPECT_EQ(rows->size(), 1u);
                    return {};
                  })
                  .ok());
  EXPECT_TRUE(store->CheckIntegrity().ok());
}

// A callback that throws must not leave the write transaction open (every later write would
// fail) nor keep a read connection out of the pool (reads would block forever).
TEST_F(SqliteStoreTest, ThrowingCallbackLeavesTheStoreUsable) {
  auto store = Open();
  ASSERT_TRUE(store->Migrate(kMigrations).ok());
  EXPECT_THROW((void)store->Write([](Connection& c) -> Status {
    const Value p[] = {std::string("throws")};
    EXPECT_TRUE(c.Exec("INSERT INTO t (name) VALUES (?)", p).ok());
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  // More throwing reads than the pool holds (4): each must give its connection back.
  for (int i = 0; i < 10; ++i) {
    EXPECT_THROW((void)store->Read([](Connection&) -> Status { throw std::runtime_error("r"); }),
                 std::runtime_error);
  }
  ASSERT_TRUE(store
                  ->Write([](Connection& c) -> Status {
                    const Value p[] = {std::string("after")};
                    auto r = c.Exec("INSERT INTO t (name) VALUES (?)", p);
                    return r.ok() ? Status{} : Status(std::move(r).error());
                  })
                  .ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store
                    ->Read([](Connection& c) -> Status {
                      auto rows = c.Query("SELECT name FROM t ORDER BY id");
                      if (!rows.ok()) return std::move(rows).error();
                      // The thrown write was rolled back; the later one committed.
                      EXPECT_EQ(rows->size(), 1u);
                      EXPECT_EQ(AsText(rows->at(0).at(0)), "after");
                      return {};
                    })
                    .ok());
  }
}

TEST_F(SqliteStoreTest, ReadersSeeCommittedWritesConcurrently) {
  auto store = Open();
  ASSERT_TRUE(store->Migrate(kMigrations).ok());
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(store
                      ->Write([&](Connection& c) -> Status {
                        const Value p[] = {"n" + std::to_string(i)};
                        auto r = c.Exec("INSERT INTO t (name) VALUES (?)", p);
                        return r.ok() ? Status{} : Status(std::move(r).error());
                      })
                      .ok());
    }
  });
  int64_t last = 0;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(store
                    ->Read([&](Connection& c) -> Status {
                      auto rows = c.Query("SELECT count(*) FROM t");
                      EXPECT_TRUE(rows.ok());
                      const int64_t n = AsInt((*rows)[0][0]);
                      EXPECT_GE(n, last);
                      last = n;
                      return {};
                    })
                    .ok());
  }
  writer.join();
}

TEST_F(SqliteStoreTest, BlobKeepsEveryByte) {
  auto store = Open();
  const Migration m[] = {
      {"test/blob", "blobs", {"CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)"}}};
  ASSERT_TRUE(store->Migrate(m).ok());
  // NUL bytes, invalid UTF-8 and every other byte value must come back unchanged.
  std::string bytes;
  for (int i = 0; i < 512; ++i) bytes.push_back(static_cast<char>(i % 256));
  bytes += std::string("\0\xff\xfe\xc3", 4);
  ASSERT_TRUE(store
                  ->Write([&](Connection& c) -> Status {
                    const Value p[] = {Blob{bytes}};
                    auto r = c.Exec("INSERT INTO b (v) VALUES (?)", p);
                    return r.ok() ? Status{} : Status(std::move(r).error());
                  })
                  .ok());
  ASSERT_TRUE(store
                  ->Read([&](Connection& c) -> Status {
                    auto rows = c.Query("SELECT v, typeof(v), length(v) FROM b");
                    EXPECT_TRUE(rows.ok());
                    EXPECT_EQ(AsText((*rows)[0][0]), bytes);
                    EXPECT_EQ(AsText((*rows)[0][1]), "blob");
                    EXPECT_EQ(AsInt((*rows)[0][2]), static_cast<int64_t>(bytes.size()));
                    return {};
                  })
                  .ok());
}

int64_t CountRows(Store& store) {
  int64_t n = -1;
  EXPECT_TRUE(store
                  .Read([&](Connection& c) -> Status {
                    MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT count(*) FROM t"));
                    n = AsInt(rows.at(0).at(0));
                    return {};
                  })
                  .ok());
  return n;
}

Status AddRow(Store& store, const std::string& name) {
  return store.Write([&](Connection& c) -> Status {
    const Value p[] = {name};
    auto r = c.Exec("INSERT INTO t (name) VALUES (?)", p);
    return r.ok() ? Status() : Status(std::move(r).error());
  });
}

TEST_F(SqliteStoreTest, BackupIsOneCheckedFileAndRestoreReplacesTheWholeDatabase) {
  auto store = Open();
  ASSERT_TRUE(store->Migrate(kMigrations).ok());
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(AddRow(*store, "row" + std::to_string(i)).ok());
  const std::string backup = (dir_ / "backup.db").string();
  // Written while a writer goes on: the copy is one moment's database.
  std::atomic<bool> stop = false;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) (void)AddRow(*store, "late" + std::to_string(i));
  });
  const Status done = store->BackupTo(backup);
  stop = true;
  writer.join();
  ASSERT_TRUE(done.ok()) << done.error().message_en;
  struct stat st {};
  ASSERT_EQ(::stat(backup.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // personal data: the owner only
  auto facts = InspectSqliteFile(backup);
  ASSERT_TRUE(facts.ok()) << facts.error().message_en;
  EXPECT_EQ(facts->migrations, (std::vector<std::string>{"test/001", "test/002"}));
  EXPECT_FALSE(std::filesystem::exists(backup + "-wal"));
  // Never over an existing file, never into a missing folder; no temporary file left.
  const Status over = store->BackupTo(backup);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidInput);
  const Status nowhere = store->BackupTo((dir_ / "no" / "b.db").string());
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(nowhere.error().code, ErrorCode::kInvalidInput);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    files += e.path().filename().string().find(".tmp-") == std::string::npos ? 0 : 1;
  }
  EXPECT_EQ(files, 0);

  // Restore: the database's files kept as they are, then the backup put in their place.
  const int64_t at_backup = CountRows(**OpenSqlite({.path = backup}));
  ASSERT_TRUE(InspectSqliteFile(backup).ok());
  ASSERT_TRUE(AddRow(*store, "after").ok());
  const int64_t live = CountRows(*store);
  EXPECT_GT(live, at_backup);
  const std::string db = (dir_ / "t.db").string();
  store.reset();  // no one has it open
  const std::string before = (dir_ / "before.db").string();
  ASSERT_TRUE(CopySqliteFiles(db, before).ok());
  EXPECT_FALSE(CopySqliteFiles(db, before).ok());  // never over an existing file
  const std::string copy = (dir_ / "copy.db").string();
  std::filesystem::copy_file(backup, copy);
  ASSERT_TRUE(ReplaceSqliteFile(db, copy).ok());
  EXPECT_FALSE(std::filesystem::exists(db + "-wal"));
  store = Open();
  EXPECT_EQ(CountRows(*store), at_backup);
  ASSERT_TRUE(store->CheckIntegrity().ok());
  ASSERT_TRUE(AddRow(*store, "after").ok());
  EXPECT_EQ(CountRows(*store), at_backup + 1);
  // The copy kept before holds the rows written after the backup.
  EXPECT_EQ(CountRows(**OpenSqlite({.path = before})), live);
  auto rows = QuerySqliteFile(backup, "SELECT count(*) FROM t");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(AsInt((*rows)[0][0]), at_backup);
  EXPECT_EQ(QuerySqliteFile((dir_ / "none.db").string(), "SELECT 1").error().code,
            ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "none.db"));  // never created
}

TEST_F(SqliteStoreTest, InspectRefusesWhatIsNotASoundMamoriDatabase) {
  const std::string text = (dir_ / "text.db").string();
  std::ofstream(text) << "not a database at all, just some text long enough to be read";
  EXPECT_EQ(InspectSqliteFile(text).error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(InspectSqliteFile((dir_ / "missing.db").string()).error().code,
            ErrorCode::kInvalidInput);
  // A database without Mamori's migrations.
  auto store = Open();
  const std::string plain = (dir_ / "plain.db").string();
  ASSERT_TRUE(store->BackupTo(plain).ok());
  EXPECT_NE(InspectSqliteFile(plain).error().message_en.find("not a Mamori database"),
            std::string::npos);
  // A damaged one: the header of a page in the middle overwritten.
  ASSERT_TRUE(store->Migrate(kMigrations).ok());
  ASSERT_TRUE(store
                  ->Write([&](Connection& c) -> Status {
                    for (int i = 0; i < 2000; ++i) {
                      const Value p[] = {std::string(40, 'x') + std::to_string(i)};
                      MAMORI_ASSIGN_OR_RETURN([[maybe_unused]] auto n,
                                              c.Exec("INSERT INTO t (name) VALUES (?)", p));
                    }
                    return {};
                  })
                  .ok());
  const std::string damaged = (dir_ / "damaged.db").string();
  ASSERT_TRUE(store->BackupTo(damaged).ok());
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 * 4);  // page 5's b-tree header
    const std::string junk(64, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto facts = InspectSqliteFile(damaged);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(facts.error().code, ErrorCode::kInvalidInput);
}

TEST_F(SqliteStoreTest, ARestoreWaitsForNoServerAndServersShareTheLock) {
  const std::string db = (dir_ / "t.db").string();
  auto a = DatabaseLock::Acquire(db, DatabaseLock::Mode::kShared);
  auto b = DatabaseLock::Acquire(db, DatabaseLock::Mode::kShared);
  ASSERT_TRUE(a.ok() && b.ok());
  auto restore = DatabaseLock::Acquire(db, DatabaseLock::Mode::kExclusive);
  ASSERT_FALSE(restore.ok());
  EXPECT_NE(restore.error().message_en.find("in use by a running server"), std::string::npos);
  { auto gone = std::move(*a); }
  { auto gone = std::move(*b); }
  auto now = DatabaseLock::Acquire(db, DatabaseLock::Mode::kExclusive);
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE(DatabaseLock::Acquire(db, DatabaseLock::Mode::kShared).ok());
}

}  // namespace
}  // namespace mamori::store
