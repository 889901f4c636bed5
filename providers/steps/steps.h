// The executor's steps: what each kind of action does to one server, as a free function over that
// server's ServerSession (providers/server_session.h) and a small context. LiveExecutor
// (providers/live_executor.h) keeps only the hosts, their sessions, the per-host lock and the
// dispatch from an action's kind to its step; a unit test can run a step on a fake server
// (providers/testing/fake_server.h) through the executor or directly.
//
// The steps, by family, one file each:
//   config_steps.cc       edit-config, restart-server, set-global
//   account_steps.cc      create-replication-user, create-database, create-user, grant-privileges
//   replication_steps.cc  seed-replica, change-source, start-replica, reset-replica,
//                         inject-empty-transactions
//   promotion_steps.cc    fence-primary, wait-for-catch-up, apply-relay-log, promote-replica
//   app_steps.cc          rewrite-app-config, restart-app, check-health
//   step_context.cc       what several families share (below)
//
// Invariants (every step):
// - Idempotent: it reads the server (or file) first and does only what is still missing, so an
//   apply killed anywhere and run again converges, and a step run twice changes nothing the second
//   time. Why each promotion step exists is in docs/failover.md.
// - Its args are its kind's (Action::Args<T>); every object they name (server, user, database,
//   grant, app) is looked up in the topology, and a name it lacks fails with "stale plan ..."
//   before anything changes. SQL values go through engine/sql_quote.h, shell arguments through
//   engine/shell_quote.h.
// - It speaks to its server only through `session`, and to another one only through a session of
//   its own from `sessions` (seeding too: providers/seeder.h opens one on each side and streams
//   over them). Its error text may hold a secret only where the session redacts it; the executor redacts
//   every message of every secret the topology names (ResolvedSecrets::all) on the way out.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/action.h"
#include "engine/executor.h"
#include "engine/live_state.h"
#include "engine/secret.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "providers/server_session.h"

namespace replplan {
namespace steps {

// Every secret the topology names, resolved once, so every error text can be redacted of all of
// them whichever step failed. One that cannot be resolved fails only the steps that need it.
class ResolvedSecrets {
 public:
  explicit ResolvedSecrets(const Topology& topology);
  // The secret `ref` names; `what` names it in errors ("replication password").
  Result<const Secret*> Of(const SecretRef& ref, const std::string& what) const;
  // Every secret resolved (for RedactSecrets).
  const std::vector<const Secret*>& all() const { return all_; }

 private:
  std::map<std::pair<SecretRef::Kind, std::string>, Result<Secret>> secrets_;
  std::vector<const Secret*> all_;
};

// What a step is given: the server it changes, that server's session, and what it may use besides.
struct StepContext {
  const Topology& topology;
  const ServerSpec& server;   // the action's host
  ServerSession& session;     // its session, the step's alone while it runs (the per-host lock)
  const ResolvedSecrets& secrets;
  const ProgressFn& progress;  // may be empty
  // Sessions of their own, to this server or another: a restart command (its own bound), an app's
  // restart (on a standby shell when the factory's pool keeps one), another server's position.
  SessionFactory& sessions;
  // database.yml files the executor replaced on this server, with the digest of what it wrote:
  // restart-app then knows the app has not been restarted with that content yet, without reading.
  std::map<std::string, std::string>& rewritten;
  int health_timeout_s;  // check-health's bound (LiveExecutorOptions)
};

// --- configuration (config_steps.cc) ------------------------------------------------------------
Status EditConfig(const StepContext& ctx, const Action& action);
Status RestartServer(const StepContext& ctx, const Action& action);
Status SetGlobal(const StepContext& ctx, const Action& action);

// --- accounts and databases (account_steps.cc) ------------------------------------------------
Status CreateReplicationUser(const StepContext& ctx, const Action& action);
Status CreateDatabase(const StepContext& ctx, const Action& action);
Status CreateUser(const StepContext& ctx, const Action& action);
// The replication account's grant (as create-replication-user), or a declared user's.
Status GrantPrivileges(const StepContext& ctx, const Action& action);

// --- replication (replication_steps.cc) ---------------------------------------------------------
Status SeedReplica(const StepContext& ctx, const Action& action);
Status ChangeSource(const StepContext& ctx, const Action& action);
Status StartReplica(const StepContext& ctx, const Action& action);
Status ResetReplica(const StepContext& ctx, const Action& action);
Status InjectEmptyTransactions(const StepContext& ctx, const Action& action);
// skip-transaction: checks the SQL thread still stops on a row event error at the plan's GTID,
// stops replication and sets gtid_slave_pos past that one transaction (start-replica follows);
// file/position: at the plan's Relay_Master_Log_File:Exec_Master_Log_Pos, then
// sql_slave_skip_counter = 1 (one event group, skipped when start-replica starts the SQL thread).
Status SkipTransaction(const StepContext& ctx, const Action& action);

// --- switchover and failover (promotion_steps.cc) -----------------------------------------------
Status FencePrimary(const StepContext& ctx, const Action& action);
Status WaitForCatchUp(const StepContext& ctx, const Action& action);
Status ApplyRelayLog(const StepContext& ctx, const Action& action);
Status PromoteReplica(const StepContext& ctx, const Action& action);

// --- apps (app_steps.cc) ------------------------------------------------------------------------
Status RewriteAppConfig(const StepContext& ctx, const Action& action);
Status RestartApp(const StepContext& ctx, const Action& action);
Status CheckHealth(const StepContext& ctx, const Action& action);

// --- shared by the step files (step_context.cc) -------------------------------------------------
// "stale plan: <id> <why> (plan again)": the plan no longer matches the topology.
std::string StalePlan(const Action& action, const std::string& why);
// A row's column, "" when absent.
std::string Field(const Row& row, const std::string& name);
// The last lines of a command's stderr on one line: enough to see why, short enough for an error.
std::string Tail(const std::string& text);
// Charset and collation names, binlog file names: a narrow alphabet, so they can be written bare.
bool IsPlainName(const std::string& s, const std::string& extra = "_");
// A progress line, when there is a progress callback.
void Say(const StepContext& ctx, const std::string& line);
// "1.25 s"
std::string Seconds(double s);
// The replica's own error text and what usually fixes it ("uranus: <what> (Slave_IO_Running: ...)").
std::string ReplicaFailure(const StepContext& ctx, const ReplicaChannel& channel, const std::string& what);

// STOP SLAVE [IO_THREAD] that does not wait on a silent source. On a semi-sync replica STOP SLAVE
// ends its IO thread by first connecting to the source to end its dump thread, which waits 2 s on a
// frozen or partitioned source (measured: docs/failover.md, "Stopping a replica whose source is
// silent"); an IO thread killed first (KILL CONNECTION) skips that and ends at STOP SLAVE's signal.
// So when `channel` (the default channel, as the caller just read it) has its IO thread waiting for
// an event and it is the server's only IO thread in information_schema.PROCESSLIST, it is killed,
// then STOP SLAVE is sent on a connection of its own whose read timeout is kStopAfterKillBoundMs.
// Otherwise (no IO thread, several channels, an IO thread connecting, which a KILL does not
// interrupt) it is the plain STOP SLAVE on the step's session. Nothing is lost: the IO thread
// writes only whole events to the relay log, as when STOP SLAVE alone ends it. A refused KILL or a
// STOP past the bound fails naming the server and the statement, with nothing sent after it.
inline constexpr int kStopAfterKillBoundMs = 1000;
Status StopReplicaNow(const StepContext& ctx, const ReplicaChannel& channel, ReplicaThreads threads);

}  // namespace steps
}  // namespace replplan
