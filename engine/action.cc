#include "engine/action.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <type_traits>
#include <utility>

#include "engine/text.h"

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
    {ActionKind::kInjectEmptyTransactions, "inject-empty-transactions"},
    {ActionKind::kFencePrimary, "fence-primary"},
    {ActionKind::kWaitForCatchUp, "wait-for-catch-up"},
    {ActionKind::kApplyRelayLog, "apply-relay-log"},
    {ActionKind::kPromoteReplica, "promote-replica"},
    {ActionKind::kRewriteAppConfig, "rewrite-app-config"},
    {ActionKind::kRestartApp, "restart-app"},
    {ActionKind::kCheckHealth, "check-health"},
    {ActionKind::kSkipTransaction, "skip-transaction"},
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

// ActionArgs has one alternative per kind, at the kind's index: KindOf is an index, and a kind
// added to the enum without its args (or args in the wrong place) does not compile.
template <size_t... I>
constexpr bool ArgsInKindOrder(std::index_sequence<I...>) {
  return ((std::variant_alternative_t<I, ActionArgs>::kKind == static_cast<ActionKind>(I)) && ...);
}
static_assert(std::variant_size_v<ActionArgs> == std::size(kNames), "ActionArgs needs one alternative per ActionKind");
static_assert(ArgsInKindOrder(std::make_index_sequence<std::variant_size_v<ActionArgs>>()),
              "ActionArgs' alternative i must be the args of ActionKind i");

template <size_t... I>
ActionArgs DefaultArgsAt(size_t index, std::index_sequence<I...>) {
  ActionArgs out;
  static_cast<void>(((index == I ? (out.template emplace<I>(), true) : false) || ...));
  return out;
}

constexpr const char* kRestartSettings[] = {"log_bin", "bind_address", "log_slave_updates", "report_host"};

// The variables of SetGlobalArgs: name, member and what values it takes.
struct GlobalVariable {
  const char* name;
  std::optional<uint32_t> SetGlobalArgs::*number = nullptr;
  uint32_t max = 0;  // numbers: 1..max
  std::optional<bool> SetGlobalArgs::*flag = nullptr;
  std::optional<std::string> SetGlobalArgs::*word = nullptr;
  const char* words[3] = {};  // words: the values allowed, as written
};
const GlobalVariable kGlobals[] = {
    {.name = "server_id", .number = &SetGlobalArgs::server_id, .max = 4294967295U},
    {.name = "binlog_format", .word = &SetGlobalArgs::binlog_format, .words = {"ROW", "MIXED", "STATEMENT"}},
    {.name = "gtid_strict_mode", .flag = &SetGlobalArgs::gtid_strict_mode},
    {.name = "read_only", .flag = &SetGlobalArgs::read_only},
    {.name = "slave_net_timeout", .number = &SetGlobalArgs::slave_net_timeout, .max = 31536000U},
    {.name = "rpl_semi_sync_master_enabled", .flag = &SetGlobalArgs::rpl_semi_sync_master_enabled},
    {.name = "rpl_semi_sync_slave_enabled", .flag = &SetGlobalArgs::rpl_semi_sync_slave_enabled},
    {.name = "rpl_semi_sync_master_wait_point",
     .word = &SetGlobalArgs::rpl_semi_sync_master_wait_point,
     .words = {"AFTER_SYNC", "AFTER_COMMIT"}},
    {.name = "rpl_semi_sync_master_timeout", .number = &SetGlobalArgs::rpl_semi_sync_master_timeout, .max = 4294967295U},
};
constexpr const char* kGlobalNames[] = {"server_id",
                                        "binlog_format",
                                        "gtid_strict_mode",
                                        "read_only",
                                        "slave_net_timeout",
                                        "rpl_semi_sync_master_enabled",
                                        "rpl_semi_sync_slave_enabled",
                                        "rpl_semi_sync_master_wait_point",
                                        "rpl_semi_sync_master_timeout"};
static_assert(std::size(kGlobalNames) == std::size(kGlobals));

const char* OnOff(bool on) { return on ? "ON" : "OFF"; }

// Grants as params write them: "SELECT ON a.*; INSERT ON a.*".
std::string GrantsText(const std::vector<std::string>& grants) { return Join(grants, "; "); }

// The rendering of each kind: exactly the keys and texts the plan format has always had.
struct Render {
  std::map<std::string, std::string> out;
  void operator()(const EditConfigArgs& a) {
    out = {{"config_file", a.config_file}, {"section", "mysqld"}};
    for (const auto& [key, file] : a.files) out["file." + key] = file;
  }
  void operator()(const RestartServerArgs& a) {
    out = {{"settings", Join(a.settings, ",")}};
    if (!a.catch_up_from.empty()) {
      out["catch_up_from"] = a.catch_up_from;
      out["catch_up_timeout_s"] = std::to_string(a.catch_up_timeout_s);
    }
    if (!a.switchover_to.empty()) out["switchover_to"] = a.switchover_to;
    if (!a.switch_back) out["switch_back"] = "no";
  }
  void operator()(const SetGlobalArgs& a) {
    for (GlobalSetting& s : GlobalSettings(a)) out[s.name] = std::move(s.text);
  }
  void operator()(const CreateReplicationUserArgs& a) { out = {{"user", a.user}, {"host", a.host}, {"binlog", "off"}}; }
  void operator()(const CreateDatabaseArgs& a) {
    out = {{"database", a.database}, {"charset", a.charset}, {"collation", a.collation}};
  }
  void operator()(const CreateUserArgs& a) {
    out = {{"user", a.user}, {"host", a.host}, {"grants", GrantsText(a.grants)}};
    if (a.binlog_off) out["binlog"] = "off";
  }
  void operator()(const GrantPrivilegesArgs& a) {
    out = {{"user", a.user}, {"host", a.host}, {"grants", GrantsText(a.grants)}};
    if (a.binlog_off) out["binlog"] = "off";
  }
  void operator()(const SeedReplicaArgs& a) {
    out = {{"source", a.source}, {"mode", ToString(a.mode)}};
    if (!a.drops.empty()) out["drops"] = a.drops;
  }
  void operator()(const ChangeSourceArgs& a) {
    out = {{"source", a.source}, {"mode", ToString(a.mode)}, {"use_gtid", ToString(a.use_gtid)},
           {"position", ToString(a.position)}};
    if (a.position == StartPosition::kAt) {
      out["log_file"] = a.log_file;
      out["log_pos"] = std::to_string(a.log_pos);
    }
  }
  void operator()(const StartReplicaArgs&) {}
  void operator()(const ResetReplicaArgs& a) { out = {{"connection_name", a.connection_name}}; }
  void operator()(const InjectEmptyTransactionsArgs& a) {
    std::vector<std::string> ranges;
    for (const GtidRange& r : a.gtids) ranges.push_back(r.ToString());
    out = {{"replica", a.replica}, {"gtids", Join(ranges, ",")}};
  }
  void operator()(const FencePrimaryArgs&) {}
  void operator()(const WaitForCatchUpArgs& a) { out = {{"source", a.source}, {"timeout_s", std::to_string(a.timeout_s)}}; }
  void operator()(const ApplyRelayLogArgs& a) { out = {{"source", a.source}, {"timeout_s", std::to_string(a.timeout_s)}}; }
  void operator()(const PromoteReplicaArgs& a) { out = {{"source", a.source}}; }
  void operator()(const RewriteAppConfigArgs& a) { out = {{"app", a.app}, {"primary", a.primary}}; }
  void operator()(const RestartAppArgs& a) { out = {{"app", a.app}}; }
  void operator()(const CheckHealthArgs& a) { out = {{"app", a.app}}; }
  void operator()(const SkipTransactionArgs& a) {
    if (a.log_file.empty()) {
      out = {{"gtid", a.gtid}};
      return;
    }
    out = {{"log_file", a.log_file}, {"log_pos", std::to_string(a.log_pos)}};
    if (!a.gtid.empty()) out["gtid"] = a.gtid;
  }
};

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

ActionLane LaneOf(ActionKind kind) {
  switch (kind) {  // no default: a new kind must choose its lane
    case ActionKind::kEditConfig:
    case ActionKind::kRestartServer:
    case ActionKind::kSetGlobal:
    case ActionKind::kCreateReplicationUser:
    case ActionKind::kCreateDatabase:
    case ActionKind::kCreateUser:
    case ActionKind::kGrantPrivileges:
    case ActionKind::kSeedReplica:
    case ActionKind::kChangeSource:
    case ActionKind::kStartReplica:
    case ActionKind::kResetReplica:
    case ActionKind::kInjectEmptyTransactions:
    case ActionKind::kFencePrimary:
    case ActionKind::kWaitForCatchUp:
    case ActionKind::kApplyRelayLog:
    case ActionKind::kPromoteReplica:
    case ActionKind::kSkipTransaction: return ActionLane::kServer;
    case ActionKind::kRewriteAppConfig:
    case ActionKind::kRestartApp:
    case ActionKind::kCheckHealth: return ActionLane::kApp;
  }
  return ActionLane::kServer;
}

ActionKind KindOf(const ActionArgs& args) { return static_cast<ActionKind>(args.index()); }

ActionArgs DefaultArgs(ActionKind kind) {
  return DefaultArgsAt(static_cast<size_t>(kind), std::make_index_sequence<std::variant_size_v<ActionArgs>>());
}

std::span<const char* const> RestartSettingNames() { return kRestartSettings; }
std::span<const char* const> GlobalVariableNames() { return kGlobalNames; }

std::vector<GlobalSetting> GlobalSettings(const SetGlobalArgs& args) {
  std::vector<GlobalSetting> out;
  for (const GlobalVariable& v : kGlobals) {
    if (v.number && (args.*v.number)) out.push_back({v.name, std::to_string(*(args.*v.number)), GlobalSetting::Type::kNumber});
    if (v.flag && (args.*v.flag)) out.push_back({v.name, OnOff(*(args.*v.flag)), GlobalSetting::Type::kFlag});
    if (v.word && (args.*v.word)) out.push_back({v.name, *(args.*v.word), GlobalSetting::Type::kWord});
  }
  std::sort(out.begin(), out.end(), [](const GlobalSetting& a, const GlobalSetting& b) { return a.name < b.name; });
  return out;
}

std::string SetGlobalFromText(SetGlobalArgs& args, std::string_view name, std::string_view text) {
  for (const GlobalVariable& v : kGlobals) {
    if (name != v.name) continue;
    const std::string quoted = "'" + std::string(text) + "'";
    if (v.flag) {
      if (text != "ON" && text != "OFF") return quoted + " is not ON or OFF";
      args.*v.flag = text == "ON";
    } else if (v.number) {
      uint64_t n = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (text.empty() || !IsDigits(text) || error != std::errc() || end != text.data() + text.size() || n < 1 ||
          n > v.max) {
        return quoted + " is not a whole number in 1.." + std::to_string(v.max);
      }
      args.*v.number = static_cast<uint32_t>(n);
    } else {
      std::vector<std::string> allowed;
      for (const char* w : v.words) {
        if (w != nullptr) allowed.push_back(w);
      }
      if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
        return quoted + " is not one of " + Join(allowed, ", ");
      }
      args.*v.word = std::string(text);
    }
    return "";
  }
  return "not a variable replplan sets at runtime";
}

const char* ToString(UseGtid use_gtid) {
  switch (use_gtid) {
    case UseGtid::kNo: return "no";
    case UseGtid::kSlavePos: return "slave_pos";
    case UseGtid::kCurrentPos: return "current_pos";
  }
  return "no";
}

const char* ToString(StartPosition position) {
  switch (position) {
    case StartPosition::kKeep: return "keep";
    case StartPosition::kFromSeed: return "from-seed";
    case StartPosition::kFromBinlog: return "from-binlog";
    case StartPosition::kAt: return "at";
  }
  return "keep";
}

std::optional<UseGtid> UseGtidFromString(std::string_view text) {
  for (UseGtid u : {UseGtid::kNo, UseGtid::kSlavePos, UseGtid::kCurrentPos}) {
    if (text == ToString(u)) return u;
  }
  return std::nullopt;
}

std::optional<StartPosition> StartPositionFromString(std::string_view text) {
  for (StartPosition p : {StartPosition::kKeep, StartPosition::kFromSeed, StartPosition::kFromBinlog, StartPosition::kAt}) {
    if (text == ToString(p)) return p;
  }
  return std::nullopt;
}

std::map<std::string, std::string> RenderParams(const ActionArgs& args) {
  Render render;
  std::visit(render, args);
  return std::move(render.out);
}

void Action::SetArgs(ActionArgs value) {
  kind = KindOf(value);
  args = std::move(value);
}

}  // namespace replplan
