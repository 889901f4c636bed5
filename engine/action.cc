#include "engine/action.h"

namespace replplan {

const char* ToString(ActionKind kind) {
  switch (kind) {
    case ActionKind::kEditConfig: return "edit-config";
    case ActionKind::kRestartServer: return "restart-server";
    case ActionKind::kSetGlobal: return "set-global";
    case ActionKind::kCreateReplicationUser: return "create-replication-user";
    case ActionKind::kCreateDatabase: return "create-database";
    case ActionKind::kCreateUser: return "create-user";
    case ActionKind::kGrantPrivileges: return "grant-privileges";
    case ActionKind::kSeedReplica: return "seed-replica";
    case ActionKind::kChangeSource: return "change-source";
    case ActionKind::kStartReplica: return "start-replica";
    case ActionKind::kResetReplica: return "reset-replica";
    case ActionKind::kFencePrimary: return "fence-primary";
    case ActionKind::kWaitForCatchUp: return "wait-for-catch-up";
    case ActionKind::kApplyRelayLog: return "apply-relay-log";
    case ActionKind::kPromoteReplica: return "promote-replica";
    case ActionKind::kRewriteAppConfig: return "rewrite-app-config";
    case ActionKind::kRestartApp: return "restart-app";
    case ActionKind::kCheckHealth: return "check-health";
  }
  return "unknown";
}

std::optional<ActionKind> ActionKindFromString(std::string_view name) {
  // Every enumerator: a new kind goes here too (plan_from_json_test round-trips each name).
  static constexpr ActionKind kAll[] = {
      ActionKind::kEditConfig,     ActionKind::kRestartServer,   ActionKind::kSetGlobal,
      ActionKind::kCreateReplicationUser,                         ActionKind::kCreateDatabase,
      ActionKind::kCreateUser,     ActionKind::kGrantPrivileges, ActionKind::kSeedReplica,
      ActionKind::kChangeSource,   ActionKind::kStartReplica,    ActionKind::kResetReplica,
      ActionKind::kFencePrimary,   ActionKind::kWaitForCatchUp,  ActionKind::kApplyRelayLog,
      ActionKind::kPromoteReplica, ActionKind::kRewriteAppConfig, ActionKind::kRestartApp,
      ActionKind::kCheckHealth,
  };
  for (ActionKind kind : kAll) {
    if (name == ToString(kind)) return kind;
  }
  return std::nullopt;
}

}  // namespace replplan
