// One step of a plan, in the operator's words. An Action carries everything apply needs except
// secrets: those are resolved from the topology at execution time, so a saved or printed plan can
// never leak one (changes to a secret show as "(sensitive)").
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace replplan {

enum class ActionKind {
  kEditConfig,             // set managed keys in the server's config_file (over SSH)
  kRestartServer,          // run the server's restart command; a static setting changed
  kSetGlobal,              // SET GLOBAL for dynamic settings (server_id, binlog_format, read_only...)
  kCreateReplicationUser,  // CREATE USER repl + GRANT REPLICATION SLAVE..., binlog off, on every node
  kCreateDatabase,         // on the primary (replicates)
  kCreateUser,             // on the primary (replicates)
  kGrantPrivileges,        // missing grants of a declared user
  kSeedReplica,            // consistent dump of the primary with its position, restored on a replica
  kChangeSource,           // CHANGE MASTER TO the primary (GTID or file/position)
  kStartReplica,           // START SLAVE and wait until both threads run
  kResetReplica,           // RESET SLAVE ALL: forget a stale or unwanted source (destructive)
  // Switchover and failover (docs/failover.md). Each promotion step is its own action so the plan
  // shows it, the report times it, and a failure stops exactly what depends on it.
  kFencePrimary,     // old primary: KILL sessions waiting for a semi-sync ACK, then read_only=ON
  kWaitForCatchUp,   // candidate: wait until it applied the fenced old primary's whole binlog
  kApplyRelayLog,    // failover candidate: STOP SLAVE IO_THREAD, apply every event received
  kPromoteReplica,   // STOP SLAVE; RESET SLAVE ALL; read_only=OFF
  kRewriteAppConfig, // an app's database settings on one host (Rails: config/database.yml)
  kRestartApp,       // the app's restart command on one host
  kCheckHealth,      // the app's health URL answers 2xx after its restart
};
// The last enumerator: a new kind moves this too (action.cc's static_assert counts on it).
inline constexpr ActionKind kLastActionKind = ActionKind::kCheckHealth;

// Every kind with its stable name ("edit-config", ...: the name used in text, JSON and action
// ids), in enum order. The one list: ToString, ActionKindFromString and a saved plan's
// did-you-mean read it, and action_test checks schemas/plan.schema.json's enum of kinds against it.
struct ActionKindName {
  ActionKind kind;
  const char* name;
};
std::span<const ActionKindName> ActionKindNames();

// The kind's stable name.
const char* ToString(ActionKind kind);
// The inverse of ToString; nullopt for a name that is no kind.
std::optional<ActionKind> ActionKindFromString(std::string_view name);

// One visible difference: `server_id: 1 -> 2`. `from` empty means absent.
struct Change {
  std::string key;
  std::string from;
  std::string to;
  bool sensitive = false;  // rendered as (sensitive) whatever from/to hold (they hold nothing)
};

struct Action {
  std::string id;  // "<host>/<kind>[/<object>]", unique within a plan: "uranus/seed-replica"
  ActionKind kind = ActionKind::kEditConfig;
  std::string host;     // the server this action changes
  std::string summary;  // one line: "seed uranus from mercury (dump with GTID position, restore)"
  std::vector<std::string> reasons;  // why: "log_bin is OFF, file wants /var/log/mysql/mysql-bin.log"
  std::vector<Change> changes;
  bool destructive = false;  // drops or overwrites data or replication state; printed loudly
  // Machine-readable inputs for apply, never a secret: e.g. {"source": "mercury"}, {"key": "..."}.
  std::map<std::string, std::string> params;
};

}  // namespace replplan
