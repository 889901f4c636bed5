// known_hosts as OpenSSH reads it, for the host key check of providers/ssh/ssh_session.h. Pure:
// text in, verdicts out, so every rule is unit-tested without a server.
//
// libssh2's own known_hosts code differs from OpenSSH where it matters: it does not understand
// `@revoked` lines (a revoked key also listed normally was accepted), and a plain `host` entry
// matched any port. Here, as in OpenSSH (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"):
// - A host on port 22 is looked up as `host`, on any other port as `[host]:port`, so a plain
//   `host` entry is for port 22 only.
// - A hostnames field is a comma-separated list of patterns (`*` and `?` wildcards, `!` negates:
//   a negated match excludes the host whatever else matches), compared without regard to case;
//   or one hashed name, `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
// - A key on an `@revoked` line is refused for every host, even where it is also listed normally
//   (stricter than OpenSSH, which applies the line's host patterns: a revoked key has no host it
//   may serve).
// - `@cert-authority` lines name a CA for host certificates, which replplan does not use: they
//   verify nothing here.
// - Blank lines and `#` comments are skipped; any other line that cannot be read is an error
//   naming its line, rather than a key silently not counted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace replplan {

struct KnownHostsEntry {
  enum class Marker { kNone, kRevoked, kCertAuthority };
  Marker marker = Marker::kNone;
  std::string hosts;     // the hostnames field as written
  std::string key_type;  // "ssh-ed25519", "ecdsa-sha2-nistp256", ...: the key blob's own
  std::string key;       // the decoded public key blob
  int line = 0;
};

// InvalidArgument "FILE:LINE: ..." for a line that is not blank, a comment or an entry.
Result<std::vector<KnownHostsEntry>> ParseKnownHosts(std::string_view text, const std::string& file);

// How OpenSSH names `host` on `port` in known_hosts: "host" on 22, "[host]:port" elsewhere.
std::string KnownHostsName(const std::string& host, int port);

// Whether a hostnames field (patterns or one hashed name) matches `name` (KnownHostsName's).
bool HostsFieldMatches(const std::string& hosts, const std::string& name);

// The key type an SSH public key blob names (its first string), "" when it is not a blob.
std::string KeyBlobType(std::string_view blob);

struct HostKeyVerdict {
  enum class Kind { kMatch, kMismatch, kNotFound, kRevoked };
  Kind kind = Kind::kNotFound;
  int line = 0;  // the deciding line: the matching, the revoking or the first mismatching entry
};

// The verdict on `key` (a public key blob) offered by `name`.
HostKeyVerdict CheckKnownHostKey(const std::vector<KnownHostsEntry>& entries, const std::string& name,
                                 std::string_view key);

// The key types known_hosts holds for `name` (not revoked, not CA), in file order, no repeats.
std::vector<std::string> KnownKeyTypes(const std::vector<KnownHostsEntry>& entries, const std::string& name);

}  // namespace replplan
