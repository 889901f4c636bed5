#include "ops/apply.h"

#include <filesystem>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/plan_check.h"
#include "engine/plan_compare.h"
#include "providers/cluster_lock.h"

namespace replplan::ops {

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

}  // namespace replplan::ops
