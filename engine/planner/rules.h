// The planner's rules, by family, one file each under engine/planner/. A rule reads the plan's
// context (the inputs, each server as a (spec, state) pair, the primary change) and adds actions,
// notes or edges through the builder; it never looks a server up by name (an [[app]] names its
// hosts: PlanApps pairs them once) and never changes the context. engine/planner.cc runs them: for
// each host in file order its action rules, then the destructive-action backstop, the apps, and
// last the ordering rules over every host.
//
// The order in which a host's rules run is the order its actions enter the plan, and with it the
// plan's stable execution order and its text: moving a rule is a change of behaviour. Edges are a
// set (ActionGraph lists an action's dependencies in the order they were added), so only which
// edges a rule adds counts, not when.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/action_graph.h"
#include "engine/conditions.h"
#include "engine/live_state.h"
#include "engine/planner/builder.h"
#include "engine/planner/context.h"
#include "engine/status.h"

namespace replplan::planner {

// --- Primary change: switchover, failover, fence, rejoin (primary_change.cc, docs/failover.md) --

// Which live primary the file's primary takes over from, if any: the declared server the file's
// primary replicates from. Refuses (the whole plan) when that move cannot be made without losing or
// diverging data, or when the old primary cannot be read and is not confirmed down.
Result<PrimaryMove> DetectPrimaryChange(const PlanContext& ctx);
// Nothing that drops or overwrites data is planned against the live writable source of the other
// servers: the backstop over every action planned so far.
Status RefuseDestructiveOnLiveSource(const PlanContext& ctx, const ActionGraph& graph);
// A server the file makes a replica but that takes writes as a primary.
bool ActsAsPrimary(const PlanContext& ctx, const Server& server);
// Whether read_only on `server` is set by a fence or a promotion rather than by set-global.
bool ReadOnlyIsPromotionStep(const PlanContext& ctx, const Server& server);
// The file's primary takes over (ctx.change() set): wait-for-catch-up or apply-relay-log, then
// promote-replica.
void PlanPromotion(const PlanContext& ctx, const Server& server, PlanBuilder& plan);
// fence-primary for a server the file makes a replica that ActsAsPrimary.
void PlanFence(const PlanContext& ctx, const Server& server, PlanBuilder& plan);
// A replica that wrote its own binlog events rejoins from its binlog position, or is reseeded when
// it holds transactions the primary lacks. False when this does not apply (PlanReplica decides).
bool PlanRejoin(const PlanContext& ctx, const Server& server, PlanBuilder& plan);
// The notes of a host whose SQL side could not be read; `restart_planned`: a (re)start of it is
// planned (listening-elsewhere, server-down), after which apply reads it again.
void NoteRuntimeUnknown(const PlanContext& ctx, const ServerSpec& spec, bool restart_planned, HostReport& report);

// --- Server config: config_file, restart, SET GLOBAL, semi-sync (server_config.cc) -------------

// edit-config for every managed key that differs, and restart-server when a static setting runs
// with another value than the one wanted. Returns whether a restart is planned.
bool PlanConfig(const PlanContext& ctx, const Server& server, PlanBuilder& plan);
// set-global for the dynamic settings, and the primary's semi-sync once the replicas replicate.
void PlanRuntime(const PlanContext& ctx, const Server& server, bool restart_planned, PlanBuilder& plan);

// --- Accounts and primary objects (accounts.cc) --------------------------------------------------

// The replication account on every server, with binary logging off.
void PlanReplicationUser(const PlanContext& ctx, const Server& server, PlanBuilder& plan);
// The declared databases, users and grants, on the primary only (they replicate).
void PlanPrimaryObjects(const PlanContext& ctx, const Server& server, PlanBuilder& plan);

// --- Replicas: seed, change-source, start, reset (replicas.cc) ----------------------------------

// The primary forgets every channel it replicates from (reset-replica), except the default one a
// promotion resets itself.
void PlanForgetSources(const PlanContext& ctx, const Server& server, PlanBuilder& plan);
// A replica replicates from the file's primary, with the file's settings, both threads running.
void PlanReplica(const PlanContext& ctx, const Server& server, PlanBuilder& plan);
// seed-replica from the file's primary; destructive when the replica holds data already.
void AddSeed(const PlanContext& ctx, const Server& server, std::vector<std::string> reasons, bool destructive,
             PlanBuilder& plan);
// change-source to the file's primary. `channel`: the current default channel (null: none);
// `seeded`: from the seed's position; `from_binlog`: from the server's own binlog position. The
// action returned is valid until the next Add.
Action& AddChangeSource(const PlanContext& ctx, const Server& server, const ReplicaChannel* channel,
                        std::vector<std::string> reasons, bool seeded, bool from_binlog, PlanBuilder& plan);
// start-replica.
void AddStart(const Server& server, std::vector<std::string> reasons, PlanBuilder& plan);

// --- Errant transactions (errant.cc): cluster.errant_transactions chooses the remedy -----------

// What a replica that follows the file's primary holds and the primary lacks (GTID mode, no primary
// change, both read); nullopt when nothing, or when this does not apply.
std::optional<ErrantGtids> ErrantOn(const PlanContext& ctx, const Server& server);
// Whether some replica's errant transactions stay unresolved (refuse, or what inject-empty cannot
// reconcile): the primary's replicated statements would collide with them and are held back.
bool ErrantUnresolvedAnywhere(const PlanContext& ctx);
// On the primary, under inject-empty: inject-empty-transactions for each replica's errant GTIDs.
void PlanInjectEmpty(const PlanContext& ctx, const Server& primary, PlanBuilder& plan);
// On a replica with errant transactions: reseed (seed, change-source, start), or notes and an
// unresolved entry with nothing planned for its replication. True when it decided the replica's
// replication (PlanReplica is then not run); false when there is nothing errant, or under
// inject-empty where replication goes on as it is.
bool PlanErrantReplica(const PlanContext& ctx, const Server& server, PlanBuilder& plan);

// --- Apps (apps.cc) ------------------------------------------------------------------------------

// Where PlanApps put each app's steps, for LinkApps.
struct AppSteps {
  std::vector<std::pair<size_t, size_t>> rewrite_restart;  // (rewrite or kNone, restart) per app host
  size_t check = kNone;
};
// rewrite-app-config and restart-app on every [[app]] host not pointed at the file's primary, and
// one check-health per app with a health URL. Runs after every host was flushed.
std::vector<AppSteps> PlanApps(const PlanContext& ctx, PlanBuilder& plan);

// --- Ordering: the "must happen before" edges (ordering.cc) -------------------------------------

// The edges of server `index`'s actions, to its own actions and to the primary's.
void LinkHost(const PlanContext& ctx, size_t index, PlanBuilder& plan);
// Whether some replica replicates from the file's primary now: a cluster that serves, whose
// replicas restart before its primary. Otherwise (a bootstrap) the primary goes first, as the
// replicas' seeds and sources wait for it anyway.
bool Serving(const PlanContext& ctx);
// The replica a serving primary's restart switches over to: one that replicates from it with both
// threads running and may be promoted (and runs with log_bin and log_slave_updates, or can be
// restarted with them: its config_file was read), the least behind (promotion = "prefer" first on a tie, then
// file order); none when there is none.
std::optional<Server> SwitchoverCandidate(const PlanContext& ctx);
// Restarts one at a time: replicas in file order, then the primary (a bootstrap: the primary
// first), then a move's old primary.
void LinkRestarts(const PlanContext& ctx, PlanBuilder& plan);
// Apps move only once the primary they will write to is ready.
void LinkApps(const PlanContext& ctx, const std::vector<AppSteps>& apps, PlanBuilder& plan);

}  // namespace replplan::planner
