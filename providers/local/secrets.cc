#include "providers/local/secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <system_error>
#include <utility>

#include "engine/shell_quote.h"

namespace replplan {
namespace {

// "does not exist", "cannot be read: permission denied": what an errno means for a secret file.
std::string FileProblem(int error) {
  if (error == ENOENT || error == ENOTDIR) return "does not exist";
  std::string reason = std::error_code(error, std::generic_category()).message();  // strerror, thread-safe
  if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  return "cannot be read: " + reason;
}

Result<Secret> ResolveFile(const std::string& path) {
  const std::string what = "file " + path;
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return Status::NotFound(what + " " + FileProblem(errno));
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(what + " is a directory");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Status::NotFound(what + " " + FileProblem(errno));
  // The first line only: reading stops at its end.
  std::string text;
  size_t first_line_bytes = 0;  // with its line break
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return Status::NotFound(what + " " + FileProblem(error));
    }
    if (n == 0) {
      first_line_bytes = text.size();
      break;
    }
    text.append(buffer, static_cast<size_t>(n));
    if (const size_t newline = text.find('\n'); newline != std::string::npos) {
      first_line_bytes = newline + 1;
      text.resize(newline);
      break;
    }
  }
  close(fd);
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) {
    // Nothing but a line break is an empty file to anyone who looks at it.
    const bool more = S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) > first_line_bytes;
    return Status::InvalidArgument(more ? what + " has an empty first line (the secret is its first line)"
                                        : what + " is empty");
  }
  return Secret(std::move(text));
}

}  // namespace

Result<Secret> ResolveSecret(const SecretRef& ref) {
  switch (ref.kind) {
    case SecretRef::Kind::kNone:
      return Secret();
    case SecretRef::Kind::kEnv: {
      const char* value = std::getenv(ref.name.c_str());
      if (value == nullptr) {
        return Status::NotFound("environment variable " + ref.name + " is not set");
      }
      if (*value == '\0') return Status::InvalidArgument("environment variable " + ref.name + " is empty");
      return Secret(value);
    }
    case SecretRef::Kind::kFile:
      return ResolveFile(ref.name);
  }
  return Status::Internal("unknown secret kind");
}

std::string LooseSecretFileWarning(const SecretRef& ref) {
  if (ref.kind != SecretRef::Kind::kFile) return "";
  struct stat st{};
  if (stat(ref.name.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return "permissions " + std::string(mode) + " for secret file " + ref.name +
         " are too open: group or others can access it; it is used, but make it private: chmod 600 " +
         ShellQuote(ref.name);
}

std::vector<SecretUse> SecretUses(const Topology& topology) {
  std::vector<SecretUse> uses;
  const ReplicationSpec& repl = topology.replication;
  if (!repl.password.empty()) uses.push_back({"replication.password", repl.password.where, repl.password});

  // Servers that inherit [defaults]' password all point at its one location: one use, naming them.
  std::vector<std::string> inheriting;
  const SecretRef* default_ref = nullptr;
  for (const ServerSpec& server : topology.servers) {
    const SecretRef& ref = server.mysql.password;
    if (ref.empty()) continue;
    if (server.key_where.count("mysql.password") != 0) {
      uses.push_back({"server '" + server.name + "' mysql.password", ref.where, ref});
    } else {
      default_ref = &ref;
      inheriting.push_back(server.name);
    }
  }
  if (default_ref != nullptr) {
    std::string names;
    for (const std::string& name : inheriting) names += (names.empty() ? "" : ", ") + name;
    uses.push_back({"defaults.mysql.password (server" + std::string(inheriting.size() == 1 ? " " : "s ") + names + ")",
                    default_ref->where, *default_ref});
  }

  for (const UserSpec& user : topology.users) {
    if (user.password.empty()) continue;
    uses.push_back({"user '" + user.name + "'@'" + user.host + "' password", user.password.where, user.password});
  }
  std::stable_sort(uses.begin(), uses.end(), [](const SecretUse& a, const SecretUse& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  });
  return uses;
}

Status SecretCheck::ToStatus() const {
  if (problems.empty()) return Status::OK();
  std::string message = std::to_string(problems.size()) + (problems.size() == 1 ? " secret" : " secrets") +
                        " the topology needs cannot be resolved; no host was contacted:";
  for (const std::string& problem : problems) message += "\n  " + problem;
  return Status::FailedPrecondition(message);
}

SecretCheck CheckTopologySecrets(const Topology& topology) {
  SecretCheck check;
  // Each source once: several servers or accounts may share a variable or a file.
  std::map<std::pair<SecretRef::Kind, std::string>, Status> resolved;
  for (const SecretUse& use : SecretUses(topology)) {
    auto key = std::pair(use.ref.kind, use.ref.name);
    auto it = resolved.find(key);
    if (it == resolved.end()) {
      auto secret = ResolveSecret(use.ref);  // the value goes out of scope here, unused
      it = resolved.emplace(key, secret.ok() ? Status::OK() : secret.status()).first;
      if (secret.ok()) {
        if (std::string warning = LooseSecretFileWarning(use.ref); !warning.empty()) {
          check.warnings.push_back(std::move(warning));
        }
      }
    }
    if (it->second.ok()) continue;
    const std::string where = use.where.ToString();
    check.problems.push_back((where.empty() ? "" : where + ": ") + use.key + ": " + it->second.message());
  }
  return check;
}

}  // namespace replplan
