// How to reach a server, from its topology entry: the one place that turns a ServerSpec into SQL
// and SSH connection options, so every provider connects the same way.
#pragma once

#include "engine/secret.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {

SshOptions SshOptionsFor(const ServerSpec& server);

// Resolves the admin password (env or file); the error names the source, never a value.
Result<MysqlOptions> MysqlOptionsFor(const ServerSpec& server);

}  // namespace replplan
