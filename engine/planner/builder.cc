#include "engine/planner/builder.h"

namespace replplan::planner {

PlanBuilder::PlanBuilder(size_t servers) : slots_(servers), reports_(servers) {
  // A fresh cluster plans about 6 actions and 12 dependencies a server.
  graph_.Reserve(servers * 6, servers * 12);
}

std::string PlanBuilder::Id(const std::string& host, ActionKind kind, const std::string& object) {
  std::string id = host + "/" + ToString(kind);
  return object.empty() ? id : id + "/" + object;
}

Action PlanBuilder::Make(const std::string& host, ActionKind kind, const std::string& object) {
  Action a;
  a.id = Id(host, kind, object);
  a.SetArgs(DefaultArgs(kind));
  a.host = host;
  return a;
}

Action& PlanBuilder::Add(const std::string& host, ActionKind kind, const std::string& object, Slot slot) {
  held_.push_back({Make(host, kind, object), slot});
  return held_.back().action;
}

void PlanBuilder::Flush(size_t index) {
  HostActions& slots = slots_[index];
  for (Held& held : held_) {
    ActionKind kind = held.action.kind;
    size_t at = graph_.Add(std::move(held.action));
    if (held.slot == Slot::kReplicationGrant) {
      slots.repl_grant = at;
      continue;
    }
    if (held.slot == Slot::kSemiSyncOn) {
      slots.semi_sync_on = at;
      continue;
    }
    switch (kind) {
      case ActionKind::kEditConfig: slots.edit = at; break;
      case ActionKind::kRestartServer: slots.restart = at; break;
      case ActionKind::kSetGlobal: slots.set_global = at; break;
      case ActionKind::kCreateReplicationUser: slots.repl_user = at; break;
      case ActionKind::kResetReplica: slots.resets.push_back(at); break;
      case ActionKind::kInjectEmptyTransactions: slots.injects.push_back(at); break;
      case ActionKind::kSeedReplica: slots.seed = at; break;
      case ActionKind::kChangeSource: slots.change = at; break;
      case ActionKind::kStartReplica: slots.start = at; break;
      case ActionKind::kCreateDatabase:
      case ActionKind::kCreateUser:
      case ActionKind::kGrantPrivileges: slots.objects.push_back(at); break;
      case ActionKind::kFencePrimary: slots.fence = at; break;
      case ActionKind::kWaitForCatchUp:
      case ActionKind::kApplyRelayLog: slots.catch_up = at; break;
      case ActionKind::kPromoteReplica: slots.promote = at; break;
      case ActionKind::kSkipTransaction: slots.skip = at; break;
      case ActionKind::kRewriteAppConfig:  // app steps go in through AddNow
      case ActionKind::kRestartApp:
      case ActionKind::kCheckHealth: break;
    }
  }
  held_.clear();
}

size_t PlanBuilder::AddNow(Action action) { return graph_.Add(std::move(action)); }

void PlanBuilder::Depend(size_t after, std::initializer_list<size_t> before) {
  if (after == kNone) return;
  for (size_t b : before) {
    if (b != kNone) graph_.AddDependency(b, after);
  }
}

void PlanBuilder::Depend(size_t after, const std::vector<size_t>& before) {
  if (after == kNone) return;
  for (size_t b : before) graph_.AddDependency(b, after);
}

std::pair<ActionGraph, std::vector<HostReport>> PlanBuilder::Release() && {
  return {std::move(graph_), std::move(reports_)};
}

}  // namespace replplan::planner
