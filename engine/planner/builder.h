// The planner's core: the actions the rules add (with their ids), where each one landed, the
// "must happen before" edges between them, and a report per host. Rules (engine/planner/rules.h)
// write to a plan through this interface only; engine/planner.cc runs them in order.
//
// Invariants: a host's actions are held by Add until Flush, then enter the graph in the order they
// were added (hosts in file order, so the stable execution order follows the file); every index in
// HostActions is kNone or an action of that host; Depend ignores kNone, so a rule that links to an
// action nobody planned (a host that could not be read) links nothing.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "engine/action.h"
#include "engine/action_graph.h"
#include "engine/plan.h"

namespace replplan::planner {

// An action that is not in the plan.
inline constexpr size_t kNone = static_cast<size_t>(-1);

// Where each of a host's actions sits in the graph (kNone: not planned), so the ordering rules
// link by index, never by id (a 10,000-server plan links ~150,000 edges).
struct HostActions {
  size_t edit = kNone, restart = kNone, set_global = kNone, repl_user = kNone, repl_grant = kNone;
  size_t seed = kNone, change = kNone, start = kNone, skip = kNone;
  size_t fence = kNone, catch_up = kNone, promote = kNone, semi_sync_on = kNone;
  std::vector<size_t> resets;
  std::vector<size_t> injects;  // the primary's inject-empty-transactions, one per errant replica
  std::vector<size_t> objects;  // create-database, create-user, grant-privileges of [[user]]s
};

// Which HostActions slot an action fills: the one of its kind, except for the two actions that
// share their kind with another.
enum class Slot {
  kByKind,
  kReplicationGrant,  // grant-privileges to the replication account (not one of `objects`)
  kSemiSyncOn,        // the primary's own set-global of rpl_semi_sync_master_enabled=ON
};

class PlanBuilder {
 public:
  // For a topology of `servers` servers: one slot set and one report each.
  explicit PlanBuilder(size_t servers);

  // "<host>/<kind>[/<object>]", unique within a plan: "uranus/seed-replica".
  static std::string Id(const std::string& host, ActionKind kind, const std::string& object = "");
  // A new action of `kind` on `host` with its id and default args, not yet held or added.
  static Action Make(const std::string& host, ActionKind kind, const std::string& object = "");

  // A new action on `host`, held until Flush; the rule fills it in through the reference, which
  // stays valid until the next Add or Flush.
  Action& Add(const std::string& host, ActionKind kind, const std::string& object = "",
              Slot slot = Slot::kByKind);
  // Adds the held actions (all of server `index`) to the graph in the order they were added and
  // records each in that server's slots.
  void Flush(size_t index);
  // Adds an action that no host slot records (the app steps) to the graph at once; its index.
  size_t AddNow(Action action);

  // `after` waits for each of `before` that exists in the plan; nothing when `after` is kNone.
  void Depend(size_t after, std::initializer_list<size_t> before);
  void Depend(size_t after, const std::vector<size_t>& before);

  const HostActions& slots(size_t index) const { return slots_[index]; }
  HostReport& report(size_t index) { return reports_[index]; }
  const ActionGraph& graph() const { return graph_; }

  // The graph and the reports (file order), once every rule has run.
  std::pair<ActionGraph, std::vector<HostReport>> Release() &&;

 private:
  struct Held {
    Action action;
    Slot slot;
  };
  ActionGraph graph_;
  std::vector<Held> held_;  // the current host's actions
  std::vector<HostActions> slots_;
  std::vector<HostReport> reports_;
};

}  // namespace replplan::planner
