// Errant transactions (issue 14): a replica holding GTIDs the file's primary lacks, written on the
// replica. The primary's next write in that domain collides with them (1950), and a promotion of the
// replica would hand them to every server. What the plan does is the file's choice,
// cluster.errant_transactions (docs/conditions.md):
//   refuse        the plan names them, explains both remedies, plans nothing that would collide
//                 (no replication change on that replica, no replicated statement on the primary)
//                 and is incomplete (HostReport::unresolved);
//   inject-empty  the primary commits an empty transaction with each errant GTID, binlogged, so its
//                 position contains the replica's and every replica receives them; the replica's
//                 own rows stay on it alone. Not possible for a conflict (one seq, two writers) or
//                 beyond kMaxInjectedTransactions: those stay unresolved, with the reseed named;
//   reseed        the replica is reseeded from the primary (DESTRUCTIVE).
// Two kinds of replica: one that follows a channel, and one with no channel that wrote binlog
// events (a former primary that took writes after a failover, or a replica whose channel was
// reset), which PlanRejoin hands over here once it found errant GTIDs. The latter rejoins after the
// injection from its own binlog position, and only when the primary's last transaction of each
// errant domain is known to be on it as well: a position records only a domain's last GTID, so a
// primary that wrote since the two parted (a failover's new primary) may hold transactions the
// rejoining server lacks, and a rejoin would skip them silently. Under a primary change none of
// this applies (the new primary is promoted first; a primary change refuses errant candidates
// itself).
#include "engine/conditions.h"
#include "engine/gtid.h"
#include "engine/planner/rules.h"
#include "engine/text.h"

namespace replplan::planner {
namespace {

bool Applies(const PlanContext& ctx, const Server& server) {
  if (server.is_primary || ctx.change() || ctx.topology.replication.mode != ReplicationMode::kGtid) return false;
  const ServerState* p = ctx.primary_state();
  if (p == nullptr || !p->sql_ok || !server.state.sql_ok) return false;
  const ReplicaChannel* c = server.state.DefaultChannel();
  if (c == nullptr) return !Applied(server.state).empty();  // rejoins: what it wrote is compared
  return c->source_host != kSeedInProgressHost;
}

bool Rejoins(const Server& server) { return server.state.DefaultChannel() == nullptr; }

// For a server with no channel: the first errant domain whose primary's last GTID is not known to
// be on the server as well ("0-2-51"), "" when each is. Known: the server wrote it itself (its own
// server_id; strict GTID numbering puts it in its binlog) or applied it last from a source (its
// gtid_slave_pos holds exactly it). A domain the primary never saw holds nothing to lack.
std::string PrimaryAheadUnknown(const PlanContext& ctx, const Server& server, const ErrantGtids& errant) {
  auto theirs = GtidPosition::Parse(Applied(*ctx.primary_state()));
  auto slave = GtidPosition::Parse(server.state.gtid_slave_pos);
  if (!theirs.ok()) return "(unparsed)";
  for (const GtidRange& r : errant.ahead) {
    std::optional<Gtid> last = theirs->Find(r.domain);
    if (!last) continue;
    if (server.state.server_id && last->server_id == *server.state.server_id) continue;
    std::optional<Gtid> applied = slave.ok() ? slave->Find(r.domain) : std::nullopt;
    if (applied && *applied == *last) continue;
    return last->ToString();
  }
  return "";
}

uint64_t Count(const ErrantGtids& errant) {
  uint64_t total = 0;
  for (const GtidRange& r : errant.ahead) total += r.count();
  return total;
}

// Whether inject-empty can reconcile them: only ranges the primary lacks entirely, not too many,
// and for a server that rejoins, nothing of the primary's it could lack in those domains.
bool Injectable(const PlanContext& ctx, const Server& server, const ErrantGtids& errant) {
  if (!errant.conflicting.empty() || errant.ahead.empty() || Count(errant) > kMaxInjectedTransactions) return false;
  return !Rejoins(server) || PrimaryAheadUnknown(ctx, server, errant).empty();
}

bool Unresolved(const PlanContext& ctx, const Server& server, const ErrantGtids& errant) {
  switch (ctx.topology.cluster.errant_transactions) {
    case ErrantRemedy::kRefuse: return true;
    case ErrantRemedy::kInjectEmpty: return !Injectable(ctx, server, errant);
    case ErrantRemedy::kReseed: return false;
  }
  return true;
}

}  // namespace

std::optional<ErrantGtids> ErrantOn(const PlanContext& ctx, const Server& server) {
  if (!Applies(ctx, server)) return std::nullopt;
  const ServerState& p = *ctx.primary_state();
  // A server with no channel receives nothing from the primary: no domain is left out as one it may
  // just have received (FindErrant's server_id rule), server_id 0 being no server's.
  const uint32_t primary_id = Rejoins(server) ? 0 : p.server_id.value_or(ctx.primary().server_id);
  auto errant = FindErrant(Applied(server.state), Applied(p), primary_id);
  if (!errant || errant->empty()) return std::nullopt;
  return errant;
}

bool ErrantUnresolvedAnywhere(const PlanContext& ctx) {
  for (size_t i = 0; i < ctx.size(); ++i) {
    if (ctx.state(i) == nullptr) continue;
    auto errant = ErrantOn(ctx, ctx.server(i));
    if (errant && Unresolved(ctx, ctx.server(i), *errant)) return true;
  }
  return false;
}

void PlanInjectEmpty(const PlanContext& ctx, const Server& primary, PlanBuilder& plan) {
  if (!primary.is_primary || ctx.topology.cluster.errant_transactions != ErrantRemedy::kInjectEmpty) return;
  for (size_t i = 0; i < ctx.size(); ++i) {
    if (ctx.state(i) == nullptr) continue;
    const Server replica = ctx.server(i);
    auto errant = ErrantOn(ctx, replica);
    if (!errant || !Injectable(ctx, replica, *errant)) continue;
    const std::string& name = replica.spec.name;
    const std::string listed = JoinGtidList(errant->Listed());
    const uint64_t n = Count(*errant);
    Action& a = plan.Add(primary.spec.name, ActionKind::kInjectEmptyTransactions, name);
    a.summary = "commit " + std::to_string(n) + " empty transaction" + (n == 1 ? "" : "s") + " on " +
                primary.spec.name + " with " + name + "'s errant GTIDs " + listed + " (binary log on, replicated)";
    a.reasons = {name + " holds transactions " + primary.spec.name + " lacks (" + listed +
                     "): once " + primary.spec.name + "'s position contains them, its next writes no longer collide "
                     "with them (1950)",
                 "cluster.errant_transactions = inject-empty: the rows " + name + " wrote stay on " + name +
                     " alone; the other servers receive only the empty transactions"};
    a.changes = {{"gtid_binlog_pos", OrEmpty(primary.state.gtid_binlog_pos), "contains " + listed, false}};
    a.SetArgs(InjectEmptyTransactionsArgs{name, errant->ahead});
  }
}

bool PlanErrantReplica(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  auto errant = ErrantOn(ctx, server);
  if (!errant) return false;
  const std::string& name = server.spec.name;
  const std::string& p = ctx.primary().name;
  const std::string listed = JoinGtidList(errant->Listed());
  const ErrantRemedy remedy = ctx.topology.cluster.errant_transactions;
  HostReport& report = plan.report(server.index);
  if (remedy == ErrantRemedy::kReseed) {
    report.notes.push_back(name + " holds errant transactions " + listed + " (GTIDs " + p +
                           " lacks): reseeded, as cluster.errant_transactions = reseed says; what " + name +
                           " wrote itself is lost");
    AddSeed(ctx, server,
            {"reseed: " + name + " holds transactions " + p + " lacks (" + listed +
             "), and cluster.errant_transactions = reseed; a seed replaces its data with " + p + "'s"},
            true, plan);
    AddChangeSource(ctx, server, server.state.DefaultChannel(),
                    {Rejoins(server) ? "replicate from the seed's position" : "restart replication at the seed's position"},
                    true, false, plan);
    AddStart(server, {name + (Rejoins(server) ? " rejoins as a replica of " : " replicates from ") + p +
                      (Rejoins(server) ? "" : " again")},
             plan);
    return true;
  }
  if (!Unresolved(ctx, server, *errant)) {
    report.notes.push_back(name + " holds errant transactions " + listed + ": " + p +
                           " commits empty transactions with these GTIDs (cluster.errant_transactions = "
                           "inject-empty); the rows " + name + " wrote stay on " + name + " alone");
    if (!Rejoins(server)) return false;  // replication goes on as it is; the primary's step reconciles the positions
    // No channel: once the primary holds its GTIDs, everything it has is on the primary, and it
    // rejoins by GTID from its own binlog position (the change waits for the injection).
    AddChangeSource(ctx, server, nullptr,
                    {name + " replicates from no one; once " + p + " holds its errant GTIDs " + listed +
                     " (empty there), everything it has is on " + p + ", so it rejoins by GTID"},
                    false, true, plan);
    AddStart(server, {name + " rejoins as a replica of " + p}, plan);
    return true;
  }
  const std::string file = ctx.topology.file;
  std::string why;
  if (remedy == ErrantRemedy::kInjectEmpty) {
    const std::string unknown = Rejoins(server) ? PrimaryAheadUnknown(ctx, server, *errant) : "";
    why = !errant->conflicting.empty()
              ? "cluster.errant_transactions = inject-empty cannot reconcile " + JoinGtidList(errant->conflicting) +
                    " (" + p + " wrote another transaction under the same number): only a reseed can"
          : Count(*errant) > kMaxInjectedTransactions
              ? "cluster.errant_transactions = inject-empty stops at " + std::to_string(kMaxInjectedTransactions) +
                    " empty transactions, and " + name + " has " + std::to_string(Count(*errant)) + ": reseed it"
              : "cluster.errant_transactions = inject-empty cannot rejoin " + name + ": " + p +
                    "'s last transaction of that domain, " + unknown + ", is not known to be on " + name +
                    " (it did not write it and did not apply it last), so " + p +
                    " may hold writes " + name + " lacks, which a rejoin would skip: only a reseed is safe";
  } else {
    why = "cluster.errant_transactions = refuse in " + file + " (also when unset): choose a remedy there";
  }
  report.notes.push_back(
      "errant transactions " + listed + " on " + name + " (written there; " + p +
      " lacks them): no replication change is planned for " + name + ", and no replicated statement on " + p +
      ", so nothing collides with them (1950). Inspect them first: mariadb-binlog on " + name +
      "'s binary log shows each GTID's statements");
  report.notes.push_back(
      "the remedies: errant_transactions = \"inject-empty\" (" + p +
      " commits an empty transaction with each errant GTID, so replication goes on; the rows " + name +
      " wrote stay on it alone, the other servers never get them: choose it when those writes were a mistake or "
      "are copied to " + p + " by hand); errant_transactions = \"reseed\" (DESTRUCTIVE: " + name +
      "'s data is replaced by " + p + "'s and its own writes are lost: choose it when " + name +
      " must hold exactly what " + p + " holds, or the GTIDs conflict)");
  report.unresolved.push_back("errant transactions " + listed + " on " + name + ": " + why);
  return true;
}

}  // namespace replplan::planner
