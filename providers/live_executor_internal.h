// The live executor's class, shared by the files that implement its actions: live_executor.cc
// (configuration, accounts, replication) and promotion_actions.cc (switchover and failover steps,
// apps). Not a contract: only providers/live_executor.h is. Include it from those two files only.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/action.h"
#include "engine/executor.h"
#include "engine/live_state.h"
#include "engine/secret.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/session_pool.h"
#include "providers/ssh/atomic_write.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {
namespace internal {

// Helpers both implementation files use (defined in live_executor.cc).

// A row's column, "" when absent.
std::string Field(const Row& row, const std::string& name);
// "stale plan: <id> <why> (plan again)": the plan no longer matches the topology.
std::string StalePlan(const Action& action, const std::string& why);
// The last lines of a command's stderr on one line: enough to see why, short enough for an error.
std::string Tail(const std::string& text);

struct Host {
  const ServerSpec* spec = nullptr;
  std::mutex mutex;  // held for a whole action: one action per host at a time
  std::unique_ptr<MysqlConnection> sql;
  std::unique_ptr<SshSession> ssh;
  // database.yml files this executor replaced on this host, with the digest of what it wrote:
  // restart-app then knows the app has not been restarted with that content yet, without reading.
  std::map<std::string, std::string> rewritten;
};

class LiveExecutor : public ActionExecutor {
 public:
  LiveExecutor(Topology topology, SessionPool* pool);
  ~LiveExecutor() override;
  Status Execute(const Action& action, const ProgressFn& progress) override;

 private:
  Status Dispatch(const Action& action, Host& host, const ProgressFn& progress);

  Status EditConfig(const Action& action, Host& host);
  Status RestartServer(const Action& action, Host& host);
  Status SetGlobal(const Action& action, Host& host);
  Status EnsureReplicationUser(const Action& action, Host& host);
  Status CreateDatabase(const Action& action, Host& host);
  Status EnsureDeclaredUser(const Action& action, Host& host, bool create);
  Status ChangeSource(const Action& action, Host& host);
  Status StartReplica(const Action& action, Host& host);
  Status ResetReplica(const Action& action, Host& host);
  Status SeedReplicaAction(const Action& action, Host& host, const ProgressFn& progress);

  // Promotion and apps (promotion_actions.cc).
  Status FencePrimary(const Action& action, Host& host, const ProgressFn& progress);
  Status WaitForCatchUp(const Action& action, Host& host, const ProgressFn& progress);
  Status ApplyRelayLog(const Action& action, Host& host, const ProgressFn& progress);
  Status PromoteReplica(const Action& action, Host& host);
  Status RewriteAppConfig(const Action& action, Host& host);
  Status RestartApp(const Action& action, Host& host, const ProgressFn& progress);
  Status CheckHealth(const Action& action, Host& host, const ProgressFn& progress);
  // Waits with MASTER_GTID_WAIT in short slices until `host` applied `position`, failing at once
  // when its SQL thread stops with an error; `why` names the wait in progress and errors.
  Status WaitForApplied(Host& host, const std::string& position, int timeout_s, const std::string& why,
                        const ProgressFn& progress, bool* timed_out);
  // The [[app]] the action's "app" param names, with the action's host among its hosts.
  Result<const AppSpec*> AppOf(const Action& action) const;
  // A server the action's param `key` names, other than the action's own host.
  Result<const ServerSpec*> OtherServer(const Action& action, const std::string& key) const;

  // Connections, opened on first use; a transport failure drops them so the next use reconnects.
  Result<MysqlConnection*> Sql(Host& host, int connect_timeout_ms = 0);
  Result<SshSession*> Ssh(Host& host);
  Result<std::unique_ptr<SshSession>> OpenSsh(const ServerSpec& spec, int command_timeout_ms) const;
  Result<std::vector<Row>> Query(Host& host, const std::string& sql, const std::string& what,
                                 const std::vector<const Secret*>& also_redact = {});
  Status Exec(Host& host, const std::string& sql, const std::string& what,
              const std::vector<const Secret*>& also_redact = {});
  // Replica status, parsed by engine/live_state.h ParseReplicaChannel (its one parser).
  // SHOW SLAVE STATUS: the default channel, nullopt when there is none.
  Result<std::optional<ReplicaChannel>> ReplicaStatus(Host& host);
  // SHOW ALL SLAVES STATUS: every channel; only this statement reports the heartbeat period.
  Result<std::vector<ReplicaChannel>> AllReplicaChannels(Host& host);
  Result<bool> AccountExists(Host& host, const std::string& user, const std::string& host_part);
  Result<std::vector<std::string>> GrantsOf(Host& host, const std::string& account);
  std::string IdentifiedByHash(const Secret& password) const;

  // Static settings of `settings` that the running server does not have, in words.
  Result<std::vector<std::string>> StaticMismatches(Host& host, const std::vector<std::string>& settings);
  Status WaitForSql(Host& host);
  std::string ReplicaFailure(const Host& host, const ReplicaChannel& channel, const std::string& what) const;

  Result<const Secret*> SecretOf(const SecretRef& ref, const std::string& what) const;
  Status Redact(const Status& status) const;

  Topology topology_;
  SessionPool* pool_;  // may be null
  std::map<std::string, std::unique_ptr<Host>> hosts_;  // fixed after construction: lookups need no lock
  std::map<std::pair<SecretRef::Kind, std::string>, Result<Secret>> secrets_;
  std::vector<const Secret*> all_secrets_;
};

}  // namespace internal
}  // namespace replplan
