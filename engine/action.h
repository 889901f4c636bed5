// One step of a plan, in the operator's words. An Action carries everything apply needs except
// secrets: those are resolved from the topology at execution time, so a saved or printed plan can
// never leak one (changes to a secret show as "(sensitive)").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/gtid.h"
#include "engine/topology.h"

namespace replplan {

enum class ActionKind {
  kEditConfig,             // set managed keys in the server's config_file (over SSH)
  kRestartServer,          // run the server's restart command; a static setting changed
  kSetGlobal,              // SET GLOBAL for dynamic settings (server_id, binlog_format, read_only...)
  kCreateReplicationUser,  // CREATE USER repl + GRANT REPLICATION SLAVE..., binlog off, on every node
  kCreateDatabase,         // on the primary (replicates)
  kCreateUser,             // on the primary (replicates)
  kGrantPrivileges,        // missing grants of a declared user
  kSeedReplica,            // consistent dump of the primary with its position, restored on a replica
  kChangeSource,           // CHANGE MASTER TO the primary (GTID or file/position)
  kStartReplica,           // START SLAVE and wait until both threads run
  kResetReplica,           // RESET SLAVE ALL: forget a stale or unwanted source (destructive)
  kInjectEmptyTransactions,  // on the primary: an empty transaction per errant GTID of a replica
  // Switchover and failover (docs/failover.md). Each promotion step is its own action so the plan
  // shows it, the report times it, and a failure stops exactly what depends on it.
  kFencePrimary,     // old primary: KILL sessions waiting for a semi-sync ACK, then read_only=ON
  kWaitForCatchUp,   // candidate: wait until it applied the fenced old primary's whole binlog
  kApplyRelayLog,    // failover candidate: STOP SLAVE IO_THREAD, apply every event received
  kPromoteReplica,   // STOP SLAVE; RESET SLAVE ALL; read_only=OFF
  kRewriteAppConfig, // an app's database settings on one host (Rails: config/database.yml)
  kRestartApp,       // the app's restart command on one host
  kCheckHealth,      // the app's health URL answers 2xx after its restart
  // A replica's SQL thread stopped on a row event error (1032, 1062) and the file allows skipping
  // ([cluster] on_data_error = "skip"): gtid_slave_pos moved past that one transaction.
  kSkipTransaction,
};
// The last enumerator: a new kind moves this too (action.cc's static_assert counts on it).
inline constexpr ActionKind kLastActionKind = ActionKind::kSkipTransaction;

// Every kind with its stable name ("edit-config", ...: the name used in text, JSON and action
// ids), in enum order. The one list: ToString, ActionKindFromString and a saved plan's
// did-you-mean read it, and action_test checks schemas/plan.schema.json's enum of kinds against it.
struct ActionKindName {
  ActionKind kind;
  const char* name;
};
std::span<const ActionKindName> ActionKindNames();

// The kind's stable name.
const char* ToString(ActionKind kind);
// The inverse of ToString; nullopt for a name that is no kind.
std::optional<ActionKind> ActionKindFromString(std::string_view name);

// The two queues of one host (engine/applier.h): its server's steps, and its apps' steps (their
// database.yml, restart and health check), which touch the app and never the server, so they need
// not wait for the server's steps on the same host (only for what the plan says they depend on).
enum class ActionLane { kServer, kApp };
ActionLane LaneOf(ActionKind kind);

// One visible difference: `server_id: 1 -> 2`. `from` empty means absent.
struct Change {
  std::string key;
  std::string from;
  std::string to;
  bool sensitive = false;  // rendered as (sensitive) whatever from/to hold (they hold nothing)
};

// --- What each kind of action carries (Action::args) -------------------------------------------
// One struct per kind, in ActionKind order, each naming its kind. The values are typed and were
// checked once: by the planner, which builds them from the validated topology, or by the saved-plan
// reader (PlanFromJson), which refuses a value of the wrong type or out of range. Whether they still
// match the topology file is CheckPlanAgainstTopology's question (engine/plan_check.h). Names of
// servers, users, databases and apps are names in the topology, never SQL or shell text.

struct EditConfigArgs {
  static constexpr ActionKind kKind = ActionKind::kEditConfig;
  std::string config_file;  // the server's config_file; its [mysqld] section is edited
  // A key set in a file config_file includes (engine/effective_config.h) is edited there: key ->
  // that file (absolute). A change not named here goes into config_file. Rendered "file.<key>".
  std::map<std::string, std::string> files;
  bool operator==(const EditConfigArgs&) const = default;
};
struct RestartServerArgs {
  static constexpr ActionKind kKind = ActionKind::kRestartServer;
  std::vector<std::string> settings;  // static settings the restart makes true: RestartSettingNames()
  // Rolling restart of a replica (engine/planner/ordering.cc): once it answers again, wait until it
  // replicates from `catch_up_from` (its live source) and has applied what that source had then,
  // at most catch_up_timeout_s (1..kMaxWaitSeconds). Empty: no wait (it did not replicate before).
  std::string catch_up_from;
  int catch_up_timeout_s = 0;
  // Rolling restart of a serving primary: `replplan apply` (ops/apply.h) switches over to this
  // replica, restarts the old primary as its replica and switches back; the step itself never
  // restarts a primary in place for it. Empty: restarted in place.
  std::string switchover_to;
  // With switchover_to: false leaves that replica the primary (the file rewritten to name it).
  bool switch_back = true;
  bool operator==(const RestartServerArgs&) const = default;
};
// Each variable set-global may set, set when present. Every value is one SET GLOBAL accepts.
struct SetGlobalArgs {
  static constexpr ActionKind kKind = ActionKind::kSetGlobal;
  std::optional<uint32_t> server_id;                   // 1..4294967295
  std::optional<std::string> binlog_format;            // ROW, MIXED or STATEMENT
  std::optional<bool> gtid_strict_mode;
  std::optional<bool> read_only;
  std::optional<uint32_t> slave_net_timeout;           // seconds, 1..31536000
  std::optional<bool> rpl_semi_sync_master_enabled;
  std::optional<bool> rpl_semi_sync_slave_enabled;
  std::optional<std::string> rpl_semi_sync_master_wait_point;  // AFTER_SYNC or AFTER_COMMIT
  std::optional<uint32_t> rpl_semi_sync_master_timeout;        // milliseconds, 1..4294967295
  bool operator==(const SetGlobalArgs&) const = default;
};
struct CreateReplicationUserArgs {  // always with binary logging off (rendered binlog=off)
  static constexpr ActionKind kKind = ActionKind::kCreateReplicationUser;
  std::string user;
  std::string host;
  bool operator==(const CreateReplicationUserArgs&) const = default;
};
struct CreateDatabaseArgs {
  static constexpr ActionKind kKind = ActionKind::kCreateDatabase;
  std::string database;
  std::string charset;
  std::string collation;  // empty: the charset's default
  bool operator==(const CreateDatabaseArgs&) const = default;
};
struct CreateUserArgs {
  static constexpr ActionKind kKind = ActionKind::kCreateUser;
  std::string user;
  std::string host;
  std::vector<std::string> grants;  // every grant of the [[user]], as its text
  // On a replica that lacks an account a replicated statement names (1133, 1396): created there
  // alone, not replicated. Off: on the primary, replicated.
  bool binlog_off = false;
  bool operator==(const CreateUserArgs&) const = default;
};
struct GrantPrivilegesArgs {
  static constexpr ActionKind kKind = ActionKind::kGrantPrivileges;
  std::string user;
  std::string host;
  std::vector<std::string> grants;  // the grants the account lacks, as their text
  bool binlog_off = false;          // the replication account's grant: not replicated
  bool operator==(const GrantPrivilegesArgs&) const = default;
};
struct SeedReplicaArgs {
  static constexpr ActionKind kKind = ActionKind::kSeedReplica;
  std::string source;  // the server dumped (the file's primary)
  ReplicationMode mode = ReplicationMode::kGtid;
  std::string drops;   // SortedIdentifierList of the databases the seed may drop; empty: none
  bool operator==(const SeedReplicaArgs&) const = default;
};
enum class UseGtid { kNo, kSlavePos, kCurrentPos };  // MASTER_USE_GTID = no / slave_pos / current_pos
enum class StartPosition {
  kKeep,        // the channel's own position
  kFromSeed,    // the position the seed's dump recorded
  kFromBinlog,  // the server's own binlog position (a former primary rejoining)
  kAt,          // file/position: ChangeSourceArgs::log_file and log_pos, as the plan read them
};
struct ChangeSourceArgs {
  static constexpr ActionKind kKind = ActionKind::kChangeSource;
  std::string source;  // the server replicated from (the file's primary)
  ReplicationMode mode = ReplicationMode::kGtid;
  UseGtid use_gtid = UseGtid::kSlavePos;  // kNo in file/position mode
  StartPosition position = StartPosition::kKeep;
  // kAt only: the source's binlog coordinates to start from (the replica's executed position,
  // Relay_Master_Log_File/Exec_Master_Log_Pos, when its channel metadata is made again after 1201).
  std::string log_file = "";  // initialised: designated initializers may leave it out
  uint64_t log_pos = 0;
  bool operator==(const ChangeSourceArgs&) const = default;
};
struct StartReplicaArgs {
  static constexpr ActionKind kKind = ActionKind::kStartReplica;
  bool operator==(const StartReplicaArgs&) const = default;
};
struct ResetReplicaArgs {
  static constexpr ActionKind kKind = ActionKind::kResetReplica;
  std::string connection_name;  // empty: the default channel
  bool operator==(const ResetReplicaArgs&) const = default;
};
// The errant transactions of `replica` (GTIDs it wrote that the primary lacks), committed on the
// primary as empty transactions with the same GTIDs (SET gtid_domain_id, server_id, gtid_seq_no;
// BEGIN; COMMIT), binlogged, so the primary's position contains the replica's and every replica
// receives them. Only ranges the primary lacks entirely (conditions.h's ErrantGtids::ahead).
struct InjectEmptyTransactionsArgs {
  static constexpr ActionKind kKind = ActionKind::kInjectEmptyTransactions;
  std::string replica;           // the server that wrote them (a replica in the topology)
  std::vector<GtidRange> gtids;  // at most kMaxInjectedTransactions in all, one domain at most once
  bool operator==(const InjectEmptyTransactionsArgs&) const = default;
};
// The most empty transactions one plan injects: beyond it, a reseed is the remedy.
inline constexpr uint64_t kMaxInjectedTransactions = 10000;
struct FencePrimaryArgs {
  static constexpr ActionKind kKind = ActionKind::kFencePrimary;
  bool operator==(const FencePrimaryArgs&) const = default;
};
struct WaitForCatchUpArgs {
  static constexpr ActionKind kKind = ActionKind::kWaitForCatchUp;
  std::string source;  // the fenced old primary
  int timeout_s = 60;  // 1..kMaxWaitSeconds
  bool operator==(const WaitForCatchUpArgs&) const = default;
};
struct ApplyRelayLogArgs {
  static constexpr ActionKind kKind = ActionKind::kApplyRelayLog;
  std::string source;   // the old primary, down
  int timeout_s = 300;  // 1..kMaxWaitSeconds
  bool operator==(const ApplyRelayLogArgs&) const = default;
};
struct PromoteReplicaArgs {
  static constexpr ActionKind kKind = ActionKind::kPromoteReplica;
  std::string source;  // the old primary it replicates from until now
  bool operator==(const PromoteReplicaArgs&) const = default;
};
struct RewriteAppConfigArgs {
  static constexpr ActionKind kKind = ActionKind::kRewriteAppConfig;
  std::string app;
  std::string primary;  // the server the app is pointed at (the file's primary)
  bool operator==(const RewriteAppConfigArgs&) const = default;
};
struct RestartAppArgs {
  static constexpr ActionKind kKind = ActionKind::kRestartApp;
  std::string app;
  bool operator==(const RestartAppArgs&) const = default;
};
struct CheckHealthArgs {
  static constexpr ActionKind kKind = ActionKind::kCheckHealth;
  std::string app;
  bool operator==(const CheckHealthArgs&) const = default;
};

struct SkipTransactionArgs {
  static constexpr ActionKind kKind = ActionKind::kSkipTransaction;
  // The one transaction skipped, "domain-server_id-seq" as its Gtid event in the relay log names
  // it: gtid_slave_pos then holds it as applied, and the replica fetches from the one after.
  // File/position replication: only to name it ("" when the relay log did not).
  std::string gtid;
  // File/position replication: where the SQL thread stopped in the source's binlog
  // (Relay_Master_Log_File, Exec_Master_Log_Pos), the start of the event group skipped with
  // sql_slave_skip_counter = 1. Empty and 0 under GTID.
  std::string log_file;
  uint64_t log_pos = 0;
  bool operator==(const SkipTransactionArgs&) const = default;
};

// Alternative i is the args of ActionKind i (action.cc's static_assert holds it to that).
using ActionArgs =
    std::variant<EditConfigArgs, RestartServerArgs, SetGlobalArgs, CreateReplicationUserArgs, CreateDatabaseArgs,
                 CreateUserArgs, GrantPrivilegesArgs, SeedReplicaArgs, ChangeSourceArgs, StartReplicaArgs,
                 ResetReplicaArgs, InjectEmptyTransactionsArgs, FencePrimaryArgs, WaitForCatchUpArgs, ApplyRelayLogArgs,
                 PromoteReplicaArgs, RewriteAppConfigArgs, RestartAppArgs, CheckHealthArgs, SkipTransactionArgs>;

// The kind whose args `args` holds.
ActionKind KindOf(const ActionArgs& args);
// Default-constructed args of `kind` (for kinds that carry nothing, all there is).
ActionArgs DefaultArgs(ActionKind kind);

// The longest wait-for-catch-up or apply-relay-log may be given (a day).
inline constexpr int kMaxWaitSeconds = 86400;
// The static settings restart-server restarts for, in the order the planner names them.
std::span<const char* const> RestartSettingNames();
// The variables set-global may set, by name, in SetGlobalArgs order.
std::span<const char* const> GlobalVariableNames();
// One variable a SetGlobalArgs sets, with its value as plan params write it ("2", "ON", "ROW").
struct GlobalSetting {
  enum class Type { kNumber, kFlag, kWord };
  std::string name;
  std::string text;
  Type type = Type::kNumber;
};
// The variables `args` sets, in name order (the order set-global sets them in).
std::vector<GlobalSetting> GlobalSettings(const SetGlobalArgs& args);
// Sets `name` in `args` from its text as plan params write it ("ON", "2", "ROW"). Empty when set;
// otherwise why not, without the name: "not a variable replplan sets at runtime", "'0' is not in
// 1..4294967295". The one text-to-value conversion of set-global (the planner and the reader).
std::string SetGlobalFromText(SetGlobalArgs& args, std::string_view name, std::string_view text);

const char* ToString(UseGtid use_gtid);            // "no", "slave_pos", "current_pos"
const char* ToString(StartPosition position);      // "keep", "from-seed", "from-binlog", "at"
std::optional<UseGtid> UseGtidFromString(std::string_view text);
std::optional<StartPosition> StartPositionFromString(std::string_view text);

// The args as text, as plan JSON's "params" and plan_compare show them: {"source": "mercury", ...}.
// The one rendering of args: every text form of an action's inputs is derived from this.
std::map<std::string, std::string> RenderParams(const ActionArgs& args);

struct Action {
  std::string id;  // "<host>/<kind>[/<object>]", unique within a plan: "uranus/seed-replica"
  ActionKind kind = ActionKind::kEditConfig;
  std::string host;     // the server this action changes
  std::string summary;  // one line: "seed uranus from mercury (dump with GTID position, restore)"
  std::vector<std::string> reasons;  // why: "log_bin is OFF, file wants /var/log/mysql/mysql-bin.log"
  std::vector<Change> changes;
  bool destructive = false;  // drops or overwrites data or replication state; printed loudly
  // What apply needs besides the topology, typed, never a secret. Holds the alternative of `kind`;
  // set it with SetArgs, read it with Args<T>() (or std::get_if on it). Text and JSON show it
  // through RenderParams.
  ActionArgs args;

  // Sets args and its kind together.
  void SetArgs(ActionArgs value);
  // The args as `T`; T must be the struct of `kind` (std::bad_variant_access otherwise: a bug).
  template <typename T>
  const T& Args() const {
    return std::get<T>(args);
  }
};

}  // namespace replplan
