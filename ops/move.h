// `replplan switchover` and `replplan failover` (and `watch`'s failovers): moving the primary, end
// to end, as operations over a World (ops/world.h). The decisions are pure (engine/failover_choice.h,
// the planner); this reads what they need, carries the plan out through the World's executor and
// rewrites the topology file's `primary` line once the promotion is done, so the file in git says
// what is true.
//
// Order, and why:
//  1. (failover) facts from every server in parallel, over the World's sessions; DecideFailover
//     refuses unless the replicas confirm the primary is gone and one candidate holds everything
//     the others received.
//  2. The topology with the new primary (SetPrimaryInTopology: only that line changes) is planned
//     against the live state: switchover = fence, catch up, promote; failover = relay log applied,
//     promote; then replicas, the old primary (switchover) and apps follow. The planner refuses a
//     lagging, stopped or errant candidate.
//  3. The cluster lock is held on the new primary (and, in a switchover, on the old one too, which
//     is where a concurrent `apply` of the old file would take it).
//  4. The file is rewritten (atomically, through the World's Files) as soon as the promotion action
//     is done, even if a later step (an app restart) fails: from then on the new server IS the
//     primary; never when it is not done. `primary` and `epoch` change together; then the new
//     epoch is recorded on the new primary (the World's MoveRecords), after the apps moved.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/applier.h"
#include "engine/failover_choice.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "ops/world.h"
#include "providers/failover_facts.h"
#include "providers/lost_transactions.h"

namespace replplan::ops {

struct MoveRequest {
  std::string topology_path;  // rewritten in place once the promotion is done
  std::string topology_text;  // its bytes as read (the rewrite changes one line of these)
  Topology topology;          // parsed from topology_text
  int parallelism = 10;
  int min_confirmations = kMajorityOfReplicas;  // failover only
  std::string owner;                              // for the cluster lock's holder line
  ApplyObserver* observer = nullptr;              // timeline of the actions; may be null
  // Called with a plan made before the cluster lock is taken (the prompt never holds the lock);
  // false cancels (nothing changed). The plan made under the lock must then be the approved one
  // action by action (engine/plan_compare.h), or nothing changes. Null: approved (--yes, watch).
  std::function<bool(const Plan&)> approve;
  // Called once a decision (failover) or plan exists, before approval: lets the CLI print it.
  std::function<void(const std::string&)> say;
  // A plan with destructive actions (a reseed, RESET SLAVE ALL) is refused, nothing changed,
  // unless this is set (--allow-destructive); approval alone never covers one.
  bool allow_destructive = false;
  // Switchover only: the caller holds the cluster lock on both primaries already (apply's rolling
  // restart of a primary, ops/apply.h), so it is not taken again.
  bool locks_held = false;
  // Failover only. Not empty: the caller knows the primary is silent (watch's probe got no answer
  // within its bound; the text says so). The confirm step then does not contact the primary (the
  // replicas decide, as ever), and the live-state read skips it, SQL and SSH, unless an [[app]]
  // lives on its host (then it is read as before, with short bounds): its state is "not read".
  std::string primary_silent;
  // Failover only, may be null. The watcher's record of the replicas' receipt across its repeated
  // confirm attempts (engine/failover_choice.h): each attempt's facts are observed by it before the
  // decision, so a replica still connected to a primary that sent it nothing for longer than the
  // silence bound confirms (docs/failover.md, "Confirmation").
  ReceiptWatch* receipts = nullptr;
  // Failover only, may be null: called once the plan is made, under the cluster lock, right before
  // its first action. Not OK stops the failover there (its status is the outcome's), nothing changed.
  // watch on etcd: the watchers' majority, asked while the replicas were (ops/watch.cc).
  std::function<Status()> before_changes;
};

struct MoveStep {
  std::string name;  // "confirm the primary is down", "plan", "uranus/promote-replica", ...
  std::chrono::milliseconds duration{0};
};

struct MoveOutcome {
  Status status;                 // OK when every action succeeded (and the file was rewritten)
  std::string kind;              // "switchover" or "failover"
  std::string from, to;          // old and new primary (to is empty when refused before a choice)
  std::optional<FailoverFacts> facts;     // failover only
  std::optional<FailoverDecision> decision;
  std::optional<Plan> plan;
  std::optional<ApplyReport> report;
  bool promoted = false;         // the promote-replica action is done
  bool semi_sync = false;        // [replication] semi_sync: what the loss report may promise
  std::optional<LostTransactions> lost;  // failover: read from the old primary's binlog afterwards
  bool file_rewritten = false;
  // The failover epoch this move records (engine/cluster_epoch.h): in the file with `primary`, and
  // on the new primary once the plan is carried out. epoch_error: why the servers' record failed.
  int64_t epoch = 0;
  bool epoch_recorded = false;
  std::string epoch_error;
  std::vector<MoveStep> steps;   // in the order they ran, with their durations
  std::chrono::milliseconds total{0};
};

// Planned switchover to `to`. Refuses (status, nothing changed) when the planner does.
MoveOutcome Switchover(const World& world, const MoveRequest& request, const std::string& to);

// Unplanned failover: the file's primary must be down, as the replicas confirm.
MoveOutcome Failover(const World& world, const MoveRequest& request);

// What happened, step by step with durations, what was lost (or that nothing known was), and
// what is left to do (the old primary rejoins with `replplan apply` once it is back).
std::string RenderMoveReport(const MoveOutcome& outcome);

}  // namespace replplan::ops
