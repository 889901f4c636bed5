#include "providers/live_executor.h"
#include "engine/text.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/desired_config.h"
#include "engine/grant_check.h"
#include "engine/mycnf.h"
#include "engine/mysql_errors.h"
#include "engine/native_password.h"
#include "engine/shell_quote.h"
#include "engine/sql_quote.h"
#include "providers/live_executor_internal.h"
#include "providers/local/secrets.h"
#include "providers/seeder.h"
#include "providers/server_session.h"


namespace replplan {
// Not anonymous: providers/promotion_actions.cc implements the rest of the class declared in
// providers/live_executor_internal.h and shares a few of these helpers.
namespace internal {

// A restart is promised an answer or a clear error within this bound (the "bounded").
constexpr auto kAnswerAfterRestart = std::chrono::seconds(60);
constexpr int kReconnectTimeoutMs = 2000;
constexpr auto kReconnectPause = std::chrono::milliseconds(200);
// START SLAVE returns before the threads connect; this bounds the wait for both to run.
constexpr auto kReplicaStartLimit = std::chrono::seconds(30);
constexpr auto kReplicaPoll = std::chrono::milliseconds(75);
// Commands on the cached session (config reads and writes) are quick; a restart of a server with a
// large buffer pool may legitimately take minutes, so it gets its own session and bound.
constexpr int kCommandTimeoutMs = 120'000;
constexpr int kRestartCommandTimeoutMs = 900'000;

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t begin = 0;
  for (;;) {
    size_t end = text.find(sep, begin);
    std::string item(Trim(std::string_view(text).substr(begin, end == std::string::npos ? std::string::npos : end - begin)));
    if (!item.empty()) out.push_back(std::move(item));
    if (end == std::string::npos) return out;
    begin = end + 1;
  }
}

// Charset and collation names, binlog file names: a narrow alphabet, so they can be written bare.
bool IsPlainName(const std::string& s, const std::string& extra = "_") {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string::npos;
  });
}

// The last lines of a command's stderr: enough to see why, short enough for one error line.
std::string Tail(const std::string& text) {
  constexpr size_t kMaxLines = 5;
  constexpr size_t kMaxChars = 600;
  std::string t(Trim(text));
  size_t pos = t.size();
  for (size_t lines = 0; lines < kMaxLines && pos != std::string::npos && pos > 0; ++lines) {
    pos = t.rfind('\n', pos - 1);
  }
  std::string tail = pos == std::string::npos ? t : t.substr(pos + 1);
  if (tail.size() > kMaxChars) tail = "..." + tail.substr(tail.size() - kMaxChars);
  for (char& c : tail) {
    if (c == '\n') c = ' ';
  }
  return tail.empty() ? "(no output)" : tail;
}

std::string Field(const Row& row, const std::string& name) {
  auto it = row.find(name);
  return it == row.end() ? std::string() : it->second;
}

std::string StalePlan(const Action& action, const std::string& why) {
  return "stale plan: " + action.id + " " + why + " (plan again)";
}

// The dynamic variables set-global may touch, and how their values are checked and written.
enum class VarKind { kServerId, kBool, kBinlogFormat, kNetTimeout, kSemiSyncTimeout, kWaitPoint };
const std::map<std::string, VarKind>& DynamicVariables() {
  static const std::map<std::string, VarKind> kVars = {
      {"server_id", VarKind::kServerId},
      {"binlog_format", VarKind::kBinlogFormat},
      {"gtid_strict_mode", VarKind::kBool},
      {"read_only", VarKind::kBool},
      {"rpl_semi_sync_master_enabled", VarKind::kBool},
      {"rpl_semi_sync_slave_enabled", VarKind::kBool},
      {"rpl_semi_sync_master_wait_point", VarKind::kWaitPoint},
      {"rpl_semi_sync_master_timeout", VarKind::kSemiSyncTimeout},
      {"slave_net_timeout", VarKind::kNetTimeout},
  };
  return kVars;
}

// The value as SET GLOBAL takes it, or nullopt if it is not a valid value of that kind.
std::optional<std::string> SqlValueOf(VarKind kind, const std::string& value) {
  switch (kind) {
    case VarKind::kServerId:
      if (!IsDigits(value) || value.size() > 10 || std::stoull(value) < 1 || std::stoull(value) > 4294967295ULL) {
        return std::nullopt;
      }
      return std::to_string(std::stoull(value));
    case VarKind::kBool: {
      std::string b = NormalizeBool(value);
      if (value.empty() || (b != "ON" && b != "OFF")) return std::nullopt;
      return b;
    }
    case VarKind::kBinlogFormat: {
      std::string f = Upper(value);
      if (f != "ROW" && f != "MIXED" && f != "STATEMENT") return std::nullopt;
      return QuoteString(f);
    }
    case VarKind::kNetTimeout:  // seconds, MariaDB's range
    case VarKind::kSemiSyncTimeout: {  // milliseconds
      uint64_t max = kind == VarKind::kNetTimeout ? 31536000ULL : 4294967295ULL;
      if (!IsDigits(value) || value.size() > 10 || std::stoull(value) < 1 || std::stoull(value) > max) {
        return std::nullopt;
      }
      return std::to_string(std::stoull(value));
    }
    case VarKind::kWaitPoint: {
      std::string w = Upper(value);
      if (w != "AFTER_SYNC" && w != "AFTER_COMMIT") return std::nullopt;
      return QuoteString(w);
    }
  }
  return std::nullopt;
}

// Whether the running value (as SELECT @@GLOBAL.x shows it) already is `sql_value`.
bool RunningValueIs(VarKind kind, const std::string& running, const std::string& sql_value) {
  switch (kind) {
    case VarKind::kServerId: return running == sql_value;
    case VarKind::kBool: return NormalizeBool(running) == sql_value;
    case VarKind::kBinlogFormat:
    case VarKind::kWaitPoint: return QuoteString(Upper(running)) == sql_value;
    case VarKind::kNetTimeout:
    case VarKind::kSemiSyncTimeout: return running == sql_value;
  }
  return false;
}

// Each host's session gives its sound connections back to the pool as it goes.
LiveExecutor::~LiveExecutor() = default;

LiveExecutor::LiveExecutor(Topology topology, SessionPool* pool)
    : topology_(std::move(topology)), own_factory_(std::make_unique<LiveSessionFactory>(pool)),
      factory_(*own_factory_), pool_(pool) {
  Init();
}

LiveExecutor::LiveExecutor(Topology topology, SessionFactory& factory)
    : topology_(std::move(topology)), factory_(factory), pool_(nullptr) {
  Init();
}

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
  // Every secret is resolved once, up front, so every error text can be redacted of all of them,
  // whichever action failed. One that cannot be resolved fails only the actions that need it.
  std::vector<const SecretRef*> refs = {&topology_.replication.password};
  for (const ServerSpec& server : topology_.servers) refs.push_back(&server.mysql.password);
  for (const UserSpec& user : topology_.users) refs.push_back(&user.password);
  for (const SecretRef* ref : refs) {
    auto key = std::make_pair(ref->kind, ref->name);
    if (ref->empty() || secrets_.count(key) != 0) continue;
    auto [it, inserted] = secrets_.emplace(key, ResolveSecret(*ref));
    if (it->second.ok()) all_secrets_.push_back(&it->second.value());
  }
}

Result<const Secret*> LiveExecutor::SecretOf(const SecretRef& ref, const std::string& what) const {
  auto it = secrets_.find({ref.kind, ref.name});
  if (ref.empty() || it == secrets_.end()) return Status::InvalidArgument(what + " has no password in the topology");
  if (!it->second.ok()) return it->second.status().WithContext(what);
  return &it->second.value();
}

Status LiveExecutor::Redact(const Status& status) const {
  if (status.ok()) return status;
  return status.WithMessage(RedactSecrets(status.message(), all_secrets_));
}

Status LiveExecutor::Execute(const Action& action, const ProgressFn& progress) {
  auto it = hosts_.find(action.host);
  if (it == hosts_.end()) {
    return Status::InvalidArgument(StalePlan(action, "names host '" + action.host + "', not a server of the topology"));
  }
  // The applier runs an app's action beside a server action on the same host (engine/applier.h):
  // each lane has its own lock and its own session.
  Host& host = LaneOf(action.kind) == ActionLane::kApp ? *it->second.app : *it->second.server;
  std::lock_guard<std::mutex> lock(host.mutex);
  Status status;
  try {
    status = Dispatch(action, host, progress);
  } catch (const std::exception& e) {
    // Nothing here should throw; if a library does, the apply reports it instead of dying.
    status = Status::Internal(action.id + ": unexpected error: " + e.what());
  }
  return Redact(status);
}

Status LiveExecutor::Dispatch(const Action& action, Host& host, const ProgressFn& progress) {
  switch (action.kind) {
    case ActionKind::kEditConfig: return EditConfig(action, host);
    case ActionKind::kRestartServer: return RestartServer(action, host);
    case ActionKind::kSetGlobal: return SetGlobal(action, host);
    case ActionKind::kCreateReplicationUser: return EnsureReplicationUser(action, host);
    case ActionKind::kCreateDatabase: return CreateDatabase(action, host);
    case ActionKind::kCreateUser: return EnsureDeclaredUser(action, host, true);
    case ActionKind::kGrantPrivileges: {
      const ReplicationSpec& r = topology_.replication;
      auto user = action.params.find("user");
      auto host_part = action.params.find("host");
      bool repl = user != action.params.end() && host_part != action.params.end() && user->second == r.user &&
                  host_part->second == r.host;
      return repl ? EnsureReplicationUser(action, host) : EnsureDeclaredUser(action, host, false);
    }
    case ActionKind::kSeedReplica: return SeedReplicaAction(action, host, progress);
    case ActionKind::kChangeSource: return ChangeSource(action, host);
    case ActionKind::kStartReplica: return StartReplica(action, host);
    case ActionKind::kResetReplica: return ResetReplica(action, host);
    // providers/promotion_actions.cc
    case ActionKind::kFencePrimary: return FencePrimary(action, host, progress);
    case ActionKind::kWaitForCatchUp: return WaitForCatchUp(action, host, progress);
    case ActionKind::kApplyRelayLog: return ApplyRelayLog(action, host, progress);
    case ActionKind::kPromoteReplica: return PromoteReplica(action, host);
    case ActionKind::kRewriteAppConfig: return RewriteAppConfig(action, host);
    case ActionKind::kRestartApp: return RestartApp(action, host, progress);
    case ActionKind::kCheckHealth: return CheckHealth(action, host, progress);
  }
  return Status::InvalidArgument(action.id + ": unknown action kind");
}

// --- accounts, read ----------------------------------------------------------------------------

Result<bool> LiveExecutor::AccountExists(Host& host, const std::string& user, const std::string& host_part) {
  auto rows = host.session->Query(
      "SELECT COUNT(*) AS n FROM mysql.user WHERE user = " + QuoteString(user) + " AND host = " + QuoteString(host_part),
      {}, "looking up " + QuoteAccount(user, host_part));
  if (!rows.ok()) return rows.status();
  return !rows->empty() && Field(rows->front(), "n") != "0";
}

Result<std::vector<std::string>> LiveExecutor::GrantsOf(Host& host, const std::string& account) {
  auto rows = host.session->Query("SHOW GRANTS FOR " + account);
  if (!rows.ok()) return rows.status();
  std::vector<std::string> lines;
  for (const Row& row : *rows) {
    if (!row.empty()) lines.push_back(row.begin()->second);
  }
  return lines;
}

// --- edit-config ------------------------------------------------------------------------------

Status LiveExecutor::EditConfig(const Action& action, Host& host) {
  const ServerSpec& spec = *host.spec;
  // The values written come from the topology (that a saved plan's `to` agrees with it is
  // CheckPlanAgainstTopology's, engine/plan_check.h).
  std::vector<ConfigSetting> desired = DesiredConfig(topology_, spec);
  std::vector<std::pair<std::string, std::string>> set;
  for (const Change& change : action.changes) {
    auto it = std::find_if(desired.begin(), desired.end(), [&](const ConfigSetting& c) { return c.key == change.key; });
    if (it == desired.end()) {
      return Status::InvalidArgument(StalePlan(action, "sets '" + change.key + "', which replplan does not manage"));
    }
    if (it->value.find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument(spec.name + ": " + change.key + " has a line break; it cannot go into " +
                                     spec.config_file);
    }
    set.emplace_back(change.key, it->value);
  }
  if (set.empty()) return Status::OK();

  Status ssh = host.session->ConnectSsh();
  if (!ssh.ok()) return ssh;
  auto current = host.session->ReadFile(spec.config_file);
  if (!current.ok()) return current.status().WithContext(spec.name + ": reading " + spec.config_file);
  std::string before = current->value_or("");
  std::string after = EditMyCnf(before, set);
  if (current->has_value() && after == before) return Status::OK();  // already written (an earlier run)

  Status written = host.session->AtomicWrite(spec.config_file, after);
  if (!written.ok()) return written.WithContext(spec.name + ": " + spec.config_file);
  return Status::OK();
}

// --- restart-server ---------------------------------------------------------------------------

Result<std::vector<std::string>> LiveExecutor::StaticMismatches(Host& host, const std::vector<std::string>& settings) {
  const ServerSpec& spec = *host.spec;
  auto rows = host.session->Query(
      "SELECT @@GLOBAL.log_bin AS log_bin, @@GLOBAL.log_bin_basename AS log_bin_basename, "
      "@@GLOBAL.bind_address AS bind_address, @@GLOBAL.log_slave_updates AS log_slave_updates, "
      "@@GLOBAL.report_host AS report_host",
      {}, "reading static settings");
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::Internal(spec.name + ": reading static settings gave no row");
  const Row& row = rows->front();
  std::string bind = spec.bind_address.empty() ? spec.address : spec.bind_address;
  std::vector<std::string> out;
  for (const std::string& setting : settings) {
    if (setting == "log_bin") {
      if (NormalizeBool(Field(row, "log_bin")) != "ON") {
        out.push_back("log_bin=OFF (wants " + spec.log_bin + ")");
      } else if (Field(row, "log_bin_basename") != BinlogBasename(spec.log_bin)) {
        out.push_back("log_bin_basename=" + Field(row, "log_bin_basename") + " (wants " + BinlogBasename(spec.log_bin) + ")");
      }
    } else if (setting == "bind_address" && Field(row, "bind_address") != bind) {
      out.push_back("bind_address=" + Field(row, "bind_address") + " (wants " + bind + ")");
    } else if (setting == "log_slave_updates" && NormalizeBool(Field(row, "log_slave_updates")) != "ON") {
      out.push_back("log_slave_updates=OFF (wants ON)");
    } else if (setting == "report_host" && Field(row, "report_host") != spec.name) {
      out.push_back("report_host=" + Field(row, "report_host") + " (wants " + spec.name + ")");
    }
  }
  return out;
}

Status LiveExecutor::WaitForSql(Host& host) {
  const ServerSpec& spec = *host.spec;
  auto deadline = std::chrono::steady_clock::now() + kAnswerAfterRestart;
  std::string last_error;
  for (;;) {
    host.session->DropSql();
    Status connection = host.session->ConnectSql(kReconnectTimeoutMs);
    if (connection.ok()) {
      auto ping = host.session->Query("SELECT 1", {}, "first query after restart");
      if (ping.ok()) return Status::OK();
      last_error = ping.status().message();
    } else {
      last_error = connection.message();
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kReconnectPause);
  }
  return Status::Unavailable(spec.name + " did not answer SQL within " +
                             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kAnswerAfterRestart).count()) +
                             " s after restart: " + last_error);
}

Status LiveExecutor::RestartServer(const Action& action, Host& host) {
  const ServerSpec& spec = *host.spec;
  auto param = action.params.find("settings");
  // Each one of RestartSettingNames() (engine/action.h): the saved-plan reader refuses others.
  std::vector<std::string> settings = Split(param == action.params.end() ? "" : param->second, ',');
  // Already running with every setting (an earlier apply restarted it): a second restart would
  // only cost an outage. If the server does not answer at all, the restart is what it needs.
  auto before = StaticMismatches(host, settings);
  if (before.ok() && before->empty() && !settings.empty()) return Status::OK();

  host.session->DropSql();
  auto session = factory_.Open(spec, SessionLimits{.command_timeout_ms = kRestartCommandTimeoutMs});
  Status ssh = session->ConnectSsh();
  if (!ssh.ok()) return ssh;
  // The restart must finish even if replplan dies mid-way (kill -9 closes this channel): with
  // SIGHUP and SIGPIPE ignored, the command and what it starts outlive the channel instead of
  // dying between "stop" and "start" and leaving the server down.
  auto run = session->Run("trap '' HUP PIPE; " + spec.restart);
  if (!run.ok()) return run.status().WithContext(spec.name + ": restart command");
  if (run->exit_status != 0) {
    return Status::Internal(spec.name + ": restart command failed (exit " + std::to_string(run->exit_status) +
                            "): " + Tail(run->err.empty() ? run->out : run->err));
  }
  Status answered = WaitForSql(host);
  if (!answered.ok()) return answered;

  auto after = StaticMismatches(host, settings);
  if (!after.ok()) return after.status();
  if (!after->empty()) {
    return Status::FailedPrecondition(
        spec.name + " restarted but runs with " + Join(*after, ", ") + ": " + spec.config_file +
        " sets them, so the server does not read that file (or a later option file or its command line "
        "overrides it); check config_file in the topology against the server's --defaults-file and "
        "!includedir");
  }
  return Status::OK();
}

// --- set-global -------------------------------------------------------------------------------

Status LiveExecutor::SetGlobal(const Action& action, Host& host) {
  // Every key and value is checked before anything is set: a bad plan changes nothing.
  std::vector<std::tuple<std::string, VarKind, std::string>> sets;
  for (const auto& [key, value] : action.params) {
    auto var = DynamicVariables().find(key);
    if (var == DynamicVariables().end()) {
      return Status::InvalidArgument(StalePlan(action, "sets '" + key + "', not a variable replplan sets at runtime"));
    }
    auto sql_value = SqlValueOf(var->second, value);
    if (!sql_value) {
      return Status::InvalidArgument(StalePlan(action, "sets " + key + " to '" + value + "', not a valid value"));
    }
    sets.emplace_back(key, var->second, *sql_value);
  }
  // A replica negotiates semi-sync when its IO thread connects, so a running IO thread is stopped
  // around a change of rpl_semi_sync_slave_enabled and started again. Stopping first keeps this
  // convergent: cut short after the STOP, the next plan sees the IO thread down and starts it.
  auto set_semi_sync_slave = [&](const std::string& sql) -> Status {
    auto channel = host.session->ReplicaStatus();
    if (!channel.ok()) return channel.status();
    const bool restart_io = channel->has_value() && !(*channel)->io_running.empty() && (*channel)->io_running != "No";
    if (restart_io) {
      Status stop = host.session->StopReplica(ReplicaThreads::kIo);
      if (!stop.ok()) return stop;
    }
    Status set = host.session->Execute(sql);
    if (!set.ok() || !restart_io) return set;
    return host.session->StartReplica(ReplicaThreads::kIo);
  };
  for (const auto& [key, kind, sql_value] : sets) {
    auto running = host.session->Global(key);
    if (!running.ok()) return running.status();
    if (RunningValueIs(kind, *running, sql_value)) continue;
    const std::string sql = "SET GLOBAL " + key + " = " + sql_value;
    Status set = key == "rpl_semi_sync_slave_enabled" ? set_semi_sync_slave(sql) : host.session->SetGlobal(key, sql_value);
    if (!set.ok()) return set;
  }
  return Status::OK();
}

// --- accounts and databases ---------------------------------------------------------------

// On every node, with binary logging off for this session only: each node gets its own copy, and
// a statement that replicated would fail on replicas that already have the account.
Status LiveExecutor::EnsureReplicationUser(const Action& action, Host& host) {
  (void)action;  // the account is the topology's (CheckPlanAgainstTopology holds a saved plan to it)
  const ReplicationSpec& r = topology_.replication;
  const std::string account = QuoteAccount(r.user, r.host);
  const GrantSpec grant = ReplicationSlaveGrant();
  auto exists = AccountExists(host, r.user, r.host);
  if (!exists.ok()) return exists.status();
  if (*exists) {
    auto grants = GrantsOf(host, account);
    if (!grants.ok()) return grants.status();
    if (GrantsCover(*grants, grant)) return Status::OK();
  }
  auto password = SecretOf(r.password, "replication password");
  if (!password.ok()) return password.status();

  Status off = host.session->Execute("SET SESSION sql_log_bin = 0");
  if (!off.ok()) return off;
  Status done = host.session->Execute("CREATE USER IF NOT EXISTS " + account + " " + IdentifiedByHash(**password),
                                      {*password}, "CREATE USER " + account);
  if (done.ok()) done = host.session->Execute("GRANT " + grant.text + " TO " + account);
  // The connection is cached for later actions, which must replicate: never keep one that does not log.
  Status on = host.session->Execute("SET SESSION sql_log_bin = 1");
  if (!on.ok()) host.session->DropSql();
  return done;
}

Status LiveExecutor::CreateDatabase(const Action& action, Host& host) {
  auto param = action.params.find("database");
  const DatabaseSpec* db = nullptr;
  for (const DatabaseSpec& d : topology_.databases) {
    if (param != action.params.end() && d.name == param->second) db = &d;
  }
  if (db == nullptr) return Status::InvalidArgument(StalePlan(action, "names a database the topology does not declare"));
  if (!IsPlainName(db->charset) || (!db->collation.empty() && !IsPlainName(db->collation))) {
    return Status::InvalidArgument("database " + db->name + ": charset '" + db->charset + "' / collation '" +
                                   db->collation + "' is not a valid name");
  }
  auto rows = host.session->Query(
      "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE schema_name = " + QuoteString(db->name), {},
      "looking up database " + db->name);
  if (!rows.ok()) return rows.status();
  if (!rows->empty() && Field(rows->front(), "n") != "0") return Status::OK();
  std::string sql = "CREATE DATABASE IF NOT EXISTS " + QuoteIdentifier(db->name) + " CHARACTER SET " + db->charset;
  if (!db->collation.empty()) sql += " COLLATE " + db->collation;
  return host.session->Execute(sql, {}, "CREATE DATABASE " + QuoteIdentifier(db->name));
}

// MariaDB writes CREATE USER ... IDENTIFIED BY 'text' into the binlog as it was sent, and every
// statement as sent into the general and slow query logs and the process list: a password in
// clear would reach all of them (and every backup of a log). The hash is computed here
// (engine/native_password.h) and only the hash is sent, as mysql.global_priv holds it on every
// node anyway. MySQL rewrites the statement itself.
std::string LiveExecutor::IdentifiedByHash(const Secret& password) const {
  if (topology_.cluster.flavor == Flavor::kMySQL) return "IDENTIFIED BY " + QuoteString(password.reveal());
  return "IDENTIFIED BY PASSWORD " + QuoteString(MysqlNativePasswordHash(password.reveal()));
}

// A declared [[user]]: created on the primary with normal binary logging, so it replicates. Only
// the grants the account lacks are given; a grant-privileges action without the account fails
// rather than let GRANT create a user without a password.
Status LiveExecutor::EnsureDeclaredUser(const Action& action, Host& host, bool create) {
  auto name = action.params.find("user");
  auto host_param = action.params.find("host");
  const UserSpec* user = nullptr;
  for (const UserSpec& u : topology_.users) {
    if (name != action.params.end() && host_param != action.params.end() && u.name == name->second &&
        u.host == host_param->second) {
      user = &u;
    }
  }
  if (user == nullptr) return Status::InvalidArgument(StalePlan(action, "names an account the topology does not declare"));
  const std::string account = QuoteAccount(user->name, user->host);

  // Which grants: all of the user's (create), or those the plan names, each one of the user's.
  std::vector<const GrantSpec*> wanted;
  if (create) {
    for (const GrantSpec& g : user->grants) wanted.push_back(&g);
  } else {
    auto grants = action.params.find("grants");
    for (const std::string& text : Split(grants == action.params.end() ? "" : grants->second, ';')) {
      auto it = std::find_if(user->grants.begin(), user->grants.end(), [&](const GrantSpec& g) { return g.text == text; });
      if (it == user->grants.end()) {
        return Status::InvalidArgument(StalePlan(action, "grants '" + text + "', which the topology does not give " + account));
      }
      wanted.push_back(&*it);
    }
  }

  auto exists = AccountExists(host, user->name, user->host);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    if (!create) return Status::FailedPrecondition(account + " does not exist on " + host.spec->name + ": plan again");
    auto password = SecretOf(user->password, "password of " + account);
    if (!password.ok()) return password.status();
    if ((*password)->reveal().empty()) {
      return Status::InvalidArgument("password of " + account + " is empty: give the account a password");
    }
    Status created = host.session->Execute("CREATE USER IF NOT EXISTS " + account + " " + IdentifiedByHash(**password),
                                           {*password}, "CREATE USER " + account);
    if (!created.ok()) return created;
  }
  auto have = GrantsOf(host, account);
  if (!have.ok()) return have.status();
  for (const GrantSpec* g : wanted) {
    if (GrantsCover(*have, *g)) continue;
    Status granted = host.session->Execute("GRANT " + g->text + " TO " + account);
    if (!granted.ok()) return granted;
  }
  return Status::OK();
}

// --- replication --------------------------------------------------------------------------

Status LiveExecutor::ChangeSource(const Action& action, Host& host) {
  const ServerSpec& spec = *host.spec;
  const ReplicationSpec& r = topology_.replication;
  auto source_param = action.params.find("source");
  const ServerSpec* source = source_param == action.params.end() ? nullptr : topology_.FindServer(source_param->second);
  if (source == nullptr || source == &spec) {
    return Status::InvalidArgument(StalePlan(action, "has no valid source server"));
  }
  bool gtid = r.mode == ReplicationMode::kGtid;
  auto param = [&](const std::string& key) {
    auto it = action.params.find(key);
    return it == action.params.end() ? std::string() : it->second;
  };
  std::string use_gtid = gtid ? param("use_gtid") : "no";
  if (use_gtid != "slave_pos" && use_gtid != "current_pos" && use_gtid != "no") {
    return Status::InvalidArgument(StalePlan(action, "has use_gtid '" + use_gtid + "'"));
  }
  bool from_seed = param("position") == "from-seed";
  const std::string port = std::to_string(source->mysql.port);

  auto status = host.session->ReplicaStatus();
  if (!status.ok()) return status.status();
  bool configured = status->has_value();
  const ReplicaChannel channel = status->value_or(ReplicaChannel{});  // all empty when not configured
  bool same_source = configured && channel.source_host == source->address && channel.source_port == source->mysql.port;
  std::string using_gtid = Lower(channel.using_gtid);
  // Only SHOW ALL SLAVES STATUS has the heartbeat period (as Slave_heartbeat_period); -1 (no
  // channel, or not reported) never matches.
  double running_period = -1;
  if (configured) {
    auto all = host.session->AllReplicaChannels();
    if (!all.ok()) return all.status();
    for (const ReplicaChannel& c : *all) {
      if (c.connection_name.empty() && c.heartbeat_period >= 0) running_period = c.heartbeat_period;
    }
  }
  if (same_source && channel.source_user == r.user && using_gtid == use_gtid &&
      HeartbeatMatches(running_period, r.heartbeat_period)) {
    return Status::OK();  // already replicating from there (an earlier run); START is start-replica's
  }

  // File/position: changing MASTER_HOST resets the coordinates, so the seed's position is read
  // first and passed back explicitly.
  std::string log_file;
  std::string log_pos;
  if (!gtid && from_seed) {
    // The executed position; a connection that never ran has only the read position (equal then).
    log_file = channel.relay_source_log_file;
    std::optional<uint64_t> pos = channel.exec_source_log_pos;
    if (log_file.empty() || pos.value_or(0) == 0) {
      log_file = channel.source_log_file;
      pos = channel.read_source_log_pos;
    }
    log_pos = pos ? std::to_string(*pos) : std::string();
    if (!IsPlainName(log_file, "_.-") || pos.value_or(0) == 0) {
      return Status::FailedPrecondition(spec.name + " has no binlog position from its seed (Master_Log_File '" +
                                        log_file + "', Exec_Master_Log_Pos '" + log_pos + "'): seed it again");
    }
  }
  auto password = SecretOf(r.password, "replication password");
  if (!password.ok()) return password.status();
  // Every check before the first change: a stale plan leaves replication running as it was.
  const bool from_binlog = param("position") == "from-binlog";
  if (from_binlog && (!gtid || use_gtid != "slave_pos")) {
    return Status::InvalidArgument(StalePlan(action, "rejoins from its binlog without MASTER_USE_GTID=slave_pos"));
  }

  // Past the STOP, a failure leaves the replica stopped: it says so.
  const std::string stopped = configured ? "replication on " + spec.name + " is stopped now" : "";
  auto after_stop = [&](const Status& status) { return stopped.empty() ? status : status.WithNote(stopped); };
  if (configured) {
    Status stop = host.session->StopReplica();
    if (!stop.ok()) return stop;
  }
  if (from_binlog) {
    // A former primary rejoining: its own binlog holds everything it applied or wrote, while its
    // gtid_slave_pos may be stale from an earlier time as a replica (and would refetch or skip).
    Status pos = host.session->Execute("SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos", {},
                                       "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos");
    if (!pos.ok()) return after_stop(pos);
  }
  std::vector<std::string> options;
  // Same host and port with a kept position: leave them out, or the server resets the coordinates.
  if (!(same_source && !gtid && !from_seed)) {
    options.push_back("MASTER_HOST = " + QuoteString(source->address));
    options.push_back("MASTER_PORT = " + port);
  }
  options.push_back("MASTER_USER = " + QuoteString(r.user));
  options.push_back("MASTER_PASSWORD = " + QuoteString((*password)->reveal()));
  options.push_back("MASTER_CONNECT_RETRY = 1");
  options.push_back("MASTER_USE_GTID = " + use_gtid);
  // Replicas notice a silent source within slave_net_timeout only if an idle one sends heartbeats.
  options.push_back("MASTER_HEARTBEAT_PERIOD = " + SecondsText(r.heartbeat_period));
  if (!log_file.empty()) {
    options.push_back("MASTER_LOG_FILE = " + QuoteString(log_file));
    options.push_back("MASTER_LOG_POS = " + log_pos);
  }
  // CHANGE MASTER has no hashed form of MASTER_PASSWORD, and the server writes statements as sent
  // to the general and slow query logs: this one goes to neither. The connection is cached for
  // later actions, which are logged as usual: it is dropped when it cannot be put back.
  Status changed = host.session->Execute("SET SESSION sql_log_off = 1, SESSION slow_query_log = 0");
  if (changed.ok()) {
    changed = host.session->Execute("CHANGE MASTER TO " + Join(options, ", "), {*password},
                                    "CHANGE MASTER TO " + source->name);
    Status logged =
        host.session->Execute("SET SESSION sql_log_off = 0, SESSION slow_query_log = @@GLOBAL.slow_query_log");
    if (!logged.ok()) host.session->DropSql();
  }
  if (!changed.ok() && from_binlog) {
    return after_stop(changed.WithNote("gtid_slave_pos was set to " + spec.name + "'s own binlog position"));
  }
  return after_stop(changed);
}

// The replica's own error text and what usually fixes it.
std::string LiveExecutor::ReplicaFailure(const Host& host, const ReplicaChannel& channel, const std::string& what) const {
  const ServerSpec* source = nullptr;
  for (const ServerSpec& s : topology_.servers) {
    if (s.address == channel.source_host) source = &s;
  }
  std::string source_name = source ? source->name : channel.source_host;
  std::string where = channel.source_host + ":" + std::to_string(channel.source_port);
  std::string text = host.spec->name + ": " + what + " (Slave_IO_Running: " + channel.io_running +
                     ", Slave_SQL_Running: " + (channel.sql_running ? "Yes" : "No") + ")";
  if (channel.last_io_errno != 0) {
    text += "; Last_IO_Errno " + std::to_string(channel.last_io_errno) + ": " + channel.last_io_error;
    int number = channel.last_io_errno;
    if (number == kErrBinlogGone) {
      text += " (remedy: " + source_name + " no longer has the binlog this replica needs; reseed " +
              host.spec->name + ")";
    } else if (number == kErrAccessDenied) {
      text += " (remedy: " + source_name + " refused the replication login: check that " +
              QuoteAccount(topology_.replication.user, topology_.replication.host) + " exists on " + source_name +
              " with REPLICATION SLAVE and the password from " + topology_.replication.password.Describe() + ")";
    } else if (number == kErrConnRefused || number == kErrConnLocal) {
      text += " (remedy: " + source_name + " is not reachable at " + where +
              ": is it running, and is its bind_address right?)";
    }
  }
  if (channel.last_sql_errno != 0) {
    text += "; Last_SQL_Errno " + std::to_string(channel.last_sql_errno) + ": " + channel.last_sql_error +
            " (remedy: the replica's data diverged from its source; reseed " + host.spec->name + ")";
  }
  return text;
}

Status LiveExecutor::StartReplica(const Action& action, Host& host) {
  (void)action;
  const ServerSpec& spec = *host.spec;
  auto status = host.session->ReplicaStatus();
  if (!status.ok()) return status.status();
  if (!status->has_value()) {
    return Status::FailedPrecondition(spec.name + " has no replication source: change-source must run first");
  }
  auto running = [](const ReplicaChannel& c) { return c.io_running == "Yes" && c.sql_running; };
  if (!running(**status)) {
    Status start = host.session->StartReplica();
    if (!start.ok()) {
      if (start.sql_errno() == kErrMasterInfo) {
        return start.WithMessage(start.message() + " (remedy: the replica's master info is gone: RESET SLAVE ALL, "
                                                   "then change-source again; plan again to get both)");
      }
      return start;
    }
  }
  // Both threads report Yes before the source has answered the binlog request; an error such as
  // 1236 comes right after. Two running polls in a row, without error, count as running.
  auto deadline = std::chrono::steady_clock::now() + kReplicaStartLimit;
  int running_polls = 0;
  for (;;) {
    status = host.session->ReplicaStatus();
    if (!status.ok()) return status.status();
    const ReplicaChannel channel = status->value_or(ReplicaChannel{});  // a channel gone meanwhile: all empty
    bool io_error = channel.last_io_errno != 0;
    bool sql_error = channel.last_sql_errno != 0;
    running_polls = running(channel) && !io_error && !sql_error ? running_polls + 1 : 0;
    if (running_polls >= 2) return Status::OK();
    int io_errno = channel.last_io_errno;
    // Errors that retrying does not cure: a stopped thread, refused credentials, purged binlogs.
    bool hopeless = (!channel.sql_running && sql_error) || (channel.io_running == "No" && io_error) ||
                    io_errno == kErrAccessDenied || io_errno == kErrBinlogGone;
    if (hopeless) return Status::FailedPrecondition(ReplicaFailure(host, channel, "replication did not start"));
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable(ReplicaFailure(
          host, channel,
          "replication did not start within " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kReplicaStartLimit).count()) + " s"));
    }
    std::this_thread::sleep_for(kReplicaPoll);
  }
}

Status LiveExecutor::ResetReplica(const Action& action, Host& host) {
  auto param = action.params.find("connection_name");
  std::string connection = param == action.params.end() ? "" : param->second;
  auto channels = host.session->AllReplicaChannels();
  if (!channels.ok()) return channels.status();
  bool present = std::any_of(channels->begin(), channels->end(),
                             [&](const ReplicaChannel& c) { return c.connection_name == connection; });
  if (!present) return Status::OK();  // already forgotten
  std::string name = connection.empty() ? "" : " " + QuoteString(connection);
  Status stop = host.session->Execute("STOP SLAVE" + name);
  if (!stop.ok()) return stop;
  return host.session->Execute("RESET SLAVE" + name + " ALL");
}

Status LiveExecutor::SeedReplicaAction(const Action& action, Host& host, const ProgressFn& progress) {
  auto param = action.params.find("source");
  const ServerSpec* source = param == action.params.end() ? nullptr : topology_.FindServer(param->second);
  if (source == nullptr || source == host.spec) {
    return Status::InvalidArgument(StalePlan(action, "has no valid source server"));
  }
  // Done already when change-source ran after it: the replica follows this source as the
  // replication user, without the errors that call for a reseed. Anything less (the seeder points
  // the connection at the source before the copy arrives) may be a copy cut short: seed again.
  auto status = host.session->ReplicaStatus();
  if (!status.ok()) return status.status();
  const std::optional<ReplicaChannel>& channel = *status;
  if (channel && channel->source_host == source->address && channel->source_port == source->mysql.port &&
      channel->source_user == topology_.replication.user && channel->last_io_errno != kErrBinlogGone &&
      channel->last_sql_errno == 0) {
    return Status::OK();
  }
  ProgressFn forward = progress ? progress : [](const std::string&) {};
  auto drops = action.params.find("drops");
  Status seeded = SeedReplica(topology_, *source, *host.spec, action.destructive, forward,
                              drops == action.params.end() ? "" : drops->second);
  // The restore may have changed what this host's session sees (users, replication state).
  host.session->DropSql();
  return seeded;
}

}  // namespace internal

std::unique_ptr<ActionExecutor> MakeLiveExecutor(const Topology& topology, SessionPool* pool) {
  return std::make_unique<internal::LiveExecutor>(topology, pool);
}

std::unique_ptr<ActionExecutor> MakeLiveExecutor(const Topology& topology, SessionFactory& factory) {
  return std::make_unique<internal::LiveExecutor>(topology, factory);
}

}  // namespace replplan
