// Secrets: where a password comes from (SecretRef, part of the topology) and the resolved value
// (Secret). A Secret has no way to be printed; code that needs the bytes calls reveal(), and
// every user-facing rendering shows "(sensitive)".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/source_location.h"

namespace replplan {

inline constexpr std::string_view kSensitive = "(sensitive)";

// `password = { env = "NAME" }` or `password = { file = "/path" }`. A literal string in the
// topology file is rejected by validation: secrets never live in git.
struct SecretRef {
  enum class Kind { kNone, kEnv, kFile };
  Kind kind = Kind::kNone;
  std::string name;  // environment variable name, or file path
  SourceLocation where;

  bool empty() const { return kind == Kind::kNone; }
  // "env REPL_PASSWORD" / "file /etc/replplan/repl.pw": safe to print, names the source only.
  std::string Describe() const;
};

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

// Replaces every occurrence of each secret in `text` with "(sensitive)", also in the escaped form a
// string literal gives it (QuoteString). Used on error text that came from a server or library
// before it reaches a Status, a log or the terminal.
std::string RedactSecrets(std::string text, const std::vector<const Secret*>& secrets);

}  // namespace replplan
