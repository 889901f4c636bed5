// Configuration steps: edit-config (the managed keys of the server's config_file), restart-server
// (its restart command, then the static settings checked), set-global (dynamic settings at runtime).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/desired_config.h"
#include "engine/gtid.h"
#include "engine/mycnf.h"
#include "engine/sql_quote.h"
#include "engine/text.h"
#include "providers/steps/steps.h"

namespace replplan {
namespace steps {
namespace {

// A restart is promised an answer or a clear error within this bound (the "bounded").
constexpr auto kAnswerAfterRestart = std::chrono::seconds(60);
constexpr int kReconnectTimeoutMs = 2000;
constexpr auto kReconnectPause = std::chrono::milliseconds(200);
// A restart of a server with a large buffer pool may legitimately take minutes, so its command
// gets a session and bound of its own.
constexpr int kRestartCommandTimeoutMs = 900'000;

// Static settings of `settings` that the running server does not have, in words.
Result<std::vector<std::string>> StaticMismatches(const StepContext& ctx, const std::vector<std::string>& settings) {
  const ServerSpec& spec = ctx.server;
  auto rows = ctx.session.Query(
      "SELECT @@GLOBAL.log_bin AS log_bin, @@GLOBAL.log_bin_basename AS log_bin_basename, "
      "@@GLOBAL.bind_address AS bind_address, @@GLOBAL.log_slave_updates AS log_slave_updates, "
      "@@GLOBAL.report_host AS report_host, @@GLOBAL.datadir AS datadir",
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
      } else if (!BinlogBasenameMatches(spec.log_bin, Field(row, "log_bin_basename"), Field(row, "datadir"))) {
        out.push_back("log_bin_basename=" + Field(row, "log_bin_basename") + " (wants " +
                      WantedBinlogBasename(spec.log_bin, Field(row, "datadir")) + ")");
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

// Reconnects until the restarted server answers SQL, within kAnswerAfterRestart.
Status WaitForSql(const StepContext& ctx) {
  const ServerSpec& spec = ctx.server;
  auto deadline = std::chrono::steady_clock::now() + kAnswerAfterRestart;
  std::string last_error;
  for (;;) {
    ctx.session.DropSql();
    Status connection = ctx.session.ConnectSql(kReconnectTimeoutMs);
    if (connection.ok()) {
      auto ping = ctx.session.Query("SELECT 1", {}, "first query after restart");
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

// Binlog file names of one server ("mysql-bin.000009" < "mysql-bin.000010"): shorter first, then
// by text, so a sequence number that grew a digit still sorts after.
bool FileBefore(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// What the source had when the restarted replica answered again, as the replica's channel counts
// it: a GTID position, or a (file, position) of the source's binlog.
struct SourcePosition {
  std::string gtid;
  std::string file;
  uint64_t pos = 0;
};

Result<SourcePosition> ReadSourcePosition(const StepContext& ctx, const ServerSpec& source) {
  auto other = ctx.sessions.Open(source);
  auto gtid = other->Query("SELECT @@GLOBAL.gtid_binlog_pos AS g", {}, "reading " + source.name + "'s @@gtid_binlog_pos");
  if (!gtid.ok()) return gtid.status();
  auto status = other->Query("SHOW MASTER STATUS", {}, "reading " + source.name + "'s binlog position");
  if (!status.ok()) return status.status();
  SourcePosition out;
  out.gtid = gtid->empty() ? "" : Field(gtid->front(), "g");
  if (!status->empty()) {
    out.file = Field(status->front(), "File");
    std::string pos = Field(status->front(), "Position");
    if (IsDigits(pos) && pos.size() < 19) out.pos = std::stoull(pos);
  }
  return out;
}

// Whether `channel` (and the replica's gtid_slave_pos) has applied `target`.
Result<bool> HasApplied(const StepContext& ctx, const ReplicaChannel& channel, const SourcePosition& target) {
  if (channel.using_gtid != "No" && !channel.using_gtid.empty()) {
    auto want = GtidPosition::Parse(target.gtid);
    if (!want.ok()) return want.status();
    auto rows = ctx.session.Query("SELECT @@GLOBAL.gtid_slave_pos AS s", {}, "reading @@gtid_slave_pos");
    if (!rows.ok()) return rows.status();
    auto have = GtidPosition::Parse(rows->empty() ? "" : Field(rows->front(), "s"));
    if (!have.ok()) return have.status();
    return have->Contains(*want);
  }
  if (target.file.empty()) return true;  // the source writes no binlog: nothing to wait for
  const std::string& file = channel.relay_source_log_file;
  if (file != target.file) return FileBefore(target.file, file);
  return channel.exec_source_log_pos.value_or(0) >= target.pos;
}

// "IO thread: Connecting, SQL thread: Yes; IO error 2003: ..."
std::string ThreadsText(const ReplicaChannel& c) {
  std::string out = "IO thread: " + (c.io_running.empty() ? std::string("(none)") : c.io_running) +
                    ", SQL thread: " + (c.sql_running ? "Yes" : "No");
  if (c.last_io_errno != 0) out += "; IO error " + std::to_string(c.last_io_errno) + ": " + c.last_io_error;
  return out;
}

// A rolling restart of a replica: it counts as back only once it replicates from its source again
// and has applied what the source had when it answered, within the bound; only then may the next
// server of the cluster go down (engine/planner/ordering.cc, LinkRestarts).
Status WaitCaughtUp(const StepContext& ctx, const Action& action, const RestartServerArgs& args) {
  const ServerSpec& spec = ctx.server;
  const ServerSpec* source = ctx.topology.FindServer(args.catch_up_from);
  if (source == nullptr || source->name == spec.name) {
    return Status::InvalidArgument(StalePlan(action, "waits for catch-up with no valid source server"));
  }
  if (args.catch_up_timeout_s < 1 || args.catch_up_timeout_s > kMaxWaitSeconds) {
    return Status::InvalidArgument(StalePlan(action, "has catch_up_timeout_s '" + std::to_string(args.catch_up_timeout_s) +
                                                         "', not 1.." + std::to_string(kMaxWaitSeconds)));
  }
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(args.catch_up_timeout_s);
  const std::string bound = std::to_string(args.catch_up_timeout_s) + " s (restart_catch_up_timeout in [cluster])";
  const std::string stopped = "; apply stopped here: no other server of the cluster is restarted until " + spec.name +
                              " has caught up (fix it, then run apply again)";
  std::optional<SourcePosition> target;
  std::string last;
  for (;;) {
    auto channel = ctx.session.ReplicaStatus();
    if (!channel.ok()) return channel.status();
    if (!channel->has_value()) {
      return Status::FailedPrecondition(spec.name + " restarted with no replication channel, so it does not replicate "
                                        "from " + source->name + stopped);
    }
    const ReplicaChannel& c = **channel;
    if (!c.sql_running && c.last_sql_errno != 0) {
      return Status::FailedPrecondition(ReplicaFailure(ctx, c, "after its restart") + stopped);
    }
    if (c.io_running == "Yes" && c.sql_running) {
      if (!target) {
        auto read = ReadSourcePosition(ctx, *source);
        if (!read.ok()) return read.status().WithContext(spec.name + ": rolling restart");
        target = *read;
      }
      auto done = HasApplied(ctx, c, *target);
      if (!done.ok()) return done.status().WithContext(spec.name + ": rolling restart");
      if (*done) {
        Say(ctx, spec.name + ": replicates from " + source->name + " and has caught up " +
                     Seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()) +
                     " after answering");
        return Status::OK();
      }
      last = "replicating, not yet at " + source->name + "'s " +
             (c.using_gtid != "No" && !c.using_gtid.empty() ? "GTID position " + target->gtid
                                                             : "binlog position " + target->file + ":" +
                                                                   std::to_string(target->pos)) +
             " (Seconds_Behind_Master: " + (c.seconds_behind ? std::to_string(*c.seconds_behind) : "NULL") + ")";
    } else {
      last = "not replicating (" + ThreadsText(c) + ")";
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable(spec.name + " restarted but did not replicate from " + source->name +
                                 " and catch up within " + bound + ": " + last + stopped);
    }
    std::this_thread::sleep_for(kReconnectPause);
  }
}

// Whether the running value (as SELECT @@GLOBAL.x shows it) already is `setting`'s.
bool RunningValueIs(const GlobalSetting& setting, const std::string& running) {
  switch (setting.type) {
    case GlobalSetting::Type::kNumber: return running == setting.text;
    case GlobalSetting::Type::kFlag: return NormalizeBool(running) == setting.text;
    case GlobalSetting::Type::kWord: return Upper(running) == setting.text;
  }
  return false;
}

}  // namespace

// --- edit-config ------------------------------------------------------------------------------

Status EditConfig(const StepContext& ctx, const Action& action) {
  const ServerSpec& spec = ctx.server;
  // The values written come from the topology (that a saved plan's `to` agrees with it is
  // CheckPlanAgainstTopology's, engine/plan_check.h).
  std::vector<ConfigSetting> desired = DesiredConfig(ctx.topology, spec);
  const EditConfigArgs& args = action.Args<EditConfigArgs>();
  // Each option file with its keys, config_file first: a key set in an included file is edited
  // there (the server reads that one last), the others go into config_file.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> files = {{spec.config_file, {}}};
  for (const Change& change : action.changes) {
    auto it = std::find_if(desired.begin(), desired.end(), [&](const ConfigSetting& c) { return c.key == change.key; });
    if (it == desired.end()) {
      return Status::InvalidArgument(StalePlan(action, "sets '" + change.key + "', which replplan does not manage"));
    }
    if (it->value.find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument(spec.name + ": " + change.key + " has a line break; it cannot go into " +
                                     spec.config_file);
    }
    auto in = args.files.find(change.key);
    const std::string& file = in == args.files.end() ? spec.config_file : in->second;
    auto entry = std::find_if(files.begin(), files.end(), [&](const auto& f) { return f.first == file; });
    if (entry == files.end()) entry = files.insert(files.end(), {file, {}});
    entry->second.emplace_back(change.key, it->value);
  }

  bool connected = false;
  for (const auto& [file, set] : files) {
    if (set.empty()) continue;
    if (!connected) {
      Status ssh = ctx.session.ConnectSsh();
      if (!ssh.ok()) return ssh;
      connected = true;
    }
    auto current = ctx.session.ReadFile(file);
    if (!current.ok()) return current.status().WithContext(spec.name + ": reading " + file);
    // An included file is edited where it sets the key; one gone since the plan is a stale plan.
    if (file != spec.config_file && !current->has_value()) {
      return Status::FailedPrecondition(StalePlan(action, file + " is gone"));
    }
    std::string before = current->value_or("");
    std::string after = EditMyCnf(before, set);
    if (current->has_value() && after == before) continue;  // already written (an earlier run)
    Status written = ctx.session.AtomicWrite(file, after);
    if (!written.ok()) return written.WithContext(spec.name + ": " + file);
  }
  return Status::OK();
}

// --- restart-server ---------------------------------------------------------------------------

Status RestartServer(const StepContext& ctx, const Action& action) {
  const ServerSpec& spec = ctx.server;
  // Each one of RestartSettingNames() (engine/action.h): the saved-plan reader refuses others.
  const std::vector<std::string>& settings = action.Args<RestartServerArgs>().settings;
  // A serving primary is never restarted in place for a rolling restart: ops::Apply switches over
  // to the replica, restarts it as that replica's replica and switches back (ops/apply.h).
  if (const std::string& to = action.Args<RestartServerArgs>().switchover_to; !to.empty()) {
    return Status::FailedPrecondition(spec.name + "'s restart is a switchover to " + to +
                                      " and back, which `replplan apply` carries out; it is not restarted in place");
  }
  // Already running with every setting (an earlier apply restarted it): a second restart would
  // only cost an outage. If the server does not answer at all, the restart is what it needs. No
  // settings: a start of a server that was down (server-down), done once it answers.
  auto before = StaticMismatches(ctx, settings);
  if (before.ok() && before->empty()) return Status::OK();

  ctx.session.DropSql();
  auto session = ctx.sessions.Open(spec, SessionLimits{.command_timeout_ms = kRestartCommandTimeoutMs});
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
  Status answered = WaitForSql(ctx);
  if (!answered.ok()) return answered;

  auto after = StaticMismatches(ctx, settings);
  if (!after.ok()) return after.status();
  if (!after->empty()) {
    return Status::FailedPrecondition(
        spec.name + " restarted but runs with " + Join(*after, ", ") + ": " + spec.config_file +
        " sets them, so the server does not read that file (or a later option file or its command line "
        "overrides it); check config_file in the topology against the server's --defaults-file and "
        "!includedir");
  }
  const RestartServerArgs& args = action.Args<RestartServerArgs>();
  if (!args.catch_up_from.empty()) return WaitCaughtUp(ctx, action, args);
  return Status::OK();
}

// --- set-global -------------------------------------------------------------------------------

Status SetGlobal(const StepContext& ctx, const Action& action) {
  // Every key and value is checked before anything is set: a bad plan changes nothing.
  // The values are typed and were checked when the plan was made or read; SetGlobalFromText, the
  // one check of a value, holds args built any other way to the same ranges and words.
  const std::vector<GlobalSetting> sets = GlobalSettings(action.Args<SetGlobalArgs>());
  for (const GlobalSetting& setting : sets) {
    SetGlobalArgs checked;
    if (!SetGlobalFromText(checked, setting.name, setting.text).empty()) {
      return Status::InvalidArgument(
          StalePlan(action, "sets " + setting.name + " to '" + setting.text + "', not a valid value"));
    }
  }
  // A replica negotiates semi-sync when its IO thread connects, so a running IO thread is stopped
  // around a change of rpl_semi_sync_slave_enabled and started again. Stopping first keeps this
  // convergent: cut short after the STOP, the next plan sees the IO thread down and starts it.
  auto set_semi_sync_slave = [&](const std::string& sql) -> Status {
    auto channel = ctx.session.ReplicaStatus();
    if (!channel.ok()) return channel.status();
    const bool restart_io = channel->has_value() && !(*channel)->io_running.empty() && (*channel)->io_running != "No";
    if (restart_io) {
      Status stop = ctx.session.StopReplica(ReplicaThreads::kIo);
      if (!stop.ok()) return stop;
    }
    Status set = ctx.session.Execute(sql);
    if (!set.ok() || !restart_io) return set;
    return ctx.session.StartReplica(ReplicaThreads::kIo);
  };
  for (const GlobalSetting& setting : sets) {
    auto running = ctx.session.Global(setting.name);
    if (!running.ok()) return running.status();
    if (RunningValueIs(setting, *running)) continue;
    // Numbers and ON/OFF are written bare, words (ROW, AFTER_SYNC) as strings.
    const std::string sql_value =
        setting.type == GlobalSetting::Type::kWord ? QuoteString(setting.text) : setting.text;
    const std::string sql = "SET GLOBAL " + setting.name + " = " + sql_value;
    Status set = setting.name == "rpl_semi_sync_slave_enabled" ? set_semi_sync_slave(sql)
                                                               : ctx.session.SetGlobal(setting.name, sql_value);
    if (!set.ok()) return set;
  }
  return Status::OK();
}

}  // namespace steps
}  // namespace replplan
