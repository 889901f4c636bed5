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
  }
  return "unknown";
}

}  // namespace replplan
