// Storage interface. Registers and handlers speak only to these classes, never to a concrete
// database, so that a PostgreSQL backend can be added beside the SQLite one.
//
// SQL is written with `?` placeholders and bound parameters only; a backend that needs
// another placeholder style rewrites them. Values are NULL, 64-bit integers, doubles, UTF-8
// text or bytes (`Blob`, bound only: a BLOB column is read back as a std::string holding its
// bytes). Statement text never contains outside input: only identifiers from register
// definitions (validated to [a-z0-9_]) and placeholders.
//
// Thread-safety: Store is thread-safe. A Connection is used by one thread at a time, only
// inside the callback it was lent to.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace mamori::store {

// Arbitrary bytes (an attachment's content), bound as a BLOB rather than as text.
struct Blob {
  std::string_view bytes;  // not owned: must outlive the statement's execution
};

using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;
using Row = std::vector<Value>;

inline bool IsNull(const Value& v) { return std::holds_alternative<std::monostate>(v); }

// "?, ?, ?": `n` placeholders for an IN list.
inline std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}
// Accessors that tolerate NULL: 0 / "" for NULL or another type.
int64_t AsInt(const Value& v);
std::string AsText(const Value& v);

class Connection {
 public:
  virtual ~Connection() = default;
  // Runs one statement; returns the number of rows changed.
  virtual Result<int64_t> Exec(std::string_view sql, std::span<const Value> params = {}) = 0;
  // Runs a query and returns all rows. `max_rows` guards memory (kTooLarge beyond it).
  virtual Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params = {},
                                         size_t max_rows = 1'000'000) = 0;
  virtual int64_t LastInsertId() = 0;
};

// A numbered schema change, identified by a stable key. Applied once, in order.
struct Migration {
  std::string key;          // e.g. "core/001-record-history", "register/org_units/create"
  std::string description;  // for the migrations table and the log
  std::vector<std::string> statements;
};

enum class Dialect { kSqlite, kPostgres };

class Store {
 public:
  virtual ~Store() = default;
  virtual Dialect dialect() const = 0;

  // Runs `fn` in a read transaction (a consistent snapshot).
  virtual Status Read(const std::function<Status(Connection&)>& fn) = 0;
  enum class Commit { kYes, kNo };
  // Runs `fn` in a write transaction: committed when `fn` returns ok (and `commit` is kYes),
  // rolled back otherwise (kNo serves dry runs: every check runs, nothing stays). Writers are
  // serialized. The commit is durable when Write returns ok.
  virtual Status Write(const std::function<Status(Connection&)>& fn,
                       Commit commit = Commit::kYes) = 0;

  // Applies the migrations whose key is not yet recorded, all in one transaction, and records
  // each with its sequence number. Returns the schema version (the highest sequence number).
  virtual Result<int64_t> Migrate(std::span<const Migration> migrations) = 0;

  // PRAGMA integrity_check (or the backend's equivalent); ok when the database is sound.
  virtual Status CheckIntegrity() = 0;

  // Copies the whole database, as it is at one moment, to a new file `path` that only its
  // owner may read: written under a temporary name beside it, checked (integrity_check),
  // synced, then renamed into place, so `path` is either the whole copy or absent. Reads and
  // writes go on meanwhile. kInvalidInput when `path` exists or its folder does not;
  // kUnavailable on an I/O error.
  virtual Status BackupTo(const std::string& path) = 0;
};

// What a database file holds, read without changing it.
struct DatabaseFileFacts {
  std::vector<std::string> migrations;  // the keys of the migrations applied, in order
  int64_t bytes = 0;
};
// Opens the SQLite file at `path` read-only: kInvalidInput (naming the file) unless it is a
// sound SQLite database (integrity_check) with Mamori's migrations table.
Result<DatabaseFileFacts> InspectSqliteFile(const std::string& path);
// Runs one query on the SQLite file at `path`, opened read-only (never changed, never created:
// kNotFound when it does not exist).
Result<std::vector<Row>> QuerySqliteFile(const std::string& path, std::string_view sql,
                                         std::span<const Value> params = {});

// The files of the database at `database_path` as they are (the file and its -wal, if any),
// copied to `destination` (and `destination`-wal), owner-only, synced; not checked, so that a
// damaged database can be kept too. Nothing may write the database meanwhile (hold the
// exclusive DatabaseLock). kInvalidInput when `destination` exists.
Status CopySqliteFiles(const std::string& database_path, const std::string& destination);
// Puts the SQLite file `replacement` in place of the database at `database_path`: its -wal and
// -shm are removed, then `replacement` is renamed over the file and the folder synced. No one
// may have the database open (hold the exclusive DatabaseLock; close every Store on it), and
// `replacement` must be closed and in the same folder.
Status ReplaceSqliteFile(const std::string& database_path, const std::string& replacement);

// An advisory lock (flock) on "<database>.lock", held while the object lives. `mamori serve`
// and every other command that opens the database hold it shared (several may share one
// database); `mamori admin restore` needs it exclusive, so a database is never replaced under
// a running server or command. kUnavailable when the lock is held the other way (never waits).
// Creates the database's folder when missing; the lock file is readable by all (0644), so a
// lock file made by root does not keep the service's user out.
class DatabaseLock {
 public:
  enum class Mode { kShared, kExclusive };
  static Result<DatabaseLock> Acquire(const std::string& database_path, Mode mode);
  DatabaseLock(DatabaseLock&& other) noexcept;
  DatabaseLock& operator=(DatabaseLock&& other) noexcept;
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;
  ~DatabaseLock();

 private:
  explicit DatabaseLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct SqliteOptions {
  std::string path;              // database file; parent folder must exist
  int read_connections = 4;      // concurrent readers (WAL lets them run beside the writer)
  int busy_timeout_ms = 5000;    // how long to wait for a lock before kUnavailable
  bool synchronous_full = true;  // fsync on every commit (survives power loss, not only crashes)
};

// Opens (creating if needed) a SQLite database in WAL mode with foreign keys on.
Result<std::unique_ptr<Store>> OpenSqlite(const SqliteOptions& options);

}  // namespace mamori::store
