// The real Provider: every server read through the seam (providers/server_session.h): SQL over
// libmariadb, config files, included directories and the process probe over libssh2.
// MakeLiveProvider() in providers/provider.h returns one of these.
//
// ReadState does the SQL read and the SSH read of a host at the same time, so a host costs
// max(sql, ssh) rather than the sum; each side records its own failure and never stops the other.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/secret.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "providers/provider.h"
#include "providers/server_session.h"

namespace replplan {

class SessionPool;

class LiveProvider : public Provider {
 public:
  // Over the real session (LiveSessionFactory), borrowing from `pool` when given.
  explicit LiveProvider(SessionPool* pool = nullptr, ExtraProbes probes = ExtraProbes::kWhenNeeded);
  // Over `sessions` (a unit test's fake servers, providers/testing/fake_server.h).
  LiveProvider(SessionFactory& sessions, ExtraProbes probes) : sessions_(sessions), probes_(probes) {}
  RawServerState ReadState(const Topology& topology, const ServerSpec& server) override;
  RawServerState ReadFiles(const Topology& topology, const ServerSpec& server) override;

 private:
  std::unique_ptr<SessionFactory> owned_;  // the real one's
  SessionFactory& sessions_;
  ExtraProbes probes_;
};

// The variables ReadState asks for (SHOW GLOBAL VARIABLES WHERE Variable_name IN ...).
const std::vector<std::string>& LiveVariableNames();

// The SQL half of ReadState over a session: variables, replica channels, databases, users, and SHOW
// GRANTS for the accounts the topology declares that exist. Fills `raw` (sql_ok, rows; on the first
// failure sql_error and sql_errno, "reading databases: query failed on ...").
void ReadSqlState(const Topology& topology, ServerSession& session, RawServerState& raw);

}  // namespace replplan
