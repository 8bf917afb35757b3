// Result<T>: the one error vocabulary of Mamori.
//
// Expected failures (bad input, a missing record, a stale update) are values of type Error,
// carried in a [[nodiscard]] Result<T>. Bugs crash. Each ErrorCode maps to exactly one HTTP
// status (api/http.cc) and one process exit code (cli). Messages are Japanese first
// (`message`), with an English rendering (`message_en`). FieldError names the offending field
// and, for imports, the row (1-based, counting the header row as row 1) and column.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mamori {

enum class ErrorCode {
  kInvalidInput,      // the caller sent something malformed or breaking a rule
  kNotFound,          // the thing named does not exist
  kUnauthenticated,   // no valid session (log in first)
  kPermissionDenied,  // the actor may not do this
  kConflict,          // stale version, duplicate unique value, state does not allow it
  kTooLarge,          // the input exceeds a documented size or count limit
  kUnavailable,       // a dependency (database busy, disk) failed; retrying may help
  kInternal,          // a bug or an unexpected state; logged with detail
};

const char* ErrorCodeName(ErrorCode code);

struct FieldError {
  std::string field;       // machine name of the field ("" for the whole record)
  std::string label;       // the field's Japanese label, for people
  std::string message;     // Japanese
  std::string message_en;  // English
  int row = 0;             // import row (1-based incl. header); 0 when not an import
  std::string column;      // import column header as written in the file
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;     // Japanese, for users
  std::string message_en;  // English
  std::vector<FieldError> fields;

  static Error Invalid(std::string ja, std::string en, std::vector<FieldError> f = {}) {
    return {ErrorCode::kInvalidInput, std::move(ja), std::move(en), std::move(f)};
  }
  static Error NotFound(std::string ja, std::string en) {
    return {ErrorCode::kNotFound, std::move(ja), std::move(en), {}};
  }
  static Error Conflict(std::string ja, std::string en, std::vector<FieldError> f = {}) {
    return {ErrorCode::kConflict, std::move(ja), std::move(en), std::move(f)};
  }
  static Error Unauthenticated(std::string ja, std::string en) {
    return {ErrorCode::kUnauthenticated, std::move(ja), std::move(en), {}};
  }
  static Error Denied(std::string ja, std::string en) {
    return {ErrorCode::kPermissionDenied, std::move(ja), std::move(en), {}};
  }
  static Error TooLarge(std::string ja, std::string en) {
    return {ErrorCode::kTooLarge, std::move(ja), std::move(en), {}};
  }
  static Error Unavailable(std::string ja, std::string en) {
    return {ErrorCode::kUnavailable, std::move(ja), std::move(en), {}};
  }
  static Error Internal(std::string en) {
    return {ErrorCode::kInternal, "内部エラーが発生しました。", std::move(en), {}};
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Preconditions: ok() for value(), !ok() for error(). Violations abort (a bug).
  T& value() & {
    Check(true);
    return std::get<0>(v_);
  }
  const T& value() const& {
    Check(true);
    return std::get<0>(v_);
  }
  T&& value() && {
    Check(true);
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const& {
    Check(false);
    return std::get<1>(v_);
  }
  Error&& error() && {
    Check(false);
    return std::get<1>(std::move(v_));
  }

 private:
  void Check(bool want_ok) const {
    if (ok() != want_ok) std::abort();
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    if (ok_) std::abort();
    return err_;
  }
  Error&& error() && {
    if (ok_) std::abort();
    return std::move(err_);
  }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace mamori

// MAMORI_TRY(expr): evaluate a Result-returning expression; return its error on failure.
#define MAMORI_TRY(expr)                                              \
  do {                                                                \
    auto mamori_try_r_ = (expr);                                      \
    if (!mamori_try_r_.ok()) return std::move(mamori_try_r_).error(); \
  } while (0)

#define MAMORI_CONCAT_INNER_(a, b) a##b
#define MAMORI_CONCAT_(a, b) MAMORI_CONCAT_INNER_(a, b)
// MAMORI_ASSIGN_OR_RETURN(lhs, expr): `lhs = value` or return the error.
#define MAMORI_ASSIGN_OR_RETURN(lhs, expr) \
  MAMORI_ASSIGN_OR_RETURN_IMPL_(MAMORI_CONCAT_(mamori_r_, __LINE__), lhs, expr)
#define MAMORI_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).error();       \
  lhs = std::move(tmp).value()
