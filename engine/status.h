// Status and Result<T>: errors as values (leveldb style). Exceptions from toml++, nlohmann-json or
// Boost are caught at the edge of each module and become a Status carrying context.
//
// Invariant: a Status message never contains a secret. Code that builds one from a server's or a
// library's error text must pass it through RedactSecrets (engine/secret.h) first.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace replplan {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk, kInvalidArgument, kNotFound, kUnavailable, kAuthFailed, kFailedPrecondition,
                    kInternal };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status AuthFailed(std::string msg) { return Status(Code::kAuthFailed, std::move(msg)); }
  static Status FailedPrecondition(std::string msg) {
    return Status(Code::kFailedPrecondition, std::move(msg));
  }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The MySQL/MariaDB error number (mysql_errno) of a failure that a server or the client library
  // reported, or 0. Set where the error is read (providers/mysql/mysql_connection.cc) and kept by
  // WithContext, WithMessage and WithNote: code compares this number, never the message text.
  int sql_errno() const { return sql_errno_; }
  // The same failure carrying `number` as its sql_errno (an OK Status stays OK, without one).
  Status WithSqlErrno(int number) const {
    if (ok()) return *this;
    Status copy = *this;
    copy.sql_errno_ = number;
    return copy;
  }

  // Prefixes the message with where it happened: "uranus: " + "connect: refused".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_, sql_errno_);
  }
  // The same code with another message (redacted, or with a remedy): the classification stays.
  Status WithMessage(std::string message) const {
    if (ok()) return *this;
    return Status(code_, std::move(message), sql_errno_);
  }

  // Appends what the failure left behind: "...: refused" + "; uranus was reset ...".
  Status WithNote(const std::string& note) const { return WithMessage(message_ + "; " + note); }

 private:
  Status(Code code, std::string msg, int sql_errno = 0)
      : code_(code), message_(std::move(msg)), sql_errno_(sql_errno) {}
  Code code_ = Code::kOk;
  std::string message_;
  int sql_errno_ = 0;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace replplan
