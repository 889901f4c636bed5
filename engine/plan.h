// A plan: the ordered actions that take the live state to the topology, what could not be known,
// and how it renders (text for people, JSON per schemas/plan.schema.json for machines).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/action.h"
#include "engine/conditions.h"
#include "engine/status.h"

namespace replplan {

struct PlannedAction {
  Action action;
  std::vector<std::string> depends_on;  // ids of actions that must complete first
};

// What replplan could or could not read of one host.
struct HostReport {
  std::string name;
  std::string address;
  std::string role;        // "primary" or "replica"
  bool sql_ok = false;
  std::string sql_error;   // why SQL could not be read (redacted), empty when sql_ok
  bool ssh_ok = false;
  std::string ssh_error;   // why SSH could not be read (redacted), empty when ssh_ok
  std::vector<std::string> notes;  // warnings: "replication IO thread error 1236: ... (reseed)"
  // What the plan leaves undone on purpose until the operator chooses (errant transactions under
  // cluster.errant_transactions = refuse): any makes the plan incomplete, as an unread host does.
  std::vector<std::string> unresolved;
};

// The plan moves the primary: a switchover (the old primary is fenced and waited for) or a failover
// (the old primary is confirmed down; the new one applies its relay log first).
struct PrimaryChange {
  std::string kind;  // "switchover" or "failover"
  std::string from;  // the live primary
  std::string to;    // the file's primary
};

struct Plan {
  std::string topology_file;
  std::string cluster;
  std::string primary;
  std::string flavor;            // "mariadb" / "mysql" (added for the text header and JSON)
  std::string replication_mode;  // "gtid" / "file"
  std::vector<HostReport> hosts;        // file order
  std::vector<PlannedAction> actions;   // a valid execution order
  // What is wrong with the cluster (engine/conditions.h, Diagnose), servers in file order: the
  // text shows each under its host above the actions that remedy it. Informational: apply acts on
  // the actions only, and a saved plan without them (older replplan) reads as none.
  std::vector<Condition> conditions;
  // A host's state was (partly) unknown: the plan is what could be decided without it.
  bool incomplete() const;
  bool has_changes() const { return !actions.empty(); }
  int hosts_changed() const;  // distinct hosts with at least one action
  // Digest of the live state the plan was computed from; apply of a saved plan compares it.
  std::string state_fingerprint;
  // ContentDigest of the topology file's bytes (set by the CLI): a saved plan is refused when the
  // file changed since. Empty when unknown; then it is left out of the JSON.
  std::string topology_digest;
  // When the plan was computed, ISO 8601 UTC ("2024-05-01T12:34:56Z"), set by the CLI. Empty: left
  // out of the JSON.
  std::string created_at;
  std::optional<PrimaryChange> primary_change;
};

// Grouped by host, each action with its why, then "Plan: N to change on M hosts." (or
// "No changes. ..."), and a line per host that could not be read. Secrets never appear.
std::string RenderPlanText(const Plan& plan);

// OK when the plan has no destructive action or `allow_destructive` (--allow-destructive) is given;
// otherwise FailedPrecondition naming them and the flag. Approval (--yes, or "yes" on a terminal)
// never covers a destructive action on its own. `command`: "apply", "switchover", ...
Status DestructiveApproval(const Plan& plan, bool allow_destructive, const std::string& command);
nlohmann::json PlanToJson(const Plan& plan);

// PlanToJson as printed and saved: indented, and ASCII only (every other character as \uXXXX, so
// no control character, C1 ones included, reaches a terminal raw; readers decode it unchanged).
// InvalidArgument when a name or message read from a server is not UTF-8: JSON cannot carry it,
// and replacing it would make a saved plan name something else than the server.
Result<std::string> PlanJsonText(const Plan& plan);

// The inverse of PlanToJson for everything apply needs (engine/plan_from_json.cc): the derived
// "complete" and "summary" are recomputed, not read. A bad document is InvalidArgument naming the
// JSON path: "actions[3].kind: unknown action kind 'frobnicate'". Only format_version 1 is read.
Result<Plan> PlanFromJson(const nlohmann::json& json);

}  // namespace replplan
