// The one interface between the engine and the world. Everything replplan learns from or does to a
// server goes through a Provider; the real one speaks SQL (libmysqlclient) and SSH (libssh2), test
// fakes record what they were asked.
#pragma once

#include <memory>

#include "engine/live_state.h"
#include "engine/topology.h"

namespace replplan {

class Provider {
 public:
  virtual ~Provider() = default;

  // Reads one server's raw live state: SQL (variables, replica status, databases, users, grants)
  // and SSH (config_file). Never throws and never gives up on one side because the other failed:
  // an unreachable SQL port still leaves the SSH read to try, and each failure is recorded with
  // its reason (no secrets) in the result.
  virtual RawServerState ReadState(const Topology& topology, const ServerSpec& server) = 0;

  // The SSH side of ReadState alone (config and app files), for a server whose SQL side is known
  // silent: a failover that rewrites an app's file there must not wait out its SQL timeout to learn
  // that again. sql_ok stays false with no sql_error: the caller says why it was not read.
  virtual RawServerState ReadFiles(const Topology& topology, const ServerSpec& server) = 0;
};

class SessionPool;

// The real provider: libmysqlclient + libssh2, secrets resolved from env/file when needed. With a
// pool (providers/session_pool.h), connections are borrowed from it and given back.
// Whether a read looks further over SSH where SQL alone cannot tell (is mariadbd running and where
// does it listen, when SQL cannot connect; is a stopped channel's relay log still there): one more
// SSH command on such a host only. A promotion's read passes kNever: diagnosing the dead primary
// would cost it time and change nothing it does.
enum class ExtraProbes { kWhenNeeded, kNever };

std::unique_ptr<Provider> MakeLiveProvider(SessionPool* pool = nullptr,
                                           ExtraProbes probes = ExtraProbes::kWhenNeeded);

}  // namespace replplan
