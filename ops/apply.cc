#include "ops/apply.h"

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/plan_check.h"
#include "engine/plan_compare.h"
#include "ops/move.h"
#include "providers/cluster_lock.h"

namespace replplan::ops {

namespace {

// The primary's restart-server that is a switchover and back (switchover_to), or null.
const PlannedAction* SwitchoverRestart(const Plan& plan) {
  for (const PlannedAction& pa : plan.actions) {
    if (pa.action.kind != ActionKind::kRestartServer || pa.action.host != plan.primary) continue;
    if (!pa.action.Args<RestartServerArgs>().switchover_to.empty()) return &pa;
  }
  return nullptr;
}

// `plan` without the action `id` and everything that (transitively) depends on it; their ids in
// `held`. Plan order is a topological order, so one pass finds them all.
Plan Without(const Plan& plan, const std::string& id, std::vector<std::string>& held) {
  Plan out = plan;
  out.actions.clear();
  std::set<std::string> removed = {id};
  for (const PlannedAction& pa : plan.actions) {
    bool depends = removed.count(pa.action.id) > 0;
    for (const std::string& dep : pa.depends_on) depends = depends || removed.count(dep) > 0;
    if (depends) {
      removed.insert(pa.action.id);
      held.push_back(pa.action.id);
      continue;
    }
    out.actions.push_back(pa);
  }
  return out;
}

// One switchover of the primary's rolling restart, on the file as it is now.
Status SwitchOnce(const World& world, const ApplyRequest& request, const std::string& path, const std::string& to) {
  auto loaded = LoadTopology(*world.files, path, request.diagnostic);
  if (!loaded.ok()) return loaded.status();
  MoveRequest move;
  move.topology_path = path;
  move.topology_text = loaded->text;
  move.topology = loaded->topology;
  move.parallelism = request.parallelism;
  move.owner = request.owner;
  move.observer = request.observer;
  move.locks_held = true;
  MoveOutcome outcome = Switchover(world, move, to);
  if (!outcome.status.ok()) {
    return outcome.status.WithContext("switchover from " + loaded->topology.cluster.primary + " to " + to);
  }
  return Status::OK();
}

// The rolling restart of the primary (ops/apply.h, step 6), as one outcome under the action's id.
ActionOutcome RestartBySwitchover(const World& world, const ApplyRequest& request, const std::string& path,
                                  const PlannedAction& restart) {
  ActionOutcome outcome;
  outcome.id = restart.action.id;
  outcome.host = restart.action.host;
  outcome.started = world.clock->Now();
  auto begin = std::chrono::steady_clock::now();
  const std::string& primary = restart.action.host;
  const std::string& to = restart.action.Args<RestartServerArgs>().switchover_to;
  if (request.observer) request.observer->Started(restart.action);
  Status status = SwitchOnce(world, request, path, to);
  if (status.ok() && restart.action.Args<RestartServerArgs>().switch_back) {
    status = SwitchOnce(world, request, path, primary);
  }
  if (!status.ok() && request.observer) request.observer->Progress(restart.action, status.message());
  outcome.state = status.ok() ? ActionOutcome::State::kDone : ActionOutcome::State::kFailed;
  outcome.status = status;
  outcome.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
  if (request.observer) request.observer->Finished(restart.action, outcome);
  return outcome;
}

}  // namespace

bool LooksLikeSavedPlan(const std::string& path, const std::string& text) {
  if (std::filesystem::path(path).extension() == ".json") return true;
  size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '{';
}

namespace {

// Whether `plan` (re)starts a server it could not read over SQL: its remedy for that host.
bool RestartsAnUnreadHost(const Plan& plan) {
  for (const PlannedAction& pa : plan.actions) {
    if (pa.action.kind != ActionKind::kRestartServer) continue;
    for (const HostReport& host : plan.hosts) {
      if (host.name == pa.action.host && !host.sql_ok) return true;
    }
  }
  return false;
}

}  // namespace

ApplyOutcome Apply(const World& world, const ApplyRequest& request) {
  ApplyOutcome out;
  const auto refused = [&out](Status why) {
    out.refusal = std::move(why);
    return std::move(out);
  };
  const auto show = [&request](const Plan& plan) {
    if (request.show) request.show(plan);
  };

  auto text = world.files->Read(request.path);
  if (!text.ok()) return refused(text.status());

  // A saved plan names its topology; the topology says where the servers are and how to reach them.
  std::optional<Plan> saved;
  std::string topology_path = request.path;
  if (LooksLikeSavedPlan(request.path, *text)) {
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
      return refused(Status::InvalidArgument(request.path + ": not a plan: " + e.what()));
    }
    auto plan = PlanFromJson(json);
    if (!plan.ok()) return refused(plan.status().WithContext(request.path));
    saved = std::move(*plan);
    topology_path = saved->topology_file;
  }
  const bool from_saved = saved.has_value();
  auto loaded = LoadTopologyForServers(world, topology_path, request.diagnostic, request.warning);
  if (!loaded.ok()) return refused(loaded.status());
  const Topology& topology = loaded->topology;
  // A plan that does not say which version of the file it was made from cannot be checked against
  // it: refused, not trusted.
  if (saved && saved->topology_digest.empty()) {
    return refused(Status::FailedPrecondition(request.path + ": the plan records no topology_digest; make it with "
                                              "`replplan plan --out` and apply that"));
  }
  if (saved && saved->topology_digest != loaded->digest) {
    return refused(Status::FailedPrecondition(request.path + ": " + topology_path +
                                              " has changed since this plan was saved; run `replplan plan` again"));
  }
  if (saved) {
    if (Status stale = CheckPlanAgainstTopology(*saved, topology); !stale.ok()) return refused(stale.WithContext(request.path));
  }

  // Approval before the lock (ops/apply.h, step 2).
  if (saved) {
    out.approved = std::move(*saved);
  } else {
    auto first = PlanLive(world, *loaded, request.parallelism, request.on_read);
    if (!first.ok()) return refused(first.status());
    if (!first->has_changes()) {
      show(*first);
      out.plan = std::move(*first);
      return out;
    }
    if (!request.yes) out.approved = std::move(*first);
  }
  if (out.approved && !request.yes) {
    show(*out.approved);
    // Never asked: a "yes" could not approve it.
    if (Status refusal = DestructiveApproval(*out.approved, request.allow_destructive, "apply"); !refusal.ok()) {
      return refused(refusal);
    }
    Result<bool> approval = request.approve ? request.approve(*out.approved) : Result<bool>(false);
    if (!approval.ok()) return refused(approval.status());
    if (!*approval) {
      out.declined = true;
      return out;
    }
  }

  const std::string owner = request.owner + " since " + UtcSeconds(world.clock->Now());
  ClusterLocks locks;  // held until Apply returns
  if (Status locked = world.locks->Acquire(locks, {&topology}, owner); !locked.ok()) return refused(locked);
  // The file too may have changed while the prompt waited.
  if (out.approved) {
    auto reread = LoadTopology(*world.files, topology_path, request.diagnostic);
    if (!reread.ok()) return refused(reread.status());
    if (reread->digest != out.approved->topology_digest) {
      return refused(Status::FailedPrecondition(topology_path + " changed while the plan waited for approval; "
                                                "nothing was changed; run apply again"));
    }
  }

  auto fresh = PlanLive(world, *loaded, request.parallelism, request.on_read);
  if (!fresh.ok()) return refused(fresh.status());
  out.plan = std::move(*fresh);
  const Plan& plan = *out.plan;
  // A switchover by an edited file: an apply of the previous version would lock on the live primary,
  // so that lock is held too (unless both hosts share the lock file, as on one machine).
  if (plan.primary_change && plan.primary_change->kind == "switchover") {
    Topology previous = topology;
    previous.cluster.primary = plan.primary_change->from;
    if (Status locked = world.locks->Acquire(locks, {&previous}, owner); !locked.ok()) return refused(locked);
  }
  if (out.approved) {
    const Plan& approved = *out.approved;
    const std::string what = from_saved ? request.path + ": the live servers have changed since this plan was made"
                                        : "the live servers changed while the plan waited for approval";
    const std::string again = from_saved ? "; run `replplan plan` again" : "; nothing was changed; run apply again";
    if (approved.state_fingerprint != plan.state_fingerprint) {
      return refused(Status::FailedPrecondition(what + " (state " + approved.state_fingerprint + ", now " +
                                                plan.state_fingerprint + ")" + again));
    }
    std::vector<std::string> differences = ActionDifferences(approved.actions, plan.actions);
    if (!differences.empty()) {
      std::string lines;
      for (const std::string& d : differences) lines += "\n  " + d;
      return refused(Status::FailedPrecondition(
          (from_saved ? request.path + ": the plan computed now under the lock is not the saved one"
                      : std::string("the plan computed now under the lock is not the approved one")) +
          "; nothing was changed" + again + ":" + lines));
    }
  }
  // What runs is the plan computed under the lock: the approved one in every field the executor
  // reads. With --yes nothing was shown yet.
  if (request.yes) show(plan);
  if (!plan.has_changes()) return out;
  if (Status refusal = DestructiveApproval(plan, request.allow_destructive, "apply"); !refusal.ok()) {
    return refused(refusal);
  }

  if (request.executing) request.executing(plan);
  std::unique_ptr<ActionExecutor> executor = world.executors->Make(topology);
  const PlannedAction* by_switchover = SwitchoverRestart(plan);
  if (by_switchover == nullptr) {
    out.report = ApplyPlan(plan, *executor, request.parallelism, request.observer);
    out.promotion = world.promotions->Record(plan, *out.report, topology, topology_path, owner);
    if (!out.report->ok() || !plan.incomplete() || !RestartsAnUnreadHost(plan)) return out;

    // Step 6: a host that could not be read was (re)started as its remedy (listening-elsewhere,
    // server-down), so nothing of its SQL side was planned. It is read again, still under the lock,
    // and what is left is carried out with the same approval (the plan's note said so); a DESTRUCTIVE
    // rest only with allow_destructive.
    auto after = PlanLive(world, *loaded, request.parallelism, request.on_read);
    if (!after.ok()) {
      out.after_repair_note = "reading the cluster again after the repair failed: " + after.status().message();
      return out;
    }
    out.after_repair = std::move(*after);
    const Plan& rest = *out.after_repair;
    if (!rest.has_changes()) return out;
    // A host still unread: the repair did not work, and a second one would fail as the first.
    if (rest.incomplete()) {
      out.after_repair_note = "after the repair some hosts still cannot be read: see `replplan status`";
      return out;
    }
    show(rest);
    if (Status refusal = DestructiveApproval(rest, request.allow_destructive, "apply"); !refusal.ok()) {
      out.after_repair_note = "what is left after the repair was not carried out: " + refusal.message();
      return out;
    }
    if (request.executing) request.executing(rest);
    out.after_repair_report = ApplyPlan(rest, *executor, request.parallelism, request.observer);
    return out;
  }
  // Step 6: the rest first, then the switchover and back, then what waited for the restart.
  std::vector<std::string> held;
  Plan first = Without(plan, by_switchover->action.id, held);
  out.report = ApplyPlan(first, *executor, request.parallelism, request.observer);
  executor.reset();  // its sessions end: the switchovers restart the primary under them
  ActionOutcome restarted;
  restarted.id = by_switchover->action.id;
  restarted.host = by_switchover->action.host;
  if (out.report->ok()) {
    // Locked where an apply of the file with the replica as primary would lock.
    Topology other = topology;
    other.cluster.primary = by_switchover->action.Args<RestartServerArgs>().switchover_to;
    if (Status locked = world.locks->Acquire(locks, {&other}, owner); !locked.ok()) {
      restarted.state = ActionOutcome::State::kFailed;
      restarted.status = locked;
    } else {
      restarted = RestartBySwitchover(world, request, topology_path, *by_switchover);
    }
  } else {
    restarted.blocked_by = "an earlier action";
    for (const ActionOutcome& o : out.report->outcomes) {
      if (o.state == ActionOutcome::State::kFailed) {
        restarted.blocked_by = o.id;
        break;
      }
    }
  }
  out.report->outcomes.push_back(restarted);
  if (restarted.state != ActionOutcome::State::kDone) {
    for (const std::string& id : held) {
      if (id == restarted.id) continue;
      ActionOutcome waiting;
      waiting.id = id;
      waiting.blocked_by = restarted.state == ActionOutcome::State::kFailed ? restarted.id : restarted.blocked_by;
      out.report->outcomes.push_back(waiting);
    }
    return out;
  }
  // What waited for the restart, planned again on the cluster as the switchovers left it.
  auto reloaded = LoadTopologyForServers(world, topology_path, request.diagnostic, request.warning);
  if (!reloaded.ok()) return refused(reloaded.status());
  auto rest = PlanLive(world, *reloaded, request.parallelism, request.on_read);
  if (!rest.ok()) return refused(rest.status());
  if (!rest->has_changes()) return out;
  if (Status refusal = DestructiveApproval(*rest, request.allow_destructive, "apply"); !refusal.ok()) {
    return refused(refusal);
  }
  if (request.show) request.show(*rest);
  std::unique_ptr<ActionExecutor> after = world.executors->Make(reloaded->topology);
  ApplyReport last = ApplyPlan(*rest, *after, request.parallelism, request.observer);
  for (ActionOutcome& o : last.outcomes) out.report->outcomes.push_back(std::move(o));
  return out;
}

}  // namespace replplan::ops
