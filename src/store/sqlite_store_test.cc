#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
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

}  // namespace
}  // namespace mamori::store
