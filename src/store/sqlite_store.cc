#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "store/store.h"

#include <nlohmann/json.hpp>

#include "common/log.h"

namespace mamori::store {

int64_t AsInt(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  return 0;
}

std::string AsText(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return {};
}

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  const std::string msg =
      std::string(what) + ": " + sqlite3_errmsg(db) + " (" + std::to_string(rc) + ")";
  const int primary = rc & 0xFF;
  // SQLite's own text names tables and columns: it goes to the log, not to clients.
  if (primary != SQLITE_CONSTRAINT) {
    log::Warn("sqlite_error",
              "\"detail\":" + nlohmann::json(msg).dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace));
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Error::Unavailable(
        "データベースが混み合っています。しばらくしてから再度お試しください。", "database busy");
  }
  if (primary == SQLITE_CONSTRAINT) {
    return Error::Conflict("データの制約に違反しています(重複または参照先の不整合)。",
                           "constraint violation");
  }
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR) {
    return Error::Unavailable("データベースに書き込めません(ディスクを確認してください)。",
                              "database write failed");
  }
  return Error::Internal(msg);
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(DbHandle db) : db_(std::move(db)) {}

  sqlite3* db() { return db_.get(); }

  Result<int64_t> Exec(std::string_view sql, std::span<const Value> params) override {
    MAMORI_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      Error e = SqliteError(db(), rc, "exec");
      sqlite3_reset(stmt);
      return e;
    }
    sqlite3_reset(stmt);
    return static_cast<int64_t>(sqlite3_changes64(db()));
  }

  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params,
                                 size_t max_rows) override {
    MAMORI_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    std::vector<Row> rows;
    const int ncol = sqlite3_column_count(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (rows.size() >= max_rows) {
        sqlite3_reset(stmt);
        return Error::TooLarge("結果が多すぎます。条件を絞り込んでください。",
                               "query returned more than " + std::to_string(max_rows) + " rows");
      }
      Row row;
      row.reserve(ncol);
      for (int c = 0; c < ncol; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER:
            row.emplace_back(int64_t{sqlite3_column_int64(stmt, c)});
            break;
          case SQLITE_FLOAT:
            row.emplace_back(sqlite3_column_double(stmt, c));
            break;
          case SQLITE_NULL:
            row.emplace_back(std::monostate{});
            break;
          default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            row.emplace_back(std::string(p ? p : "", sqlite3_column_bytes(stmt, c)));
          }
        }
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
      Error e = SqliteError(db(), rc, "query");
      sqlite3_reset(stmt);
      return e;
    }
    sqlite3_reset(stmt);
    return rows;
  }

  int64_t LastInsertId() override { return sqlite3_last_insert_rowid(db()); }

  // Runs SQL text with no parameters (pragmas, BEGIN/COMMIT); not cached.
  Status Raw(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db(), sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : "";
      sqlite3_free(err);
      return SqliteError(db(), rc, std::string(sql) + ": " + msg);
    }
    return {};
  }

 private:
  // Returns a cached prepared statement with `params` bound.
  Result<sqlite3_stmt*> Prepare(std::string_view sql, std::span<const Value> params) {
    auto it = cache_.find(std::string(sql));
    sqlite3_stmt* stmt = nullptr;
    if (it == cache_.end()) {
      const int rc = sqlite3_prepare_v3(db(), sql.data(), static_cast<int>(sql.size()),
                                        SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db(), rc, "prepare " + std::string(sql));
      if (cache_.size() > 512) cache_.clear();
      cache_.emplace(std::string(sql), StmtHandle(stmt));
    } else {
      stmt = it->second.get();
    }
    sqlite3_clear_bindings(stmt);
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return Error::Internal("parameter count mismatch for " + std::string(sql));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      const Value& v = params[i];
      if (const auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, idx, *d);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      } else if (const auto* b = std::get_if<Blob>(&v)) {
        // Bound without a copy: the caller's bytes live until Exec/Query returns, and the
        // bindings are cleared before the statement is used again.
        rc = b->bytes.empty()
                 ? sqlite3_bind_zeroblob(stmt, idx, 0)
                 : sqlite3_bind_blob64(stmt, idx, b->bytes.data(), b->bytes.size(), SQLITE_STATIC);
      } else {
        rc = sqlite3_bind_null(stmt, idx);
      }
      if (rc != SQLITE_OK) return SqliteError(db(), rc, "bind");
    }
    return stmt;
  }

  DbHandle db_;
  std::unordered_map<std::string, StmtHandle> cache_;
};

// Runs one statement on a bare handle, each row's first column into `rows` (may be null).
Status RunOn(sqlite3* db, const char* sql, std::vector<std::string>* rows = nullptr) {
  auto collect = [](void* out, int n, char** values, char**) -> int {
    if (out != nullptr && n > 0) {
      static_cast<std::vector<std::string>*>(out)->push_back(values[0] ? values[0] : "");
    }
    return 0;
  };
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, collect, rows, &err);
  if (rc != SQLITE_OK) {
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    return SqliteError(db, rc, std::string(sql) + ": " + msg);
  }
  return {};
}

// "ok" from PRAGMA integrity_check, or what it found.
Status IntegrityOf(sqlite3* db, const std::string& name) {
  std::vector<std::string> rows;
  if (Status st = RunOn(db, "PRAGMA integrity_check", &rows); !st.ok()) {
    return Error::Invalid("データベースとして読めません: " + name,
                          "not a readable database: " + name);
  }
  if (rows.size() != 1 || rows[0] != "ok") {
    std::string detail;
    for (size_t i = 0; i < rows.size() && i < 5; ++i) detail += rows[i] + "; ";
    return Error::Invalid("データベースが壊れています(integrity_check): " + name,
                          "integrity_check failed on " + name + ": " + detail);
  }
  return {};
}

Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return Error::Unavailable("書き込んだファイルを確定できません: " + path,
                              "fsync " + path + ": " + why);
  }
  ::close(fd);
  return {};
}

Result<std::unique_ptr<SqliteConnection>> OpenConnection(const SqliteOptions& o, bool writer) {
  // SQLite's memory statistics take a process-wide mutex on every allocation; Mamori reads
  // none of them. Must precede SQLite's initialization (else SQLITE_MISUSE, harmless).
  static std::once_flag no_memstatus;
  std::call_once(no_memstatus, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* raw = nullptr;
  const int flags = (writer ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(o.path.c_str(), &raw, flags, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    return Error::Unavailable(
        "データベースを開けません: " + o.path,
        "cannot open database " + o.path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), o.busy_timeout_ms);
  auto conn = std::make_unique<SqliteConnection>(std::move(db));
  if (writer) {
    MAMORI_TRY(conn->Raw("PRAGMA journal_mode=WAL"));
    MAMORI_TRY(
        conn->Raw(o.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  }
  MAMORI_TRY(conn->Raw("PRAGMA foreign_keys=ON"));
  // 64 MiB of page cache per connection (SQLite's default is 2 MiB): a register of 100,000
  // records with its indexes stays in memory while a large import updates every index.
  MAMORI_TRY(conn->Raw("PRAGMA cache_size=-65536"));
  return conn;
}

class SqliteStore final : public Store {
 public:
  Dialect dialect() const override { return Dialect::kSqlite; }

  static Result<std::unique_ptr<Store>> Open(const SqliteOptions& o) {
    auto store = std::unique_ptr<SqliteStore>(new SqliteStore());
    MAMORI_ASSIGN_OR_RETURN(store->writer_, OpenConnection(o, /*writer=*/true));
    // 個人番号 and medical data: the owner only (SQLite gives its -wal and -shm the same mode).
    (void)::chmod(o.path.c_str(), 0600);
    // Make sure the file exists with WAL before read-only connections open it.
    MAMORI_TRY(
        store->writer_->Raw("CREATE TABLE IF NOT EXISTS schema_migrations ("
                            "seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, "
                            "description TEXT NOT NULL, applied_at TEXT NOT NULL)"));
    for (int i = 0; i < std::max(1, o.read_connections); ++i) {
      MAMORI_ASSIGN_OR_RETURN(auto conn, OpenConnection(o, /*writer=*/false));
      store->readers_.push_back(std::move(conn));
      store->free_readers_.push_back(store->readers_.back().get());
    }
    return std::unique_ptr<Store>(std::move(store));
  }

  // A callback may throw (a bug, or a third-party exception that escaped its adapter). The
  // guards below end the transaction and give the connection back on every path, so the
  // exception leaves the store usable; it then propagates to the caller unchanged.
  Status Read(const std::function<Status(Connection&)>& fn) override {
    ReaderLease lease(*this);
    SqliteConnection& conn = lease.connection();
    // BEGIN and COMMIT go through the statement cache: reads are the hot path.
    if (auto begun = conn.Exec("BEGIN", {}); !begun.ok()) return std::move(begun).error();
    // A read transaction has nothing to keep; COMMIT just ends the snapshot, also on a throw.
    TransactionGuard end_snapshot(conn, "COMMIT");
    return fn(conn);
  }

  Status Write(const std::function<Status(Connection&)>& fn, Commit commit) override {
    std::lock_guard lock(writer_mu_);
    MAMORI_TRY(writer_->Raw("BEGIN IMMEDIATE"));
    TransactionGuard rollback(*writer_, "ROLLBACK");  // unless committed below
    Status st = fn(*writer_);
    if (!st.ok() || commit == Commit::kNo) return st;  // the guard rolls back
    MAMORI_TRY(writer_->Raw("COMMIT"));                // if it fails, the guard rolls back
    rollback.Dismiss();
    return {};
  }

  Result<int64_t> Migrate(std::span<const Migration> migrations) override {
    int64_t version = 0;
    Status st = Write(
        [&](Connection& c) -> Status {
          MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT key FROM schema_migrations"));
          std::unordered_map<std::string, bool> applied;
          for (const auto& r : rows) applied[AsText(r[0])] = true;
          MAMORI_ASSIGN_OR_RETURN(auto seq_rows,
                                  c.Query("SELECT coalesce(max(seq), 0) FROM schema_migrations"));
          int64_t seq = AsInt(seq_rows.at(0).at(0));
          for (const Migration& m : migrations) {
            if (applied.count(m.key)) continue;
            for (const std::string& sql : m.statements) {
              MAMORI_TRY(c.Exec(sql));
            }
            ++seq;
            const Value params[] = {seq, m.key, m.description};
            MAMORI_TRY(
                c.Exec("INSERT INTO schema_migrations (seq, key, description, applied_at) "
                       "VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                       params));
          }
          version = seq;
          return {};
        },
        Commit::kYes);
    if (!st.ok()) return std::move(st).error();
    return version;
  }

  Status CheckIntegrity() override {
    Status result;
    Status st = Read([&](Connection& c) -> Status {
      MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("PRAGMA integrity_check"));
      if (rows.size() != 1 || AsText(rows[0][0]) != "ok") {
        std::string detail;
        for (const auto& r : rows) detail += AsText(r[0]) + "; ";
        result = Error::Internal("integrity_check failed: " + detail);
      }
      return {};
    });
    if (!st.ok()) return st;
    return result;
  }

  Status BackupTo(const std::string& path) override {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      return Error::Invalid("バックアップの保存先のフォルダがありません: " + dir.string(),
                            "no such folder " + dir.string());
    }
    if (fs::exists(fs::symlink_status(target, ec))) {
      return Error::Invalid("バックアップの保存先のファイルが既にあります: " + path,
                            "the backup file exists: " + path);
    }
    // A fresh temporary file beside the target (mkstemp: 0600, never an existing name).
    std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    const int tmp_fd = ::mkstemp(tmp.data());
    if (tmp_fd < 0) {
      const std::string why = std::strerror(errno);
      return Error::Unavailable("バックアップのファイルを作れません: " + path,
                                "cannot create a file beside " + path + ": " + why);
    }
    ::close(tmp_fd);
    struct RemoveUnlessKept {
      std::string path;
      bool keep = false;
      ~RemoveUnlessKept() {
        if (!keep) ::unlink(path.c_str());
      }
    } cleanup{tmp};
    {
      sqlite3* raw = nullptr;
      const int rc =
          sqlite3_open_v2(tmp.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
      DbHandle dest(raw);
      if (rc != SQLITE_OK) return SqliteError(raw, rc, "open backup file");
      {
        ReaderLease lease(*this);  // a consistent snapshot; writers go on meanwhile (WAL)
        sqlite3_backup* b =
            sqlite3_backup_init(dest.get(), "main", lease.connection().db(), "main");
        if (b == nullptr) return SqliteError(dest.get(), sqlite3_errcode(dest.get()), "backup");
        const int step = sqlite3_backup_step(b, -1);
        sqlite3_backup_finish(b);
        if (step != SQLITE_DONE) return SqliteError(dest.get(), step, "backup step");
      }
      // One self-contained file, not in WAL mode, checked before it takes its name.
      MAMORI_TRY(RunOn(dest.get(), "PRAGMA journal_mode=DELETE"));
      MAMORI_TRY(IntegrityOf(dest.get(), path));
    }
    MAMORI_TRY(SyncPath(tmp, O_RDONLY));
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
      const std::string why = std::strerror(errno);
      if (errno == EEXIST) {
        return Error::Invalid("バックアップの保存先のファイルが既にあります: " + path,
                              "the backup file exists: " + path);
      }
      return Error::Unavailable("バックアップのファイルに名前を付けられません: " + path,
                                "rename to " + path + ": " + why);
    }
    cleanup.keep = true;
    return SyncPath(dir.string(), O_RDONLY | O_DIRECTORY);
  }

 private:
  SqliteStore() = default;

  // Ends the open transaction of `conn` with `sql` (COMMIT or ROLLBACK) when it goes out of
  // scope, unless dismissed; if the transaction is still open after that, rolls it back, so
  // the connection never goes back to use inside a transaction. Errors are not reported:
  // there is no one left to report them to.
  class TransactionGuard {
   public:
    TransactionGuard(SqliteConnection& conn, std::string_view sql) : conn_(&conn), sql_(sql) {}
    TransactionGuard(const TransactionGuard&) = delete;
    TransactionGuard& operator=(const TransactionGuard&) = delete;
    ~TransactionGuard() {
      if (conn_ == nullptr) return;
      (void)conn_->Exec(sql_, {});  // through the statement cache: reads are the hot path
      if (sqlite3_get_autocommit(conn_->db()) == 0) (void)conn_->Exec("ROLLBACK", {});
    }
    void Dismiss() { conn_ = nullptr; }

   private:
    SqliteConnection* conn_;
    std::string_view sql_;
  };

  // A read connection taken from the pool (waiting for one to be free) and given back when
  // this goes out of scope.
  class ReaderLease {
   public:
    explicit ReaderLease(SqliteStore& store) : store_(store) {
      std::unique_lock lock(store_.readers_mu_);
      store_.readers_cv_.wait(lock, [&] { return !store_.free_readers_.empty(); });
      conn_ = store_.free_readers_.back();
      store_.free_readers_.pop_back();
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    ~ReaderLease() {
      {
        std::lock_guard lock(store_.readers_mu_);
        store_.free_readers_.push_back(conn_);
      }
      store_.readers_cv_.notify_one();
    }
    SqliteConnection& connection() { return *conn_; }

   private:
    SqliteStore& store_;
    SqliteConnection* conn_ = nullptr;
  };

  std::mutex writer_mu_;  // guards writer_ use: one write transaction at a time
  std::unique_ptr<SqliteConnection> writer_;

  std::vector<std::unique_ptr<SqliteConnection>> readers_;  // owned; fixed after Open
  std::mutex readers_mu_;                                   // guards free_readers_
  std::condition_variable readers_cv_;
  std::vector<SqliteConnection*> free_readers_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqlite(const SqliteOptions& options) {
  return SqliteStore::Open(options);
}

namespace {

// The file at `path` opened read-only, never created: kNotFound when it does not exist.
Result<DbHandle> OpenReadOnly(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Error::NotFound("ファイルがありません: " + path, "no such file " + path);
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK)
    return Error::Invalid("ファイルを開けません: " + path, "cannot open " + path);
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

// Copies `from` to the new file `to` (owner-only, synced); kInvalidInput when `to` exists.
Status CopyPrivately(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Error::NotFound("ファイルがありません: " + from, "cannot open " + from);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) {
    const int err = errno;
    ::close(in);
    if (err == EEXIST) {
      return Error::Invalid("保存先のファイルが既にあります: " + to, "the file exists: " + to);
    }
    return Error::Unavailable("ファイルを作れません: " + to,
                              "create " + to + ": " + std::strerror(err));
  }
  std::vector<char> block(size_t{1} << 20);
  bool ok = true;
  for (;;) {
    const ssize_t n = ::read(in, block.data(), block.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    for (ssize_t done = 0; ok && done < n;) {
      const ssize_t w = ::write(out, block.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      ok = w > 0;
      done += w > 0 ? w : 0;
    }
    if (!ok) break;
  }
  ok = ok && ::fsync(out) == 0;
  ::close(in);
  if (::close(out) != 0) ok = false;
  if (!ok) {
    ::unlink(to.c_str());
    return Error::Unavailable("ファイルを複製できません: " + from, "copy " + from + " to " + to);
  }
  return {};
}

std::string FolderOf(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

}  // namespace

Result<DatabaseFileFacts> InspectSqliteFile(const std::string& path) {
  DatabaseFileFacts facts;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Error::Invalid("ファイルがありません: " + path, "no such file " + path);
  facts.bytes = static_cast<int64_t>(size);
  auto db = OpenReadOnly(path);
  if (!db.ok()) return Error::Invalid(db.error().message, db.error().message_en);
  MAMORI_TRY(IntegrityOf(db->get(), path));
  if (Status st =
          RunOn(db->get(), "SELECT key FROM schema_migrations ORDER BY seq", &facts.migrations);
      !st.ok() || facts.migrations.empty()) {
    return Error::Invalid("Mamori のデータベースではありません: " + path,
                          "not a Mamori database: " + path);
  }
  return facts;
}

Result<std::vector<Row>> QuerySqliteFile(const std::string& path, std::string_view sql,
                                         std::span<const Value> params) {
  MAMORI_ASSIGN_OR_RETURN(DbHandle db, OpenReadOnly(path));
  SqliteConnection conn(std::move(db));
  return conn.Query(sql, params, 1'000'000);
}

Status CopySqliteFiles(const std::string& database_path, const std::string& destination) {
  MAMORI_TRY(CopyPrivately(database_path, destination));
  std::error_code ec;
  if (std::filesystem::exists(database_path + "-wal", ec)) {
    if (Status st = CopyPrivately(database_path + "-wal", destination + "-wal"); !st.ok()) {
      ::unlink(destination.c_str());
      return st;
    }
  }
  return SyncPath(FolderOf(destination), O_RDONLY | O_DIRECTORY);
}

Status ReplaceSqliteFile(const std::string& database_path, const std::string& replacement) {
  // The old log must go first: left beside the new file, SQLite would replay it into it.
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string sidecar = database_path + suffix;
    if (::unlink(sidecar.c_str()) != 0 && errno != ENOENT) {
      return Error::Unavailable("ファイルを消せません: " + sidecar,
                                "unlink " + sidecar + ": " + std::strerror(errno));
    }
  }
  // The replacement takes the owner the database had (a restore run as root must not leave a
  // file the service's user cannot open) and is the owner's only.
  struct stat st {};
  if (::stat(database_path.c_str(), &st) == 0 &&
      ::chown(replacement.c_str(), st.st_uid, st.st_gid) != 0 && errno != EPERM) {
    return Error::Unavailable("ファイルの所有者を変えられません: " + replacement,
                              "chown " + replacement + ": " + std::strerror(errno));
  }
  (void)::chmod(replacement.c_str(), 0600);
  if (::rename(replacement.c_str(), database_path.c_str()) != 0) {
    return Error::Unavailable("データベースを置き換えられません: " + database_path,
                              "rename to " + database_path + ": " + std::strerror(errno));
  }
  return SyncPath(FolderOf(database_path), O_RDONLY | O_DIRECTORY);
}

Result<DatabaseLock> DatabaseLock::Acquire(const std::string& database_path, Mode mode) {
  const std::string path = database_path + ".lock";
  std::error_code ec;
  std::filesystem::create_directories(FolderOf(database_path), ec);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    return Error::Unavailable("ロックファイルを開けません: " + path, "open " + path + ": " + why);
  }
  if (::flock(fd, (mode == Mode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return Error::Unavailable("ロックできません: " + path,
                                "flock " + path + ": " + std::strerror(err));
    }
    return mode == Mode::kExclusive
               ? Error::Unavailable(
                     "データベースは使用中です(mamori serve が動いています)。"
                     "サーバーを止めてから実行してください: " +
                         database_path,
                     "the database is in use by a running server: " + database_path)
               : Error::Unavailable(
                     "データベースは復元の最中です。終わってから起動してください: " + database_path,
                     "the database is being restored: " + database_path);
  }
  return DatabaseLock(fd);
}

DatabaseLock::DatabaseLock(DatabaseLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DatabaseLock& DatabaseLock::operator=(DatabaseLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DatabaseLock::~DatabaseLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace mamori::store
