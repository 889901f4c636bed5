// Resolves a SecretRef on the machine running replplan: an environment variable or a file (its
// first line, trailing newline and carriage return dropped). Errors name the source, never the value.
//
// CheckTopologySecrets is the step every command that reaches servers (plan, apply, switchover,
// failover, watch) takes right after the file is read and before any host is contacted: every
// secret the topology references is resolved, and every one that cannot be is reported at once,
// so a missing secret stops the command before anything changes anywhere.
#pragma once

#include <string>
#include <vector>

#include "engine/secret.h"
#include "engine/source_location.h"
#include "engine/status.h"
#include "engine/topology.h"

namespace replplan {

// The secret's value, or an error naming its source and what is wrong with it:
//   "environment variable ADMIN_PW is not set" / "... is empty"
//   "file /x/pw does not exist" / "... is a directory" / "... is empty"
//   "file /x/pw cannot be read: permission denied"
// An empty secret (an empty variable, or a file whose first line is empty) is an error: no account
// replplan manages has an empty password, and an empty value is how a variable or file that was
// never filled in looks.
Result<Secret> ResolveSecret(const SecretRef& ref);

// For a `file` secret that group or others may access (mode & 077, as OpenSSH checks a private
// key): the warning, naming the file, its mode and the fix. "" otherwise (an env secret, a file
// that is private or cannot be examined).
std::string LooseSecretFileWarning(const SecretRef& ref);

// One place the topology references a secret: "replication.password", "server 'db2'
// mysql.password", "defaults.mysql.password (servers db1, db3)", "user 'app'@'%' password". Servers
// that inherit [defaults]' password share its use (one location, one line).
struct SecretUse {
  std::string key;
  SourceLocation where;
  SecretRef ref;
};
// Every secret use in a topology, in file order of the sections: replication, servers (and
// defaults), users. Pure.
std::vector<SecretUse> SecretUses(const Topology& topology);

struct SecretCheck {
  std::vector<std::string> problems;  // "FILE:LINE:COL: KEY: what is wrong", one per use that fails
  std::vector<std::string> warnings;  // one per secret file that is too open
  bool ok() const { return problems.empty(); }
  // FailedPrecondition listing every problem, one per line; OK when there is none.
  Status ToStatus() const;
};
// Resolves every secret `topology` references, each source once. Never holds on to a value.
SecretCheck CheckTopologySecrets(const Topology& topology);

}  // namespace replplan
