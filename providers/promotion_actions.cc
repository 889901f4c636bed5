// The live executor's switchover and failover steps (fence, catch up, apply the relay log,
// promote) and the app steps (rewrite database.yml, restart, health check). Each one reads the
// server or file first and does only what is still missing, like every other action, so a
// failover interrupted anywhere can be run again. Why each step exists is in docs/failover.md and
// /work/shared/MARIADB-NOTES.md; the comments below say why it is done this way.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "engine/app_restart_marker.h"
#include "engine/database_yml.h"
#include "engine/desired_config.h"
#include "engine/gtid.h"
#include "engine/shell_quote.h"
#include "engine/sql_quote.h"
#include "engine/text.h"
#include "providers/connect_options.h"
#include "providers/http/http_get.h"
#include "providers/live_executor_internal.h"
#include "providers/ssh/atomic_write.h"
#include "providers/ssh/read_files.h"
#include "providers/standby_shell.h"

namespace replplan {
namespace internal {
namespace {

using Clock = std::chrono::steady_clock;

// SET GLOBAL read_only=1 waits for commits in progress; a commit hanging in a semi-sync wait holds
// it forever. Each attempt waits this long, then kills the ACK waiters again and retries.
constexpr int kFenceLockWaitS = 1;
constexpr int kFenceAttempts = 5;
constexpr int kErrLockWaitTimeout = 1205;
constexpr int kErrNoSuchThread = 1094;
// MASTER_GTID_WAIT runs in slices so a stopped SQL thread is seen at once, progress is printed, and
// no single query outlives the connection's read timeout.
constexpr double kGtidWaitSliceS = 1.0;
// The app's restart command: bounded, like every command replplan runs.
constexpr int kAppCommandTimeoutMs = 300'000;
// check-health polls often, so a fast app's time is measured to within a tenth of a second.
constexpr auto kHealthPause = std::chrono::milliseconds(75);
constexpr auto kHealthProgressEvery = std::chrono::seconds(5);
constexpr int kCurlMaxTimeS = 5;

bool IsOn(const std::string& value) { return NormalizeBool(value) == "ON"; }

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Seconds(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f s", s);
  return buffer;
}

void Say(const ProgressFn& progress, const std::string& line) {
  if (progress) progress(line);
}

// A wait's timeout_s, held to 1..kMaxWaitSeconds (the saved-plan reader's range).
Result<int> TimeoutOf(const Action& action, int timeout_s) {
  if (timeout_s < 1 || timeout_s > kMaxWaitSeconds) {
    return Status::InvalidArgument(StalePlan(action, "has timeout_s '" + std::to_string(timeout_s) + "', not 1.." +
                                                         std::to_string(kMaxWaitSeconds)));
  }
  return timeout_s;
}

// A GTID position as the server printed it, re-rendered canonically (and so safe in a literal).
Result<GtidPosition> ParsePosition(const std::string& text, const std::string& what) {
  auto position = GtidPosition::Parse(text);
  if (!position.ok()) return position.status().WithContext(what);
  return position;
}

}  // namespace

Result<const AppSpec*> LiveExecutor::AppOf(const Action& action, const std::string& name) const {
  for (const AppSpec& app : topology_.apps) {
    if (app.name != name) continue;
    if (std::find(app.hosts.begin(), app.hosts.end(), action.host) == app.hosts.end()) {
      return Status::InvalidArgument(StalePlan(action, "names app " + app.name + ", which does not run on " + action.host));
    }
    return &app;
  }
  return Status::InvalidArgument(StalePlan(action, "names an app the topology does not declare"));
}

Result<const ServerSpec*> LiveExecutor::OtherServer(const Action& action, const std::string& name) const {
  const ServerSpec* server = topology_.FindServer(name);
  if (server == nullptr || server->name == action.host) {
    return Status::InvalidArgument(StalePlan(action, "has no valid source server"));
  }
  return server;
}

// --- fence-primary ----------------------------------------------------------------------------

// read_only=1 alone cannot fence a semi-sync primary whose commits wait for an ACK that will never
// come: the SET waits behind them. Those sessions are killed first (their commits are already in
// InnoDB and the binlog; killing only stops the client from being told "OK"), then read_only is
// set with a short lock wait, retried. Replication threads (Binlog Dump) and our own session are
// never killed, nor any other session: a plain long UPDATE is left to finish or to block the fence
// visibly.
Status LiveExecutor::FencePrimary(const Action& action, Host& host, const ProgressFn& progress) {
  (void)action;
  const std::string& name = host.spec->name;
  // A fenced primary becomes a replica: with semi-sync's primary side still on, every commit its
  // SQL thread makes would wait rpl_semi_sync_master_timeout for an ACK nobody sends (measured:
  // a replica 9 s behind). Only the primary has it on, at runtime (promote-replica turns it on).
  auto done = [&]() -> Status {
    if (!topology_.replication.semi_sync) return Status::OK();
    return host.session->SetGlobal("rpl_semi_sync_master_enabled", "0");
  };
  auto kill_ack_waiters = [&]() -> Status {
    auto rows = host.session->Query("SELECT ID AS id, USER AS user FROM information_schema.PROCESSLIST "
                                    "WHERE STATE LIKE 'Waiting for semi-sync ACK%' AND COMMAND NOT LIKE 'Binlog Dump%' "
                                    "AND ID <> CONNECTION_ID()",
                                    {}, "listing sessions waiting for a semi-sync ACK");
    if (!rows.ok()) return rows.status();
    std::vector<std::string> killed;
    for (const Row& row : *rows) {
      const std::string id = Field(row, "id");
      if (id.empty() || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
      Status kill = host.session->Execute("KILL CONNECTION " + id);
      if (!kill.ok() && kill.sql_errno() != kErrNoSuchThread) return kill;
      killed.push_back(id + " (" + Field(row, "user") + ")");
    }
    if (!killed.empty()) {
      std::string list;
      for (const std::string& k : killed) list += (list.empty() ? "" : ", ") + k;
      Say(progress, name + ": killed " + std::to_string(killed.size()) + " session(s) waiting for a semi-sync ACK: " +
                        list + "; their commits stay in " + name + "'s binlog and were never acknowledged");
    }
    return Status::OK();
  };
  auto read_only = [&]() -> Result<bool> {
    auto rows = host.session->Query("SELECT @@GLOBAL.read_only AS ro", {}, "reading @@read_only");
    if (!rows.ok()) return rows.status();
    return !rows->empty() && IsOn(Field(rows->front(), "ro"));
  };

  Status last = Status::OK();
  for (int attempt = 1; attempt <= kFenceAttempts; ++attempt) {
    Status killed = kill_ack_waiters();
    if (!killed.ok()) return killed;
    auto ro = read_only();
    if (!ro.ok()) return ro.status();
    if (*ro) return done();
    Status bound = host.session->Execute("SET SESSION lock_wait_timeout = " + std::to_string(kFenceLockWaitS), {},
                                         "SET SESSION lock_wait_timeout");
    if (!bound.ok()) return bound;
    last = host.session->SetGlobal("read_only", "1");
    // The cached session serves later actions: give it back the server's own lock wait.
    if (host.session->sql_connected() &&
        !host.session->Execute("SET SESSION lock_wait_timeout = DEFAULT", {}, "SET SESSION lock_wait_timeout").ok()) {
      host.session->DropSql();
    }
    if (!last.ok() && last.sql_errno() != kErrLockWaitTimeout) return last;
    if (!last.ok()) Say(progress, name + ": read_only=1 waited " + std::to_string(kFenceLockWaitS) + " s for a lock; retrying");
  }
  auto ro = read_only();
  if (!ro.ok()) return ro.status();
  if (*ro) return done();
  // Name what holds the lock so the operator can decide (kill it, or wait for it).
  auto busy = host.session->Query(
      "SELECT ID AS id, USER AS user, TIME AS t, STATE AS state FROM information_schema.PROCESSLIST "
      "WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID()",
      {}, "listing running statements");
  std::string sessions;
  if (busy.ok()) {
    for (const Row& row : *busy) {
      sessions += (sessions.empty() ? "" : "; ") + std::string("id ") + Field(row, "id") + " (" + Field(row, "user") +
                  ", " + Field(row, "t") + " s, " + Field(row, "state") + ")";
    }
  }
  return Status::Unavailable(name + " could not be fenced: SET GLOBAL read_only=1 did not get its lock in " +
                             std::to_string(kFenceAttempts) + " attempts of " + std::to_string(kFenceLockWaitS) +
                             " s (" + (last.ok() ? std::string("read_only still OFF") : last.message()) +
                             "); running statements: " + (sessions.empty() ? "none" : sessions) +
                             "; it is still writable");
}

// --- waiting for a GTID position -------------------------------------------------------------------

Status LiveExecutor::WaitForApplied(Host& host, const std::string& position, int timeout_s, const std::string& why,
                                    const ProgressFn& progress, bool* timed_out) {
  *timed_out = false;
  const std::string& name = host.spec->name;
  auto target = ParsePosition(position, name + ": " + why);
  if (!target.ok()) return target.status();
  const std::string literal = QuoteString(target->ToString());
  // gtid_current_pos too: a server holds in its binlog what it wrote itself as a primary, which
  // its gtid_slave_pos (what MASTER_GTID_WAIT watches) never shows.
  auto reached = [&]() -> Result<bool> {
    auto rows = host.session->Query("SELECT @@GLOBAL.gtid_slave_pos AS s, @@GLOBAL.gtid_current_pos AS c", {},
                                    "reading GTID positions");
    if (!rows.ok()) return rows.status();
    for (const char* column : {"s", "c"}) {
      auto have = ParsePosition(rows->empty() ? "" : Field(rows->front(), column), name + ": its GTID position");
      if (!have.ok()) return have.status();
      if (have->Contains(*target)) return true;
    }
    return false;
  };

  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(timeout_s);
  auto last_progress = start;
  for (;;) {
    auto done = reached();
    if (!done.ok()) return done.status();
    if (*done) {
      Say(progress, name + ": " + why + ": applied up to " + target->ToString() + " after " + Seconds(SecondsSince(start)));
      return Status::OK();
    }
    auto channel = host.session->ReplicaStatus();
    if (!channel.ok()) return channel.status();
    if (!channel->has_value()) {
      return Status::FailedPrecondition(name + " has no replication channel, so it cannot apply up to " +
                                        target->ToString() + " (" + why + ")");
    }
    if (!(*channel)->sql_running) {
      return Status::FailedPrecondition(ReplicaFailure(host, **channel, why + ": its SQL thread is not running"));
    }
    double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) {
      *timed_out = true;
      return Status::Unavailable(name + ": " + why + ": not applied within " + std::to_string(timeout_s) + " s");
    }
    char slice[32];
    std::snprintf(slice, sizeof slice, "%.3f", std::min(left, kGtidWaitSliceS));
    auto wait = host.session->Query("SELECT MASTER_GTID_WAIT(" + literal + ", " + slice + ") AS r", {}, "MASTER_GTID_WAIT");
    if (!wait.ok()) return wait.status();
    if (Clock::now() - last_progress >= std::chrono::seconds(1)) {
      last_progress = Clock::now();
      auto rows = host.session->Query("SELECT @@GLOBAL.gtid_slave_pos AS s", {}, "reading @@gtid_slave_pos");
      Say(progress, name + ": " + why + ": at " + (rows.ok() && !rows->empty() ? Field(rows->front(), "s") : "?") +
                        ", waiting for " + target->ToString() + " (" + Seconds(SecondsSince(start)) + " of " +
                        std::to_string(timeout_s) + " s)");
    }
  }
}

// --- wait-for-catch-up ------------------------------------------------------------------------

// Switchover: the candidate must hold every transaction the old primary ever committed before it
// becomes writable. The old primary must be fenced first, or its position keeps moving (and
// whatever it commits after the read would be lost). Its position is read on a connection of
// its own: this action holds only the candidate's lock.
Status LiveExecutor::WaitForCatchUp(const Action& action, Host& host, const ProgressFn& progress) {
  const auto& args = action.Args<WaitForCatchUpArgs>();
  auto source = OtherServer(action, args.source);
  if (!source.ok()) return source.status();
  auto timeout = TimeoutOf(action, args.timeout_s);
  if (!timeout.ok()) return timeout.status();
  const ServerSpec& x = **source;
  const std::string& p = host.spec->name;

  auto other = factory_.Open(x);
  auto rows = other->Query("SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.gtid_binlog_pos AS pos", {},
                           "reading @@read_only and @@gtid_binlog_pos");
  if (!rows.ok()) return rows.status();
  if (rows->empty() || !IsOn(Field(rows->front(), "ro"))) {
    return Status::FailedPrecondition(x.name + " is still writable: not fenced (fence-primary must run first; " + p +
                                      " would miss whatever " + x.name + " commits after this read)");
  }
  const std::string pos = Field(rows->front(), "pos");
  bool timed_out = false;
  Status waited = WaitForApplied(host, pos, *timeout, "catching up with " + x.name, progress, &timed_out);
  if (waited.ok() || !timed_out) {
    if (!waited.ok()) {
      return waited.WithNote(x.name + " stays read-only (to make it writable again, run `replplan apply` with the "
                             "previous topology file)");
    }
    return waited;
  }
  auto have = host.session->Query("SELECT @@GLOBAL.gtid_slave_pos AS s", {}, "reading @@gtid_slave_pos");
  std::string slave_pos = have.ok() && !have->empty() ? Field(have->front(), "s") : "?";
  std::string missing;
  auto have_pos = GtidPosition::Parse(slave_pos);
  auto want_pos = GtidPosition::Parse(pos);
  if (have_pos.ok() && want_pos.ok()) missing = " (missing " + JoinGtidList(have_pos->Missing(*want_pos)) + ")";
  return Status::Unavailable(p + " did not catch up with " + x.name + " within " + std::to_string(*timeout) + " s: " + p +
                             " has gtid_slave_pos " + slave_pos + ", " + x.name + "'s binlog ends at " + pos + missing +
                             "; " + x.name + " stays read-only (to make it writable again, run `replplan apply` "
                             "with the previous topology file)");
}

// --- apply-relay-log --------------------------------------------------------------------------

// Failover: the candidate may have received events it has not applied yet. RESET SLAVE ALL would
// throw them away (acknowledged semi-sync writes among them), so the IO thread is stopped (nothing
// more can arrive from a dead primary anyway, and a half-alive one must not add more) and the SQL
// thread runs until it has applied everything received.
Status LiveExecutor::ApplyRelayLog(const Action& action, Host& host, const ProgressFn& progress) {
  const auto& args = action.Args<ApplyRelayLogArgs>();
  auto source = OtherServer(action, args.source);
  if (!source.ok()) return source.status();
  auto timeout = TimeoutOf(action, args.timeout_s);
  if (!timeout.ok()) return timeout.status();
  const std::string& p = host.spec->name;

  auto status = host.session->ReplicaStatus();
  if (!status.ok()) return status.status();
  if (!status->has_value()) {
    Say(progress, p + " has no replication channel: nothing to apply (promoted already?)");
    return Status::OK();
  }
  const ReplicaChannel before = **status;
  if (before.source_host != (*source)->address) {
    return Status::FailedPrecondition(StalePlan(action, "expects " + p + " to replicate from " + (*source)->name +
                                                            ", it replicates from " + before.source_host));
  }
  if (!before.sql_running && before.last_sql_errno != 0) {
    return Status::FailedPrecondition(ReplicaFailure(host, before, "cannot apply its relay log"));
  }
  // MariaDB discards a GTID replica's relay log when a thread starts while both are stopped, so
  // a stopped SQL thread is started while the IO thread still runs (retrying a dead primary).
  bool io_running = before.io_running != "No";
  if (io_running && !before.sql_running) {
    Status start = host.session->StartReplica(ReplicaThreads::kSql);
    if (!start.ok()) return start;
  }
  if (io_running) {
    Status stop = host.session->StopReplica(ReplicaThreads::kIo);
    if (!stop.ok()) return stop;
  }
  status = host.session->ReplicaStatus();
  if (!status.ok()) return status.status();
  const ReplicaChannel channel = status->value_or(ReplicaChannel{});  // a channel gone meanwhile: all empty
  std::string io_pos = std::string(Trim(channel.gtid_io_pos));
  if (io_pos.empty()) {
    Say(progress, p + ": no GTID received from " + (*source)->name + " (Gtid_IO_Pos empty): nothing to apply");
    return Status::OK();
  }
  auto want = ParsePosition(io_pos, p + ": Gtid_IO_Pos");
  if (!want.ok()) return want.status();
  auto current = host.session->Query("SELECT @@GLOBAL.gtid_slave_pos AS s", {}, "reading @@gtid_slave_pos");
  if (!current.ok()) return current.status();
  auto have = ParsePosition(current->empty() ? "" : Field(current->front(), "s"), p + ": @@gtid_slave_pos");
  if (!have.ok()) return have.status();

  // Both threads stopped with events left (an earlier run, or stopped by hand): the SQL thread is
  // pointed at its own relay log position in file/position mode, which keeps the relay log, and
  // the GTID mode is restored once everything is applied.
  std::string restore_gtid;
  if (!channel.sql_running && !have->Contains(*want)) {
    std::string using_gtid = Lower(channel.using_gtid);
    if (using_gtid != "no") {
      const std::string& file = channel.relay_log_file;
      bool plain = !file.empty() && std::all_of(file.begin(), file.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
      });
      if (!plain || !channel.relay_log_pos || (using_gtid != "slave_pos" && using_gtid != "current_pos")) {
        return Status::FailedPrecondition(ReplicaFailure(host, channel, "cannot find its relay log position"));
      }
      Status change = host.session->Execute("CHANGE MASTER TO MASTER_USE_GTID = no, RELAY_LOG_FILE = " +
                                                QuoteString(file) + ", RELAY_LOG_POS = " +
                                                std::to_string(*channel.relay_log_pos),
                                            {}, "CHANGE MASTER TO RELAY_LOG_FILE " + file);
      if (!change.ok()) return change;
      restore_gtid = using_gtid;
    }
    Status start = host.session->StartReplica(ReplicaThreads::kSql);
    if (!start.ok()) return start;
  }
  bool timed_out = false;
  Status applied = WaitForApplied(host, io_pos, *timeout, "applying its relay log", progress, &timed_out);
  if (restore_gtid.empty()) return applied;
  // Not put back on failure: back in GTID mode the channel would lose the relay log position it
  // still has to apply from. The error says what was left instead.
  if (!applied.ok()) {
    return applied.WithNote("the channel is left at MASTER_USE_GTID = no at its relay log position (it was " +
                            restore_gtid + "; CHANGE MASTER TO MASTER_USE_GTID = " + restore_gtid +
                            " once all is applied)");
  }
  Status stop = host.session->StopReplica(ReplicaThreads::kSql);
  if (!stop.ok()) return stop;
  return host.session->Execute("CHANGE MASTER TO MASTER_USE_GTID = " + restore_gtid, {},
                               "CHANGE MASTER TO MASTER_USE_GTID");
}

// --- promote-replica --------------------------------------------------------------------------

Status LiveExecutor::PromoteReplica(const Action& action, Host& host) {
  (void)action;
  const std::string& name = host.spec->name;
  auto channel = host.session->ReplicaStatus();
  if (!channel.ok()) return channel.status();
  if (channel->has_value()) {
    Status stop = host.session->StopReplica();
    if (!stop.ok()) return stop;
    Status reset = host.session->Execute("RESET SLAVE ALL");
    if (!reset.ok()) return reset;
  }
  // The primary side of semi-sync is on only where writes are taken (see FencePrimary), and before
  // the first write, so no write is acknowledged before a replica has it.
  if (topology_.replication.semi_sync) {
    Status semi = host.session->SetGlobal("rpl_semi_sync_master_enabled", "1");
    if (!semi.ok()) return semi;
  }
  auto rows = host.session->Query("SELECT @@GLOBAL.read_only AS ro", {}, "reading @@read_only");
  if (!rows.ok()) return rows.status();
  if (rows->empty() || IsOn(Field(rows->front(), "ro"))) {
    Status set = host.session->SetGlobal("read_only", "0");
    if (!set.ok()) return set;
  }
  // Verified, not assumed: a promotion that left a channel or read_only behind is no promotion.
  channel = host.session->ReplicaStatus();
  if (!channel.ok()) return channel.status();
  rows = host.session->Query("SELECT @@GLOBAL.read_only AS ro", {}, "reading @@read_only");
  if (!rows.ok()) return rows.status();
  if (channel->has_value() || rows->empty() || IsOn(Field(rows->front(), "ro"))) {
    return Status::Internal(name + " is not promoted: " + (channel->has_value() ? "a replication channel remains; " : "") +
                            "read_only=" + (rows->empty() ? "?" : Field(rows->front(), "ro")));
  }
  return Status::OK();
}

// --- apps ---------------------------------------------------------------------------------------

Status LiveExecutor::RewriteAppConfig(const Action& action, Host& host) {
  const auto& args = action.Args<RewriteAppConfigArgs>();
  auto app = AppOf(action, args.app);
  if (!app.ok()) return app.status();
  const ServerSpec* primary = topology_.FindServer(args.primary);
  if (primary == nullptr) return Status::InvalidArgument(StalePlan(action, "has no valid primary server"));
  const std::string path = (*app)->DatabaseYmlPath();
  const std::string where = host.spec->name + ": " + path;

  Status ssh = host.session->ConnectSsh();
  if (!ssh.ok()) return ssh;
  auto current = host.session->ReadFile(path);
  if (!current.ok()) return current.status().WithContext(where);
  if (!current->has_value()) {
    return Status::NotFound(where + " does not exist (app " + (*app)->name + ", root " + (*app)->root + ")");
  }
  const std::string& before = **current;
  auto after = EditDatabaseYml(before, (*app)->environment,
                               {{"host", primary->address}, {"port", std::to_string(primary->mysql.port)}});
  if (!after.ok()) return after.status().WithContext(where);
  if (*after == before) return Status::OK();  // points there already (an earlier run)

  Status written = host.session->AtomicWrite(path, *after);
  if (!written.ok()) return written.WithContext(where);
  host.rewritten[path] = AppRestartDigest(*after);
  return Status::OK();
}

// The restart marker sits in the app's config directory, which the app's user may write to: a
// symlink planted there must not make root write through it (onto any file of the host). So the
// marker is written like database.yml (a new temp file, renamed over the name) but always 0600
// and the SSH user's, with no backup, and anything but a regular file at its name is refused
// (decided over replacing it: a link there is no marker replplan wrote, and the operator should
// see it). A link planted between the check and the rename is replaced, never followed.
const AtomicWriteOptions kMarkerWrite = {
    .follow_symlink = false, .keep_owner_and_mode = false, .new_mode = 0600, .backup = false};

// A restart is done once per content of database.yml: a digest of the file the app was last
// restarted with, its secrets left out (engine/app_restart_marker.h), is kept beside it
// (<database.yml>.replplan.restarted), so running the action again does not restart the app
// again, while a new rewrite (another primary) does.
Status LiveExecutor::RestartApp(const Action& action, Host& host, const ProgressFn& progress) {
  auto app = AppOf(action, action.Args<RestartAppArgs>().app);
  if (!app.ok()) return app.status();
  const std::string& name = host.spec->name;
  const std::string yml = (*app)->DatabaseYmlPath();
  const std::string marker = (*app)->RestartMarkerPath();
  const std::string where = name + ": app " + (*app)->name;

  // The digest the planner computes too (engine/fingerprint.h), so a plan can tell an app that was
  // never restarted after its rewrite (an apply interrupted in between) and restart it.
  std::string checksum;
  auto written = host.rewritten.find(yml);
  if (written != host.rewritten.end()) {
    // Rewritten by this apply a moment ago (a failover's path to the apps' first write): no run
    // restarted the app with that content yet, or the rewrite would have found nothing to change.
    checksum = written->second;
    host.rewritten.erase(written);
  } else {
    Status ssh = host.session->ConnectSsh();
    if (!ssh.ok()) return ssh;
    auto files = host.session->ReadFiles({yml, marker});  // both in one round trip
    if (!files.ok()) return files.status().WithContext(where + ": reading " + yml);
    for (const FileRead& file : *files) {
      if (!file.read_ok) return Status::FailedPrecondition(file.error).WithContext(where);
    }
    const FileRead& text = (*files)[0];
    const FileRead& mark_now = (*files)[1];
    checksum = text.exists ? AppRestartDigest(text.text) : "";
    std::string recorded = mark_now.exists ? std::string(Trim(mark_now.text)) : "";
    if (text.exists && AppRestartMarkerMatches(recorded, text.text)) {
      Say(progress, where + ": already restarted with this " + yml + " (" + marker + ")");
      if (!IsLegacyAppRestartMarker(recorded)) return Status::OK();
      // Written by an older replplan: a world-readable digest of the whole file, password included.
      Status upgraded = host.session->AtomicWrite(marker, checksum + "\n", kMarkerWrite);
      return upgraded.WithContext(where + ": rewriting " + marker + " without the password's digest");
    }
  }

  // Its own session: the command may take long, and the cached session's bound is for quick ones.
  // SIGHUP and SIGPIPE ignored: a replplan killed mid-way must not leave the app half restarted.
  // A standby shell (watch keeps one on every server) runs it with one write.
  const std::string command = "trap '' HUP PIPE; " + (*app)->restart;
  std::unique_ptr<SshSession> standby_session;  // a standby shell's (pool_), or
  std::unique_ptr<ServerSession> session;       // one of this action's own
  Result<ExecResult> run = Status::Internal("not run");
  if (auto standby = RunOnStandbyShell(pool_, SshOptionsFor(*host.spec), command, {}, kAppCommandTimeoutMs)) {
    run = std::move(standby->result);
    standby_session = std::move(standby->session);
  } else {
    session = factory_.Open(*host.spec, SessionLimits{.command_timeout_ms = kAppCommandTimeoutMs});
    Status opened = session->ConnectSsh();
    if (!opened.ok()) return opened;
    run = session->Run(command);
  }
  if (!run.ok()) return run.status().WithContext(where + ": restart command");
  if (run->exit_status != 0) {
    return Status::Internal(where + ": restart command failed (exit " + std::to_string(run->exit_status) + "): " +
                            Tail(run->err.empty() ? run->out : run->err));
  }
  Say(progress, where + ": restarted");
  // The command ran, so its session is sound and serves the marker too.
  if (checksum.empty()) {  // no database.yml to remember
    GiveBack(pool_, std::move(standby_session), true);
    return Status::OK();
  }
  if (!standby_session && !session) {
    session = factory_.Open(*host.spec, SessionLimits{.command_timeout_ms = kAppCommandTimeoutMs});
  }
  Status mark = standby_session ? AtomicWrite(*standby_session, marker, checksum + "\n", kMarkerWrite)
                                : session->AtomicWrite(marker, checksum + "\n", kMarkerWrite);
  GiveBack(pool_, std::move(standby_session), mark.code() != Status::Code::kUnavailable);
  if (!mark.ok()) {
    return Status::Internal(where + ": restarted, but could not write " + marker + ": " + mark.message() +
                            " (a second run would restart it again)");
  }
  return Status::OK();
}

// Measured from replplan's machine for http:// (what clients see, as close as replplan can get);
// https:// goes through curl on the app host, so replplan needs no TLS stack or CA setup.
Status LiveExecutor::CheckHealth(const Action& action, Host& host, const ProgressFn& progress) {
  auto app = AppOf(action, action.Args<CheckHealthArgs>().app);
  if (!app.ok()) return app.status();
  const int limit = health_timeout_s_;
  const std::string& url = (*app)->health;
  const std::string where = host.spec->name + ": app " + (*app)->name;
  if (url.empty()) return Status::InvalidArgument(StalePlan(action, "checks app " + (*app)->name + ", which has no health URL"));
  bool https = url.rfind("https://", 0) == 0;
  HttpUrl http;
  if (!https) {
    auto parsed = ParseHttpUrl(url);
    if (!parsed.ok()) return parsed.status().WithContext(where);
    http = *parsed;
  }

  // One probe: "" when healthy, else what went wrong.
  auto probe = [&]() -> std::string {
    if (!https) {
      auto response = HttpGet(http);
      if (!response.ok()) return response.status().message();
      if (response->status >= 200 && response->status < 300) return "";
      std::string body = response->body_head;
      for (char& c : body) {
        if (c == '\r' || c == '\n') c = ' ';
      }
      return "HTTP " + std::to_string(response->status) + (body.empty() ? "" : ": " + body);
    }
    Status ssh = host.session->ConnectSsh();
    if (!ssh.ok()) return ssh.message();
    auto run = host.session->Run(
        ShellJoin({"curl", "-fsS", "-o", "/dev/null", "--max-time", std::to_string(kCurlMaxTimeS), url}));
    if (!run.ok()) return run.status().message();
    return run->exit_status == 0 ? "" : "curl exit " + std::to_string(run->exit_status) + ": " + Tail(run->err);
  };

  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(limit);
  auto next_progress = start + kHealthProgressEvery;
  int attempts = 0;
  for (;;) {
    ++attempts;
    std::string failure = probe();
    if (failure.empty()) {
      Say(progress, where + ": " + url + " healthy after " + Seconds(SecondsSince(start)) + " (" +
                        std::to_string(attempts) + " attempt" + (attempts == 1 ? "" : "s") + ")");
      return Status::OK();
    }
    if (Clock::now() >= deadline) {
      return Status::Unavailable(where + ": " + url + " did not answer 2xx within " + std::to_string(limit) + " s (" +
                                 std::to_string(attempts) + " attempts); last: " + failure);
    }
    if (Clock::now() >= next_progress) {
      next_progress += kHealthProgressEvery;
      Say(progress, where + ": waiting for " + url + " (" + Seconds(SecondsSince(start)) + "): " + failure);
    }
    std::this_thread::sleep_for(kHealthPause);
  }
}

}  // namespace internal
}  // namespace replplan
