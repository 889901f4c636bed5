#include "engine/action.h"

#include <iterator>

namespace replplan {

namespace {

constexpr ActionKindName kNames[] = {
    {ActionKind::kEditConfig, "edit-config"},
    {ActionKind::kRestartServer, "restart-server"},
    {ActionKind::kSetGlobal, "set-global"},
    {ActionKind::kCreateReplicationUser, "create-replication-user"},
    {ActionKind::kCreateDatabase, "create-database"},
    {ActionKind::kCreateUser, "create-user"},
    {ActionKind::kGrantPrivileges, "grant-privileges"},
    {ActionKind::kSeedReplica, "seed-replica"},
    {ActionKind::kChangeSource, "change-source"},
    {ActionKind::kStartReplica, "start-replica"},
    {ActionKind::kResetReplica, "reset-replica"},
    {ActionKind::kFencePrimary, "fence-primary"},
    {ActionKind::kWaitForCatchUp, "wait-for-catch-up"},
    {ActionKind::kApplyRelayLog, "apply-relay-log"},
    {ActionKind::kPromoteReplica, "promote-replica"},
    {ActionKind::kRewriteAppConfig, "rewrite-app-config"},
    {ActionKind::kRestartApp, "restart-app"},
    {ActionKind::kCheckHealth, "check-health"},
};

// Each enumerator once, at its own index, so ToString is an index and nothing is left out.
constexpr bool EveryKindInEnumOrder() {
  if (std::size(kNames) != static_cast<size_t>(kLastActionKind) + 1) return false;
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (static_cast<size_t>(kNames[i].kind) != i) return false;
  }
  return true;
}
static_assert(EveryKindInEnumOrder(), "kNames must list every ActionKind once, in enum order");

}  // namespace

std::span<const ActionKindName> ActionKindNames() { return kNames; }

const char* ToString(ActionKind kind) {
  const size_t index = static_cast<size_t>(kind);
  return index < std::size(kNames) ? kNames[index].name : "unknown";
}

std::optional<ActionKind> ActionKindFromString(std::string_view name) {
  for (const ActionKindName& entry : kNames) {
    if (name == entry.name) return entry.kind;
  }
  return std::nullopt;
}

}  // namespace replplan
