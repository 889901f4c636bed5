// `replplan status`: the cluster as it is now, on one screen, for an operator paged at night and for
// a monitor (issue 14). Over a World (ops/world.h): the live state through its LiveStateSource, the
// time from its Clock; the conditions from engine/conditions.h. Nothing is changed on any server.
//
// Health and exit code: healthy (no condition) 0, degraded (only degraded conditions) 1, broken
// (any broken condition) 2; a file that cannot be read or validated, or a secret that cannot be
// resolved, is "unknown" (3: nothing could be checked).
//
// When a condition began is not knowable from one read: MariaDB 10.11's SHOW SLAVE STATUS carries no
// time for Last_IO_Error / Last_SQL_Error, Seconds_Behind_Master is the age of the event applied (not
// how long the lag has exceeded the bound), and replplan keeps no history between runs. So a one-shot
// status reports `since` null; `status --watch` keeps, per condition (type and host), the first read
// of this process that saw it (`since`) and the read before it that did not (`began_after`): the
// condition began in between, or, with no such read, at or before `since` (ConditionHistory,
// docs/conditions.md).
#pragma once

#include <chrono>
#include <map>
#include <utility>
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

// When one condition was seen, as far as this process knows; "" is unknown (JSON null).
struct ConditionSeen {
  std::string since;        // the first read of this process that saw it (UTC, as read_at)
  std::string began_after;  // the read just before, which did not see it; "" when there was none
};

struct StatusReport {
  std::string cluster;
  std::string primary;
  std::string read_at;  // UTC, UtcSeconds
  std::chrono::milliseconds read_time{0};
  std::vector<ServerLine> servers;  // file order
  std::vector<AppLine> apps;        // file order, each app's hosts in order
  std::vector<Condition> conditions;
  std::vector<ConditionSeen> seen;  // one per condition once a ConditionHistory observed the report
  Health health = Health::kHealthy;
};

// Since when each condition has been seen across the reads of one process (`status --watch`),
// keyed by type and host: a condition that clears and comes back starts again. Pure.
class ConditionHistory {
 public:
  // Fills report.seen from what earlier reports showed, and remembers this one.
  void Observe(StatusReport& report);

 private:
  std::map<std::pair<std::string, std::string>, ConditionSeen> open_;  // (type, host) -> seen
  std::string last_read_at_;  // "" before the first read
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
// conditions (type, status = severity, reason, message = cause, host, error_number, evidence,
// since, began_after: null unless a ConditionHistory observed the report).
std::string RenderStatusJson(const StatusReport& report);

}  // namespace replplan::ops
