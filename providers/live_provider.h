// The real Provider: SQL over libmariadb (providers/mysql), config over libssh2 (providers/ssh).
// MakeLiveProvider() in providers/provider.h returns one of these.
//
// ReadState does the SQL read and the SSH read of a host at the same time, so a host costs
// max(sql, ssh) rather than the sum; each side records its own failure and never stops the other.
#pragma once

#include <string>
#include <vector>

#include "engine/secret.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "providers/provider.h"

namespace replplan {

class MysqlConnection;
class SessionPool;

class LiveProvider : public Provider {
 public:
  explicit LiveProvider(SessionPool* pool = nullptr, ExtraProbes probes = ExtraProbes::kWhenNeeded)
      : pool_(pool), probes_(probes) {}
  RawServerState ReadState(const Topology& topology, const ServerSpec& server) override;

 private:
  SessionPool* pool_;  // may be null: connect afresh
  ExtraProbes probes_;
};

// The variables ReadState asks for (SHOW GLOBAL VARIABLES WHERE Variable_name IN ...).
const std::vector<std::string>& LiveVariableNames();

// The SQL half of ReadState on an open connection: variables, replica channels, databases, users,
// and SHOW GRANTS for the accounts the topology declares that exist. Fills `raw` (sql_ok, rows).
void ReadSqlState(const Topology& topology, MysqlConnection& connection, RawServerState& raw);

}  // namespace replplan
