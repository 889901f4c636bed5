// `replplan apply`: carrying out a plan, with its whole protocol, over a World (ops/world.h).
//
// The protocol, and why:
//  1. The file named is a topology or a plan saved by `plan --out` (a .json file, or text opening
//     with '{'). A saved plan names its topology; a saved plan that records no topology_digest, or
//     whose topology file's bytes changed since, is refused.
//  2. Approval comes before the lock: the lock is what watch's fencing of a returning primary waits
//     for, and an operator may read a plan for minutes. Without --yes the plan is shown (a saved
//     plan, or one made now), a destructive one without allow_destructive is refused, and then it
//     is approved or declined. A plan with no changes is shown and nothing else happens.
//  3. The cluster lock is taken on the file's primary; a refusal names the holder. The file is read
//     again: a change while the prompt waited refuses.
//  4. The plan is made again under the lock. A switchover by an edited file also takes the lock on
//     the live primary (where an apply of the previous version would lock). What was approved must
//     be this plan in its state fingerprint and in everything it executes (engine/plan_compare.h),
//     or nothing is changed: a saved plan is a file anyone may edit, and the servers may have moved
//     while the prompt waited.
//  5. The plan made under the lock is carried out (destructive actions only with allow_destructive)
//     and, when it promoted a server, the new epoch is recorded.
//  6. When that plan (re)started a host it could not read (its remedy: listening-elsewhere,
//     server-down), and every action succeeded, the cluster is read again: what is left is shown
//     and carried out with the same approval (destructive actions only with allow_destructive), so
//     apply ends with the cluster as the file says when the repair worked. Then the lock is released.
//  7. A rolling restart of a serving primary (its restart-server has switchover_to, issue 15) is
//     not an executor step: everything else that does not depend on it runs first (the replicas'
//     restarts, one at a time), then a switchover to that replica (ops/move.h, under the lock
//     already held, which then covers the replica too) whose plan restarts the old primary as its
//     replica, then a switchover back, so the file names the same primary again (its epoch moves
//     on twice; with [cluster] primary_restart = "stay" the replica stays the primary and the file
//     names it); then what depended on the restart is planned again and carried out.
//     Write gap: two switchover windows, never the restart.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "engine/applier.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "ops/loaded_topology.h"
#include "ops/world.h"

namespace replplan::ops {

struct ApplyRequest {
  std::string path;                // a topology file, or a plan saved with `plan --out`
  bool yes = false;                // approved without asking (--yes); never covers destructive actions
  bool allow_destructive = false;  // --allow-destructive: the only approval of destructive actions
  int parallelism = 10;
  // Who takes the cluster lock, for whoever finds it taken: "replplan apply by root@build-7 (pid 4242)";
  // " since <the clock's time>" is added when the lock is taken.
  std::string owner;

  // What the operator sees, in the order it happens. Each may be null.
  DiagnosticSink diagnostic;  // problems of a topology file that does not validate
  WarningSink warning;        // warnings of the secret check
  ReadSink on_read;           // each read of the live state, with its timings
  // A plan to read: the one to approve (before approval), one with no changes, or, with --yes, the
  // one about to be carried out.
  std::function<void(const Plan&)> show;
  // Asked after `show`, without --yes: true approves, false declines (nothing changed); an error
  // refuses with its message (no terminal to ask on). Null: declined.
  std::function<Result<bool>(const Plan&)> approve;
  // Called once, just before the executor starts on `plan`.
  std::function<void(const Plan&)> executing;
  ApplyObserver* observer = nullptr;  // each action's start, progress and end
};

struct ApplyOutcome {
  // Why apply stopped before it carried anything out (a stale or edited plan, the lock, a refused
  // destructive action, a file that cannot be read, ...); OK otherwise.
  Status refusal;
  bool declined = false;         // the operator did not approve: nothing changed
  std::optional<Plan> approved;  // what was approved: a saved plan, or the plan shown at the prompt
  // The plan carried out (made under the lock), or the plan with no changes that ended the apply.
  std::optional<Plan> plan;
  std::optional<ApplyReport> report;  // set when the executor ran
  std::string promotion;              // what recording a promotion's epoch said ("" when none)
  // Step 6: the plan made when the cluster was read again after a repair of an unread host, and
  // the report of what it left to do (unset when nothing was); why it stopped there, if it did.
  std::optional<Plan> after_repair;
  std::optional<ApplyReport> after_repair_report;
  std::string after_repair_note;

  // Everything done: not refused or declined, every host read (after the repair, when it was read
  // again), every action done.
  bool ok() const {
    if (!refusal.ok() || declined || !plan || (report && !report->ok())) return false;
    if (!plan->incomplete()) return true;
    return after_repair && !after_repair->incomplete() &&
           (after_repair_report ? after_repair_report->ok() : !after_repair->has_changes());
  }
};

ApplyOutcome Apply(const World& world, const ApplyRequest& request);

// A saved plan rather than a topology: a .json file, or text whose first non-blank is '{'.
bool LooksLikeSavedPlan(const std::string& path, const std::string& text);

}  // namespace replplan::ops
