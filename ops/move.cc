#include "ops/move.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "engine/cluster_epoch.h"
#include "engine/plan_compare.h"
#include "engine/planner.h"
#include "engine/terminal_text.h"
#include "engine/topology_edit.h"
#include "engine/topology_parser.h"

namespace replplan::ops {
namespace {

using Steady = std::chrono::steady_clock;

std::chrono::milliseconds Since(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start);
}

struct NewTopology {
  std::string text;
  Topology topology;
};

Result<NewTopology> WithPrimary(const MoveRequest& request, const std::string& to) {
  auto text = SetPrimaryInTopology(request.topology_text, request.topology_path, to);
  if (!text.ok()) return text.status();
  TopologyParse parse = ParseTopology(*text, request.topology_path);
  if (!parse.ok()) {
    return Status::Internal("the topology with primary = " + to + " does not validate: " +
                            parse.errors.front().ToString());
  }
  return NewTopology{std::move(*text), std::move(parse.topology)};
}

// The plan's actions, run; the file rewritten as soon as the promotion is done.
void Carry(const World& world, const MoveRequest& request, const NewTopology& next, MoveOutcome& out) {
  std::unique_ptr<ActionExecutor> executor = world.executors->Make(next.topology);
  ApplyReport report = ApplyPlan(*out.plan, *executor, request.parallelism, request.observer);
  for (const ActionOutcome& o : report.outcomes) {
    out.steps.push_back({o.id, o.duration});
    if (o.id == out.to + "/" + ToString(ActionKind::kPromoteReplica) && o.state == ActionOutcome::State::kDone) {
      out.promoted = true;
    }
  }
  bool promotes = false;
  for (const PlannedAction& pa : out.plan->actions) promotes |= pa.action.kind == ActionKind::kPromoteReplica;
  if (!promotes) out.promoted = report.failed() == 0;  // already promoted earlier: nothing to promote
  if (out.promoted) {
    auto start = Steady::now();
    auto text = SetEpochInTopology(next.text, request.topology_path, out.epoch);
    Status written = text.ok() ? world.files->WriteAtomically(request.topology_path, *text) : text.status();
    out.steps.push_back({"rewrite primary and epoch in " + request.topology_path, Since(start)});
    if (written.ok()) {
      out.file_rewritten = true;
    } else {
      out.status = written.WithContext("the promotion is done but the topology file was not rewritten; set "
                                       "primary = \"" + out.to + "\" and epoch = " + std::to_string(out.epoch) +
                                       " in it by hand");
    }
    // After the apps moved: the record is for later checks of other copies of the file, not for
    // the first write.
    if (const ServerSpec* promoted = next.topology.FindServer(out.to)) {
      auto record_start = Steady::now();
      auto recorded = world.records->RecordEpoch(*promoted, out.epoch, out.kind, request.owner);
      out.steps.push_back({"record epoch " + std::to_string(out.epoch) + " on " + out.to, Since(record_start)});
      if (recorded.ok()) {
        out.epoch_recorded = true;
        out.epoch = *recorded;
      } else {
        out.epoch_error = recorded.status().message();
      }
    }
  }
  if (out.status.ok() && !report.ok()) {
    out.status = Status::FailedPrecondition(std::to_string(report.failed()) + " action(s) failed, " +
                                            std::to_string(report.not_attempted()) + " not attempted");
  }
  out.report = std::move(report);
}

bool AppLivesOn(const Topology& topology, const std::string& server) {
  for (const AppSpec& app : topology.apps) {
    if (std::find(app.hosts.begin(), app.hosts.end(), server) != app.hosts.end()) return true;
  }
  return false;
}

Result<Plan> PlanMove(const World& world, const MoveRequest& request, const Topology& topology, const PlanOptions& options,
                      MoveOutcome& out) {
  ReadStats stats;
  const std::string& silent = options.confirmed_down;
  LiveState live;
  std::string hosts;
  const ServerSpec* silent_spec = silent.empty() ? nullptr : topology.FindServer(silent);
  if (silent_spec != nullptr && !request.primary_silent.empty()) {
    // Known silent: reading its SQL side would only wait out its timeout to learn that again. Its
    // host is read over SSH only when an app there is to be repointed (its database.yml), beside
    // the others' read, and not at all otherwise (a frozen host's SSH would wait out its own).
    Topology others = topology;
    std::erase_if(others.servers, [&](const ServerSpec& s) { return s.name == silent; });
    const std::string why = silent + " not read: " + request.primary_silent;
    ServerState files;
    std::jthread files_read;  // joined on every way out
    Steady::time_point files_start = Steady::now();
    std::chrono::milliseconds files_took{0};
    const bool app_there = AppLivesOn(topology, silent);
    if (app_there) {
      files_read = std::jthread([&] {
        files = world.live->ReadFiles(topology, *silent_spec, why);
        files_took = Since(files_start);
      });
    }
    live = world.live->Read(others, request.parallelism, stats);
    if (app_there) {
      files_read.join();
      live.servers[silent] = std::move(files);
      hosts = silent + " files only " + std::to_string(files_took.count()) + " ms (silent)";
    } else {
      RawServerState unread;
      unread.name = silent;
      unread.sql_error = why;
      unread.ssh_error = why;
      live.servers[silent] = ParseServerState(unread);
      hosts = silent + " not read (silent)";
    }
  } else {
    live = world.live->Read(topology, request.parallelism, stats);
  }
  for (const auto& [name, took] : stats.per_host) {
    hosts += (hosts.empty() ? "" : ", ") + name + " " + std::to_string(took.count()) + " ms";
  }
  out.steps.push_back({"read the live state (" + hosts + ")", stats.total});
  auto plan_start = Steady::now();
  out.epoch = NextEpoch(request.topology, live);
  PlanOptions checked = options;
  checked.file_primary = request.topology.cluster.primary;  // the stale-file check is of the file as given
  auto plan = BuildPlan(topology, live, checked);
  out.steps.push_back({"plan", Since(plan_start)});
  return plan;
}

void Say(const MoveRequest& request, const std::string& text) {
  if (request.say) request.say(text);
}

// On a terminal the operator approves a plan made before the cluster lock is taken, so the prompt
// never holds the lock (watch's fencing of a returning writable primary waits for it; issue 11);
// the plan made under the lock must then be the approved one action by action. Without a prompt
// (--yes, watch) the plan made under the lock is the one carried out, as before.
struct Approval {
  std::optional<Plan> approved;
  Status status;  // not OK: cancelled or refused, nothing changed
};
Approval ApproveBeforeLock(const World& world, const MoveRequest& request, const Topology& topology, const PlanOptions& options,
                           const std::string& kind, MoveOutcome& out) {
  Approval a;
  if (!request.approve) return a;
  auto plan = PlanMove(world, request, topology, options, out);
  if (!plan.ok()) {
    a.status = plan.status();
    return a;
  }
  Say(request, RenderPlanText(*plan));
  if (plan->incomplete() && kind == "switchover") {
    a.status = Status::FailedPrecondition("some servers could not be read (see the plan); switchover not started");
  } else if (Status refused = DestructiveApproval(*plan, request.allow_destructive, kind); !refused.ok()) {
    a.status = refused;  // never asked: a "yes" could not approve it
  } else if (!request.approve(*plan)) {
    a.status = Status::FailedPrecondition(kind + " cancelled: nothing was changed");
  } else {
    a.approved = std::move(*plan);
  }
  return a;
}

// The plan made under the lock against the approved one; OK when there was no prompt.
Status MatchesApproval(const Approval& approval, const Plan& now, const std::string& kind) {
  if (!approval.approved) return Status::OK();
  std::vector<std::string> differences = ActionDifferences(approval.approved->actions, now.actions);
  if (differences.empty()) return Status::OK();
  std::string lines;
  for (const std::string& d : differences) lines += "\n  " + d;
  return Status::FailedPrecondition("the servers changed while the " + kind +
                                    " waited for approval: the plan made under the lock is not the approved one; "
                                    "nothing was changed; run it again:" + lines);
}

}  // namespace

MoveOutcome Switchover(const World& world, const MoveRequest& request, const std::string& to) {
  auto begin = Steady::now();
  MoveOutcome out;
  out.kind = "switchover";
  out.from = request.topology.cluster.primary;
  out.to = to;
  auto finish = [&]() -> MoveOutcome {
    out.total = Since(begin);
    return std::move(out);
  };
  if (request.topology.FindServer(to) == nullptr) {
    out.status = Status::InvalidArgument("'" + to + "' is not a server of " + request.topology_path);
    return finish();
  }
  auto next = WithPrimary(request, to);
  if (!next.ok()) {
    out.status = next.status();
    return finish();
  }
  Approval approval = ApproveBeforeLock(world, request, next->topology, {}, "switchover", out);
  if (!approval.status.ok()) {
    out.status = approval.status;
    return finish();
  }
  // Locked where a concurrent apply of either file version would lock: the old and the new primary.
  auto lock_start = Steady::now();
  ClusterLocks locks;
  if (!request.locks_held) {
    if (Status locked = world.locks->Acquire(locks, {&request.topology, &next->topology}, request.owner);
        !locked.ok()) {
      out.status = locked;
      return finish();
    }
    out.steps.push_back({"take the cluster lock", Since(lock_start)});
  }
  auto plan = PlanMove(world, request, next->topology, {}, out);
  if (!plan.ok()) {
    out.status = plan.status();
    return finish();
  }
  out.plan = std::move(*plan);
  if (out.plan->primary_change) out.from = out.plan->primary_change->from;
  if (!approval.approved) Say(request, RenderPlanText(*out.plan));
  if (out.plan->incomplete()) {
    out.status = Status::FailedPrecondition("some servers could not be read (see the plan); switchover not started");
    return finish();
  }
  if (Status refused = DestructiveApproval(*out.plan, request.allow_destructive, "switchover"); !refused.ok()) {
    out.status = refused;
    return finish();
  }
  out.status = MatchesApproval(approval, *out.plan, "switchover");
  if (!out.status.ok()) return finish();
  Carry(world, request, *next, out);
  return finish();
}

MoveOutcome Failover(const World& world, const MoveRequest& request) {
  auto begin = Steady::now();
  MoveOutcome out;
  out.kind = "failover";
  out.from = request.topology.cluster.primary;
  out.semi_sync = request.topology.replication.semi_sync;
  auto finish = [&]() -> MoveOutcome {
    out.total = Since(begin);
    return std::move(out);
  };
  auto facts_start = Steady::now();
  out.facts = CollectFailoverFacts(request.topology, *world.sessions, request.primary_silent);
  if (request.receipts != nullptr) request.receipts->Observe(out.facts->replicas);
  out.decision = DecideFailover(out.facts->replicas, out.facts->primary_reachable, request.min_confirmations);
  out.steps.push_back({"confirm " + out.from + " is down with the replicas and choose", Since(facts_start)});
  if (!out.decision->proceed) {
    out.status = Status::FailedPrecondition("failover refused: " + out.decision->refusal);
    return finish();
  }
  out.to = out.decision->candidate;
  auto next = WithPrimary(request, out.to);
  if (!next.ok()) {
    out.status = next.status();
    return finish();
  }
  // The old primary is down: reading it must not cost a full connect timeout, nor a full command
  // timeout on a warm SSH session to a host that froze. (Warm SQL connections to it are never
  // lent for this read: the pool lends only connections made with the same connect timeout.)
  Topology reading = next->topology;
  for (ServerSpec& s : reading.servers) {
    if (s.name == out.from) {
      s.mysql.connect_timeout_ms = std::min(s.mysql.connect_timeout_ms, 1000);
      s.ssh.connect_timeout_ms = std::min(s.ssh.connect_timeout_ms, 1000);
      s.ssh.command_timeout_ms = std::min(s.ssh.command_timeout_ms, 2000);
    }
  }
  PlanOptions options;
  options.confirmed_down = out.from;
  Approval approval = ApproveBeforeLock(world, request, reading, options, "failover", out);
  if (!approval.status.ok()) {
    out.status = approval.status;
    return finish();
  }
  auto lock_start = Steady::now();
  ClusterLocks lock;
  if (Status locked = world.locks->Acquire(lock, {&next->topology}, request.owner); !locked.ok()) {
    out.status = locked;
    return finish();
  }
  out.steps.push_back({"take the cluster lock", Since(lock_start)});
  auto plan = PlanMove(world, request, reading, options, out);
  if (!plan.ok()) {
    out.status = plan.status();
    return finish();
  }
  out.plan = std::move(*plan);
  if (!approval.approved) Say(request, RenderPlanText(*out.plan));
  if (Status refused = DestructiveApproval(*out.plan, request.allow_destructive, "failover"); !refused.ok()) {
    out.status = refused;
    return finish();
  }
  out.status = MatchesApproval(approval, *out.plan, "failover");
  if (!out.status.ok()) return finish();
  if (request.before_changes) {
    auto gate_start = Steady::now();
    out.status = request.before_changes();
    out.steps.push_back({"wait for the watchers' majority", Since(gate_start)});
    if (!out.status.ok()) return finish();
  }
  Carry(world, request, *next, out);
  // After the apps moved, so it never delays the first write: what the old primary wrote that no
  // replica received, from its binlog files over SSH (its host may well be up).
  if (out.promoted) {
    auto lost_start = Steady::now();
    if (const ServerSpec* old = request.topology.FindServer(out.from)) {
      out.lost = world.records->FindLost(*old, out.decision->target_position);
      out.steps.push_back({"read " + out.from + "'s binlog over SSH for lost transactions", Since(lost_start)});
    }
  }
  return finish();
}

std::string RenderMoveReport(const MoveOutcome& o) {
  // Reasons, positions, errors and names come from servers: each line is made terminal-safe.
  std::string out = "\n";
  const auto line = [&out](const std::string& text) { out += TerminalSafe(text) + "\n"; };
  line(o.kind + " report: " + o.from + " -> " + (o.to.empty() ? "(none)" : o.to));
  if (o.decision) {
    if (!o.decision->confirmation.empty()) line("  " + o.from + " is down: " + o.decision->confirmation);
    for (const std::string& r : o.decision->reasons) line("  why " + o.to + ": " + r);
    for (const auto& [name, lacks] : o.decision->lagging) {
      line("  " + name + " lacked " + lacks + " at the decision (it receives them from " + o.to + ")");
    }
  }
  line("  steps:");
  for (const MoveStep& s : o.steps) {
    char ms[32];
    std::snprintf(ms, sizeof(ms), "    %7lld ms  ", static_cast<long long>(s.duration.count()));
    line(ms + s.name);
  }
  line("    " + std::to_string(o.total.count()) + " ms in total");
  if (o.lost && o.lost->known) {
    if (o.lost->lost.empty()) {
      line("  lost: nothing: " + o.from + "'s binlog ends at " +
           (o.lost->old_position.empty() ? std::string("(empty)") : o.lost->old_position) + ", all of it on " + o.to);
    } else {
      line("  lost: " + o.lost->lost + ": committed on " + o.from + " (its binlog ends at " + o.lost->old_position +
           ") but received by no replica, so not on " + o.to +
           (o.semi_sync ? "; semi_sync is on: none of them was acknowledged to a client (unless the primary had "
                          "fallen back to asynchronous replication)"
                        : "; semi_sync is off: clients may have been told they succeeded") +
           ". " + o.from + " must be reseeded before it rejoins (the next plan says so).");
    }
  } else if (o.kind == "failover" && o.decision && o.decision->proceed) {
    // The old primary's binlog was not read (its host unreachable, or nothing promoted): what it
    // committed that no replica received is unknown, which is not "nothing lost".
    line("  lost: unknown: " + (o.lost ? o.lost->why_unknown : o.from + "'s binlog was not read") +
         ". Nothing that any reachable replica had received is lost (" + o.to + " applied up to " +
         o.decision->target_position + "); what " + o.from + " committed that no replica received is not on " +
         o.to +
         (o.semi_sync ? " (semi_sync is on, so no acknowledged write is among them unless the primary had "
                        "fallen back to asynchronous replication after semi_sync_timeout_ms)"
                      : " (semi_sync is off, so writes " + o.from + " acknowledged may be among them)") +
         "; when " + o.from + " is back, `replplan plan` names them (it is then reseeded).");
  }
  if (o.promoted) {
    std::string epoch = std::to_string(o.epoch);
    line(o.file_rewritten ? "  the topology file now says primary = \"" + o.to + "\", epoch = " + epoch + ": commit it"
                          : "  the topology file was NOT rewritten: set primary = \"" + o.to + "\" and epoch = " +
                                epoch + " by hand");
    line(o.epoch_recorded ? "  epoch " + epoch + " recorded on " + o.to + " (replplan.epochs): an older copy of the "
                                "file naming another primary is refused"
                          : "  epoch " + epoch + " was NOT recorded on the servers (" + o.epoch_error +
                                "); older copies of the file are refused only when the structure shows it");
  }
  if (o.kind == "failover" && o.promoted) {
    line("  " + o.from + " stays read-only when it comes back (read_only=ON in its config_file); `replplan apply` "
         "then rejoins it");
  }
  line(o.status.ok() ? "  result: done" : "  result: " + o.status.message());
  return out;
}

}  // namespace replplan::ops
