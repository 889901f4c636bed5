// Switchover, failover and rejoin (docs/failover.md): which live primary the file's primary takes
// over from, the refusals that keep such a move from losing or diverging data, the fence of the old
// primary, the new primary's promotion steps, and a former primary rejoining as a replica.
#include <algorithm>

#include "engine/cluster_epoch.h"
#include "engine/gtid.h"
#include "engine/planner/rules.h"

namespace replplan::planner {

Result<PrimaryMove> DetectPrimaryChange(const PlanContext& ctx) {
  const Topology& topo = ctx.topology;
  const ServerSpec& primary = ctx.primary();
  const ServerState* p = ctx.primary_state();
  if (p == nullptr || !p->sql_ok) return PrimaryMove{};
  const ReplicaChannel* ch = p->DefaultChannel();
  if (ch == nullptr || ch->source_host == kSeedInProgressHost) return PrimaryMove{};
  size_t old_index = kNone;
  for (size_t i = 0; i < ctx.size(); ++i) {
    const ServerSpec& spec = ctx.spec(i);
    if (&spec != &primary && spec.address == ch->source_host && spec.mysql.port == ch->source_port) old_index = i;
  }
  if (old_index == kNone) return PrimaryMove{};
  const ServerSpec* old = &ctx.spec(old_index);
  const std::string& to = primary.name;
  const std::string& from = old->name;
  std::string refused = "cannot make " + to + " the primary: ";
  if (p->log_bin != true || p->log_slave_updates != true) {
    return Status::FailedPrecondition(refused + to + " runs without " +
                                      (p->log_bin != true ? "a binary log" : "log_slave_updates") +
                                      ", so the other replicas could not follow it; apply the configuration with "
                                      "primary = " + from + " first");
  }
  const ServerState* o = ctx.state(old_index);
  if (o == nullptr || !o->sql_ok) {
    if (ctx.options.confirmed_down != from) {
      return Status::FailedPrecondition(
          refused + to + " replicates from " + from + ", which cannot be read (" +
          (o == nullptr ? std::string("not read") : o->sql_error) + "). A switchover fences " + from +
          " first, so it needs " + from + " reachable. If " + from + " is down, run `replplan failover " +
          topo.file + "`: it confirms the failure with the replicas before it promotes anyone.");
    }
    return PrimaryMove{old, PrimaryChange{"failover", from, to}};
  }
  std::string switch_refused = "switchover from " + from + " to " + to + " refused: ";
  if (ch->io_running != "Yes" || !ch->sql_running) {
    std::string why = "IO thread: " + OrEmpty(ch->io_running) + ", SQL thread: " + (ch->sql_running ? "Yes" : "No");
    if (ch->last_io_errno != 0) why += "; IO error " + std::to_string(ch->last_io_errno) + ": " + ch->last_io_error;
    if (ch->last_sql_errno != 0) why += "; SQL error " + std::to_string(ch->last_sql_errno) + ": " + ch->last_sql_error;
    return Status::FailedPrecondition(switch_refused + to + " is not replicating from " + from + " (" + why +
                                      "); repair replication first (`replplan plan` with primary = " + from +
                                      " shows how)");
  }
  int bound = topo.replication.switchover_max_lag;
  if (ch->seconds_behind && *ch->seconds_behind > bound) {
    return Status::FailedPrecondition(switch_refused + to + " is " + std::to_string(*ch->seconds_behind) +
                                      " s behind " + from + " (the bound is switchover_max_lag = " +
                                      std::to_string(bound) + " s under [replication]); " + from +
                                      " would stay read-only while it catches up. Try again once it has.");
  }
  auto old_binlog = GtidPosition::Parse(Applied(*o));
  auto new_binlog = GtidPosition::Parse(Applied(*p));
  if (old_binlog.ok() && new_binlog.ok()) {
    // The servers are read at slightly different moments: under writes, the candidate may already
    // have applied transactions the old primary wrote after it was read. Those carry the old
    // primary's server_id and are not errant; a domain whose last event the candidate wrote (or
    // got from elsewhere) is compared.
    uint32_t old_id = o->server_id.value_or(old->server_id);
    GtidPosition own;
    for (const auto& [domain, gtid] : new_binlog->entries()) {
      if (gtid.server_id != old_id) own.Set(gtid);
    }
    std::vector<std::string> errant = old_binlog->Missing(own);
    for (std::string& c : own.Conflicting(*old_binlog)) errant.push_back(std::move(c));
    if (!errant.empty()) {
      return Status::FailedPrecondition(
          switch_refused + to + " holds transactions " + from + " does not have (errant GTIDs " +
          JoinGtidList(errant) + "): the other replicas would receive them, or fail on them, after the switch. "
          "Inspect them with mariadb-binlog on " + to + ", then remove them or reseed " + to + ".");
    }
  }
  return PrimaryMove{old, PrimaryChange{"switchover", from, to}};
}

// Whatever the rules decided, nothing that drops or overwrites data is planned against the server
// the others replicate from while it takes writes: that is where the cluster's newest writes are
// (CheckFileIsCurrent refuses the known ways to get here; this is the backstop).
Status RefuseDestructiveOnLiveSource(const PlanContext& ctx, const ActionGraph& graph) {
  const std::string& primary = ctx.primary().name;
  for (size_t i = 0; i < graph.size(); ++i) {
    const Action& a = graph.at(i);
    if (!a.destructive || a.host == primary || !IsLiveWritableSource(ctx.topology, ctx.live, a.host)) continue;
    return Status::FailedPrecondition("refusing to plan " + a.id + " (destructive): " + a.host +
                                      " is writable and the live source the other servers replicate from, so it holds "
                                      "the cluster's newest writes. Nothing was changed. If " + a.host +
                                      " is the primary now, set primary = \"" + a.host + "\" in [cluster] of " +
                                      ctx.topology.file + " (the copy a failover rewrote says so)");
  }
  return Status::OK();
}

// A server the file makes a replica but that takes writes as a primary: the old primary of a
// switchover, or one that came back writable (a partition healed, someone set read_only=OFF). It
// has written its own binlog events, which tells it from a fresh server that has taken none.
bool ActsAsPrimary(const PlanContext& ctx, const Server& server) {
  const ServerState& s = server.state;
  if (!s.sql_ok) return false;
  if (ctx.IsOldPrimary(server.spec)) return true;
  return s.read_only == false && s.DefaultChannel() == nullptr && !Applied(s).empty();
}

bool ReadOnlyIsPromotionStep(const PlanContext& ctx, const Server& server) {
  if (ctx.change() && server.is_primary) return true;
  return !server.is_primary && ActsAsPrimary(ctx, server);
}

// Only the file's primary is promoted, and only when the plan moves the primary: a switchover (the
// old primary is fenced, then waited for) or a failover (the old one is down; what was received is
// applied before the relay log is discarded).
void PlanPromotion(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  if (!ctx.change() || !server.is_primary) return;
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  const std::string& from = ctx.old_primary()->name;
  const ReplicaChannel* ch = s.DefaultChannel();
  std::string io_pos = ch != nullptr ? ch->gtid_io_pos : "";
  if (ctx.change()->kind == "switchover") {
    int timeout = std::max(5, ctx.topology.replication.switchover_max_lag);
    Action& w = plan.Add(spec.name, ActionKind::kWaitForCatchUp);
    w.summary = "wait until " + spec.name + " has applied all of " + from + "'s binary log (at most " +
                std::to_string(timeout) + " s)";
    std::string lag = ch != nullptr && ch->seconds_behind ? std::to_string(*ch->seconds_behind) + " s" : "unknown";
    w.reasons = {"no acknowledged write of " + from + " may be left behind (lag now: " + lag + ")"};
    w.changes = {{"gtid_slave_pos", OrEmpty(s.gtid_slave_pos), from + "'s @@gtid_binlog_pos once fenced", false}};
    w.SetArgs(WaitForCatchUpArgs{from, timeout});
  } else {
    Action& r = plan.Add(spec.name, ActionKind::kApplyRelayLog);
    r.summary = "stop the IO thread and apply " + spec.name + "'s relay log up to what it received (" +
                OrEmpty(io_pos) + ")";
    r.reasons = {from + " is down (confirmed by the replicas); RESET SLAVE ALL would discard what " + spec.name +
                 " received but has not applied yet"};
    r.changes = {{"gtid_current_pos", OrEmpty(s.gtid_current_pos), OrEmpty(io_pos), false}};
    r.SetArgs(ApplyRelayLogArgs{from, 300});
  }
  Action& a = plan.Add(spec.name, ActionKind::kPromoteReplica);
  a.summary = "promote " + spec.name + ": STOP SLAVE, RESET SLAVE ALL, read_only=OFF";
  a.reasons = {"the file makes " + spec.name + " the primary; it replicates from " + from};
  a.changes = {{"master_host", ch != nullptr ? ch->source_host : "", "", false},
               {"read_only", OnOff(s.read_only), "OFF", false}};
  if (ctx.topology.replication.semi_sync) {
    a.changes.push_back({"rpl_semi_sync_master_enabled", OnOff(s.semi_sync_master_enabled), "ON", false});
  }
  a.SetArgs(PromoteReplicaArgs{from});
  plan.report(server.index).notes.push_back(ctx.change()->kind + ": " + spec.name + " takes over from " + from);
}

// A server the file makes a replica but that ActsAsPrimary stops taking writes before the file's
// primary takes them.
void PlanFence(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  if (server.is_primary || !ActsAsPrimary(ctx, server)) return;
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  Action& a = plan.Add(spec.name, ActionKind::kFencePrimary);
  a.summary = "fence " + spec.name + ": kill sessions waiting for a semi-sync ACK, then read_only=ON";
  a.reasons = {spec.name +
               (ctx.IsOldPrimary(spec) ? " is the live primary" : " is writable and replicates from no one") +
               ": it must stop taking writes before " + ctx.primary().name + " takes them"};
  a.changes = {{"read_only", OnOff(s.read_only), "ON"}};
  // What the executor does besides (FencePrimary): the primary side of semi-sync goes off with it.
  if (ctx.topology.replication.semi_sync) {
    a.changes.push_back({"rpl_semi_sync_master_enabled", OnOff(s.semi_sync_master_enabled), "OFF", false});
  }
}

// A replica with no channel that has written binlog events (a former primary, or a replica whose
// channel was reset) rejoins from its own binlog position when the primary has all of it, and is
// reseeded when it holds transactions the primary lacks.
bool PlanRejoin(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  HostReport& report = plan.report(server.index);
  const std::string& p = ctx.primary().name;
  if (ctx.change() && ctx.change()->kind == "switchover" && ctx.IsOldPrimary(spec)) {
    // The catch-up step guarantees the new primary holds all of it before this runs.
    AddChangeSource(ctx, server, s.DefaultChannel(),
                    {spec.name + " hands over to " + p + " and follows it from its own binlog position"}, false, true,
                    plan);
    AddStart(server, {spec.name + " becomes a replica of " + p}, plan);
    return true;
  }
  if (s.DefaultChannel() != nullptr || ctx.topology.replication.mode != ReplicationMode::kGtid || Applied(s).empty()) {
    return false;
  }
  const ServerState* ps = ctx.primary_state();
  if (ps == nullptr || !ps->sql_ok) {
    report.notes.push_back(spec.name + " replicates from no one and has written binlog events; whether it can "
                           "rejoin by GTID is decided once " + p + " can be read");
    return true;
  }
  auto mine = GtidPosition::Parse(Applied(s));
  auto theirs = GtidPosition::Parse(Applied(*ps));
  if (!mine.ok() || !theirs.ok()) {
    report.notes.push_back("cannot compare GTID positions of " + spec.name + " and " + p + ": " +
                           (!mine.ok() ? mine.status() : theirs.status()).message());
    return true;
  }
  std::vector<std::string> errant = theirs->Missing(*mine);
  for (std::string& c : theirs->Conflicting(*mine)) errant.push_back(std::move(c));
  if (errant.empty()) {
    AddChangeSource(ctx, server, nullptr,
                    {spec.name + " replicates from no one; everything it holds (" + Applied(s) + ") is on " + p +
                     ", so it rejoins by GTID"},
                    false, true, plan);
    AddStart(server, {spec.name + " rejoins as a replica of " + p}, plan);
    return true;
  }
  // Transactions the primary lacks: what happens is cluster.errant_transactions' choice (errant.cc),
  // as for a replica that wrote them while replicating.
  if (!ctx.change() && PlanErrantReplica(ctx, server, plan)) return true;
  std::string lost = JoinGtidList(errant);
  if (ctx.change() && ctx.topology.cluster.errant_transactions != ErrantRemedy::kReseed) {
    report.notes.push_back(spec.name + " holds transactions " + p + " lacks (" + lost + "): nothing is planned for " +
                           spec.name + " during the " + ctx.change()->kind + "; the next plan applies "
                           "cluster.errant_transactions to it");
    return true;
  }
  report.notes.push_back(spec.name + " holds transactions " + p + " lacks (" + lost +
                         "): it cannot rejoin by GTID and is reseeded (cluster.errant_transactions = reseed); "
                         "inspect its binlog first if they matter");
  AddSeed(ctx, server, {spec.name + " holds transactions " + p + " lacks (" + lost + "); a seed replaces its data"},
          true, plan);
  AddChangeSource(ctx, server, nullptr, {"replicate from the seed's position"}, true, false, plan);
  AddStart(server, {spec.name + " rejoins as a replica of " + p}, plan);
  return true;
}

void NoteRuntimeUnknown(const PlanContext& ctx, const ServerSpec& spec, bool restart_planned, HostReport& report) {
  // A planned (re)start is the remedy for why it cannot be read: apply reads it again after.
  report.notes.push_back(restart_planned ? "runtime unknown until the restart: apply then reads " + spec.name +
                                               " again and carries out any SQL or replication change left"
                                         : "runtime unknown: no restart, SQL or replication change is planned for " +
                                               spec.name + " until it can be read");
  if (ctx.IsOldPrimary(spec)) {
    report.notes.push_back(spec.name + " is down (confirmed by the replicas); when it is back it stays read-only "
                           "(its config_file says read_only=ON) and the next apply rejoins it by GTID, or, if it "
                           "holds transactions " + ctx.primary().name + " lacks, does what "
                           "cluster.errant_transactions says (refuse, inject-empty or reseed)");
  }
}

}  // namespace replplan::planner
