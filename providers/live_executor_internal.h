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
#include "providers/server_session.h"
#include "providers/session_pool.h"
#include "providers/ssh/atomic_write.h"

namespace replplan {
namespace internal {

// Helpers both implementation files use (defined in live_executor.cc).

// A row's column, "" when absent.
std::string Field(const Row& row, const std::string& name);
// "stale plan: <id> <why> (plan again)": the plan no longer matches the topology.
std::string StalePlan(const Action& action, const std::string& why);
// The last lines of a command's stderr on one line: enough to see why, short enough for an error.
std::string Tail(const std::string& text);

// One lane of a server (engine/action.h LaneOf): its server's actions, or its apps'. Each server
// has two, so an app's repoint on a host runs beside the host's own replication steps, each on a
// connection no other thread uses.
struct Host {
  const ServerSpec* spec = nullptr;
  std::mutex mutex;  // held for a whole action: one action per lane of a host at a time
  // The lane's SQL connection and SSH session, opened on first use and kept; a transport failure
  // drops them so the next use reconnects (providers/server_session.h). Never the other lane's.
  std::unique_ptr<ServerSession> session;
  // database.yml files this executor replaced on this host, with the digest of what it wrote:
  // restart-app then knows the app has not been restarted with that content yet, without reading.
  std::map<std::string, std::string> rewritten;
};

class LiveExecutor : public ActionExecutor {
 public:
  // Live sessions (LiveSessionFactory) over `pool`, which may be null.
  LiveExecutor(Topology topology, SessionPool* pool);
  // Sessions from `factory`, which must outlive the executor (a fake's, in unit tests).
  LiveExecutor(Topology topology, SessionFactory& factory);
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

  // Both constructors: every host's session (it connects nothing until its first verb) and every
  // secret, resolved once.
  void Init();
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
  std::unique_ptr<SessionFactory> own_factory_;  // the LiveSessionFactory of the (topology, pool) form
  SessionFactory& factory_;
  SessionPool* pool_;  // may be null; its standby shells run an app's restart (RestartApp)
  struct Lanes {
    std::unique_ptr<Host> server;  // every kind but an app's
    std::unique_ptr<Host> app;     // rewrite-app-config, restart-app, check-health
  };
  std::map<std::string, Lanes> hosts_;  // fixed after construction: lookups need no lock
  std::map<std::pair<SecretRef::Kind, std::string>, Result<Secret>> secrets_;
  std::vector<const Secret*> all_secrets_;
};

}  // namespace internal
}  // namespace replplan
