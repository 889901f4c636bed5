// The live executor: one ServerSession per host, a lock per host, and the dispatch from an action's
// kind to its step (providers/steps/steps.h, where every step is).
#include "providers/live_executor.h"

#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "engine/secret.h"
#include "providers/server_session.h"
#include "providers/steps/steps.h"

namespace replplan {
namespace {

// Commands on a host's kept session (config reads and writes) are quick; a restart or an app's
// restart opens a session of its own with its own bound (providers/steps).
constexpr int kCommandTimeoutMs = 120'000;

// One lane of a server (engine/action.h LaneOf): its server's actions, or its apps'. Each server
// has two, so an app's repoint on a host runs beside the host's own replication steps, each on a
// connection no other thread uses.
struct Host {
  const ServerSpec* spec = nullptr;
  std::mutex mutex;  // held for a whole action: one action per lane of a host at a time
  // The lane's SQL connection and SSH session, opened on first use and kept; a transport failure
  // drops them so the next use reconnects (providers/server_session.h). Never the other lane's.
  std::unique_ptr<ServerSession> session;
  // database.yml files rewritten on this host (steps::StepContext::rewritten).
  std::map<std::string, std::string> rewritten;
};

class LiveExecutor : public ActionExecutor {
 public:
  // Live sessions (LiveSessionFactory) over `pool`, which may be null.
  LiveExecutor(Topology topology, SessionPool* pool, const LiveExecutorOptions& options)
      : topology_(std::move(topology)), own_factory_(std::make_unique<LiveSessionFactory>(pool)),
        factory_(*own_factory_), options_(options), secrets_(topology_) {
    Init();
  }
  // Sessions from `factory`, which must outlive the executor (a fake's, in unit tests).
  LiveExecutor(Topology topology, SessionFactory& factory, const LiveExecutorOptions& options)
      : topology_(std::move(topology)), factory_(factory), options_(options), secrets_(topology_) {
    Init();
  }
  // Each host's session gives its sound connections back to the pool as it goes.
  ~LiveExecutor() override = default;

  Status Execute(const Action& action, const ProgressFn& progress) override;

 private:
  // Every host's session (it connects nothing until its first verb).
  void Init();
  static Status Dispatch(const steps::StepContext& ctx, const Action& action);

  Topology topology_;
  std::unique_ptr<SessionFactory> own_factory_;  // the LiveSessionFactory of the (topology, pool) form
  SessionFactory& factory_;
  LiveExecutorOptions options_;
  steps::ResolvedSecrets secrets_;  // every secret, resolved once, up front
  struct Lanes {
    std::unique_ptr<Host> server;  // every kind but an app's
    std::unique_ptr<Host> app;     // rewrite-app-config, restart-app, check-health
  };
  std::map<std::string, Lanes> hosts_;  // fixed after construction: lookups need no lock
};

void LiveExecutor::Init() {
  for (const ServerSpec& server : topology_.servers) {
    auto [it, added] = hosts_.try_emplace(server.name);
    if (!added) continue;  // a validated topology names each server once
    Lanes& lanes = it->second;
    for (std::unique_ptr<Host>* lane : {&lanes.server, &lanes.app}) {
      *lane = std::make_unique<Host>();
      (*lane)->spec = &server;
      (*lane)->session = factory_.Open(server, SessionLimits{.command_timeout_ms = kCommandTimeoutMs});
    }
  }
}

Status LiveExecutor::Execute(const Action& action, const ProgressFn& progress) {
  auto it = hosts_.find(action.host);
  if (it == hosts_.end()) {
    return Status::InvalidArgument(
        steps::StalePlan(action, "names host '" + action.host + "', not a server of the topology"));
  }
  // Kind and args are set together (Action::SetArgs).
  if (KindOf(action.args) != action.kind) {
    return Status::Internal(action.id + ": its args are not " + ToString(action.kind) + "'s (a bug)");
  }
  // The applier runs an app's action beside a server action on the same host (engine/applier.h):
  // each lane has its own lock and its own session.
  Host& host = LaneOf(action.kind) == ActionLane::kApp ? *it->second.app : *it->second.server;
  std::lock_guard<std::mutex> lock(host.mutex);
  const steps::StepContext ctx{.topology = topology_,
                               .server = *host.spec,
                               .session = *host.session,
                               .secrets = secrets_,
                               .progress = progress,
                               .sessions = factory_,
                               .rewritten = host.rewritten,
                               .health_timeout_s = options_.health_timeout_s};
  Status status;
  try {
    status = Dispatch(ctx, action);
  } catch (const std::exception& e) {
    // Nothing here should throw; if a library does, the apply reports it instead of dying.
    status = Status::Internal(action.id + ": unexpected error: " + e.what());
  }
  if (status.ok()) return status;
  return status.WithMessage(RedactSecrets(status.message(), secrets_.all()));
}

Status LiveExecutor::Dispatch(const steps::StepContext& ctx, const Action& action) {
  switch (action.kind) {
    case ActionKind::kEditConfig: return steps::EditConfig(ctx, action);
    case ActionKind::kRestartServer: return steps::RestartServer(ctx, action);
    case ActionKind::kSetGlobal: return steps::SetGlobal(ctx, action);
    case ActionKind::kCreateReplicationUser: return steps::CreateReplicationUser(ctx, action);
    case ActionKind::kCreateDatabase: return steps::CreateDatabase(ctx, action);
    case ActionKind::kCreateUser: return steps::CreateUser(ctx, action);
    case ActionKind::kGrantPrivileges: return steps::GrantPrivileges(ctx, action);
    case ActionKind::kSeedReplica: return steps::SeedReplica(ctx, action);
    case ActionKind::kChangeSource: return steps::ChangeSource(ctx, action);
    case ActionKind::kStartReplica: return steps::StartReplica(ctx, action);
    case ActionKind::kResetReplica: return steps::ResetReplica(ctx, action);
    case ActionKind::kInjectEmptyTransactions: return steps::InjectEmptyTransactions(ctx, action);
    case ActionKind::kFencePrimary: return steps::FencePrimary(ctx, action);
    case ActionKind::kWaitForCatchUp: return steps::WaitForCatchUp(ctx, action);
    case ActionKind::kApplyRelayLog: return steps::ApplyRelayLog(ctx, action);
    case ActionKind::kPromoteReplica: return steps::PromoteReplica(ctx, action);
    case ActionKind::kRewriteAppConfig: return steps::RewriteAppConfig(ctx, action);
    case ActionKind::kRestartApp: return steps::RestartApp(ctx, action);
    case ActionKind::kCheckHealth: return steps::CheckHealth(ctx, action);
    case ActionKind::kSkipTransaction: return steps::SkipTransaction(ctx, action);
  }
  return Status::InvalidArgument(action.id + ": unknown action kind");
}

}  // namespace

std::unique_ptr<ActionExecutor> MakeLiveExecutor(const Topology& topology, SessionPool* pool,
                                                 const LiveExecutorOptions& options) {
  return std::make_unique<LiveExecutor>(topology, pool, options);
}

std::unique_ptr<ActionExecutor> MakeLiveExecutor(const Topology& topology, SessionFactory& factory,
                                                 const LiveExecutorOptions& options) {
  return std::make_unique<LiveExecutor>(topology, factory, options);
}

}  // namespace replplan
