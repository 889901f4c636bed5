#include "providers/primary_move.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "engine/planner.h"
#include "engine/terminal_text.h"
#include "engine/topology_edit.h"
#include "engine/topology_parser.h"
#include "providers/cluster_lock.h"
#include "providers/live_executor.h"
#include "providers/provider.h"
#include "providers/state_reader.h"

namespace replplan {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Temp file beside the original, fsync, rename, fsync the directory: a crash leaves the old file or
// the new one, never half of each. The mode of the original is kept.
Status WriteFileAtomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string tmp = (dir / ("." + target.filename().string() + ".replplan.tmp")).string();
  std::error_code ec;
  fs::perms mode = fs::status(target, ec).permissions();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Unavailable("cannot write " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Unavailable("cannot write " + tmp + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!ec) fs::permissions(tmp, mode, ec);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::Unavailable("cannot replace " + path + ": " + std::strerror(errno));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
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
void Carry(const MoveRequest& request, const NewTopology& next, MoveOutcome& out) {
  std::unique_ptr<ActionExecutor> executor = MakeLiveExecutor(next.topology, request.pool);
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
    auto start = Clock::now();
    Status written = WriteFileAtomically(request.topology_path, next.text);
    out.steps.push_back({"rewrite primary in " + request.topology_path, Since(start)});
    if (written.ok()) {
      out.file_rewritten = true;
    } else {
      out.status = written.WithContext("the promotion is done but the topology file was not rewritten; set "
                                       "primary = \"" + out.to + "\" in it by hand");
    }
  }
  if (out.status.ok() && !report.ok()) {
    out.status = Status::FailedPrecondition(std::to_string(report.failed()) + " action(s) failed, " +
                                            std::to_string(report.not_attempted()) + " not attempted");
  }
  out.report = std::move(report);
}

Result<Plan> PlanMove(const MoveRequest& request, const Topology& topology, const PlanOptions& options,
                      MoveOutcome& out) {
  std::unique_ptr<Provider> provider = MakeLiveProvider(request.pool);
  ReadStats stats;
  LiveState live = ReadLiveState(topology, *provider, request.parallelism, stats);
  std::string hosts;
  for (const auto& [name, took] : stats.per_host) {
    hosts += (hosts.empty() ? "" : ", ") + name + " " + std::to_string(took.count()) + " ms";
  }
  out.steps.push_back({"read the live state (" + hosts + ")", stats.total});
  auto plan_start = Clock::now();
  auto plan = BuildPlan(topology, live, options);
  out.steps.push_back({"plan", Since(plan_start)});
  return plan;
}

bool Approved(const MoveRequest& request, const Plan& plan) { return !request.approve || request.approve(plan); }

void Say(const MoveRequest& request, const std::string& text) {
  if (request.say) request.say(text);
}

}  // namespace

MoveOutcome RunSwitchover(const MoveRequest& request, const std::string& to) {
  auto begin = Clock::now();
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
  // Locked where a concurrent apply of either file version would lock: the old and the new primary.
  auto lock_start = Clock::now();
  std::vector<std::unique_ptr<ClusterLock>> locks;
  const Topology* both[] = {&request.topology, &next->topology};
  for (const Topology* t : both) {
    if (!locks.empty() && t->cluster.primary == request.topology.cluster.primary) break;
    auto lock = AcquireClusterLock(*t, request.owner, request.pool);
    // Both hosts may share the lock file (one machine, as in the lab): then we hold it already.
    if (!lock.ok() && !locks.empty() && !request.owner.empty() &&
        lock.status().message().find(request.owner) != std::string::npos) {
      break;
    }
    if (!lock.ok()) {
      out.status = lock.status();
      return finish();
    }
    locks.push_back(std::move(*lock));
  }
  out.steps.push_back({"take the cluster lock", Since(lock_start)});
  auto plan = PlanMove(request, next->topology, {}, out);
  if (!plan.ok()) {
    out.status = plan.status();
    return finish();
  }
  out.plan = std::move(*plan);
  if (out.plan->primary_change) out.from = out.plan->primary_change->from;
  Say(request, RenderPlanText(*out.plan));
  if (out.plan->incomplete()) {
    out.status = Status::FailedPrecondition("some servers could not be read (see the plan); switchover not started");
    return finish();
  }
  if (!Approved(request, *out.plan)) {
    out.status = Status::FailedPrecondition("switchover cancelled: nothing was changed");
    return finish();
  }
  Carry(request, *next, out);
  return finish();
}

MoveOutcome RunFailover(const MoveRequest& request) {
  auto begin = Clock::now();
  MoveOutcome out;
  out.kind = "failover";
  out.from = request.topology.cluster.primary;
  out.semi_sync = request.topology.replication.semi_sync;
  auto finish = [&]() -> MoveOutcome {
    out.total = Since(begin);
    return std::move(out);
  };
  auto facts_start = Clock::now();
  out.facts = CollectFailoverFacts(request.topology, request.pool);
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
  auto lock_start = Clock::now();
  auto lock = AcquireClusterLock(next->topology, request.owner, request.pool);
  if (!lock.ok()) {
    out.status = lock.status();
    return finish();
  }
  out.steps.push_back({"take the cluster lock", Since(lock_start)});
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
  auto plan = PlanMove(request, reading, options, out);
  if (!plan.ok()) {
    out.status = plan.status();
    return finish();
  }
  out.plan = std::move(*plan);
  Say(request, RenderPlanText(*out.plan));
  if (!Approved(request, *out.plan)) {
    out.status = Status::FailedPrecondition("failover cancelled: nothing was changed");
    return finish();
  }
  Carry(request, *next, out);
  // After the apps moved, so it never delays the first write: what the old primary wrote that no
  // replica received, from its binlog files over SSH (its host may well be up).
  if (out.promoted) {
    auto lost_start = Clock::now();
    if (const ServerSpec* old = request.topology.FindServer(out.from)) {
      out.lost = FindLostTransactions(*old, out.decision->target_position);
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
    if (o.lost) line("  " + o.lost->why_unknown);
    line("  lost: nothing that any reachable replica had received (" + o.to + " applied up to " +
         o.decision->target_position + "). Transactions " + o.from + " committed that no replica received are not on " +
         o.to +
         (o.semi_sync ? ": semi_sync is on, so no acknowledged write is among them (unless the primary had "
                        "fallen back to asynchronous replication after semi_sync_timeout_ms)"
                      : ": semi_sync is off, so writes " + o.from + " acknowledged may be among them") +
         "; when " + o.from + " is back, `replplan plan` names them (it is then reseeded).");
  }
  if (o.promoted) {
    line(o.file_rewritten ? "  the topology file now says primary = \"" + o.to + "\": commit it"
                          : "  the topology file was NOT rewritten: set primary = \"" + o.to + "\" by hand");
  }
  if (o.kind == "failover" && o.promoted) {
    line("  " + o.from + " stays read-only when it comes back (read_only=ON in its config_file); `replplan apply` "
         "then rejoins it");
  }
  line(o.status.ok() ? "  result: done" : "  result: " + o.status.message());
  return out;
}

}  // namespace replplan
