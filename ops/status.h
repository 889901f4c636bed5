// `replplan status`: the cluster as it is now, on one screen, for an operator paged at night and for
// a monitor (issue 14). Over a World (ops/world.h): the live state through its LiveStateSource, the
// time from its Clock; the conditions from engine/conditions.h. Nothing is changed on any server.
//
// Health and exit code: healthy (no condition) 0, degraded (only degraded conditions) 1, broken
// (any broken condition) 2; a file that cannot be read or validated, or a secret that cannot be
// resolved, is "unknown" (3: nothing could be checked).
//
// `since` of a condition is not reported: MariaDB 10.11's SHOW SLAVE STATUS carries no time for
// Last_IO_Error / Last_SQL_Error, and replplan keeps no history between runs, so when a condition
// began is not knowable from one read (docs/conditions.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "engine/conditions.h"
#include "engine/live_state.h"
#include "engine/status.h"
#include "ops/loaded_topology.h"
#include "ops/world.h"

namespace replplan::ops {

enum class Health { kHealthy, kDegraded, kBroken };
const char* ToString(Health h);  // "healthy" / "degraded" / "broken"

inline constexpr int kStatusUnknownExit = 3;

// One server's line.
struct ServerLine {
  std::string name;
  std::string role;  // "primary" or "replica", as the file says
  bool sql_ok = false;
  bool ssh_ok = false;
  std::string io_running;   // Slave_IO_Running of the default channel; "" for none
  std::string sql_running;  // "Yes" / "No"; "" for none
  std::optional<int64_t> seconds_behind;
  std::string gtid_position;  // gtid_current_pos (gtid_binlog_pos when that is empty)
  std::optional<bool> read_only;
  // The primary's rpl_semi_sync_master_enabled, a replica's rpl_semi_sync_slave_enabled.
  std::optional<bool> semi_sync;
  std::vector<std::string> conditions;  // types, in Diagnose's order
};

// Where one [[app]] on one host points: its database.yml's host, and the server that is.
struct AppLine {
  std::string app;
  std::string host;       // the server it runs on
  std::string points_at;  // database.yml's host[:port] as written; "" when not read
  std::string server;     // the [[server]] with that address (or name); "" when none
  std::string error;      // why the file could not be read or understood; "" when it was
};

struct StatusReport {
  std::string cluster;
  std::string primary;
  std::string read_at;  // UTC, UtcSeconds
  std::chrono::milliseconds read_time{0};
  std::vector<ServerLine> servers;  // file order
  std::vector<AppLine> apps;        // file order, each app's hosts in order
  std::vector<Condition> conditions;
  Health health = Health::kHealthy;
};

// The report of `live`, read at `read_at` in `read_time` (pure).
StatusReport BuildStatusReport(const Topology& topology, const LiveState& live, const std::string& read_at,
                               std::chrono::milliseconds read_time);

// Reads the live state of `loaded`'s servers once and reports it.
StatusReport ReadStatus(const World& world, const LoadedTopology& loaded, int parallelism);

// 0 healthy, 1 degraded, 2 broken.
int StatusExitCode(const StatusReport& report);

// One screen: a header with the health, a line per server and per app, then each condition with
// its cause and evidence. Server texts pass TerminalSafe.
std::string RenderStatusText(const StatusReport& report);

// One JSON object (no newline): cluster, primary, health, read_at, read_ms, servers, apps,
// conditions (type, status = severity, reason, message = cause, host, error_number, evidence).
std::string RenderStatusJson(const StatusReport& report);

}  // namespace replplan::ops
