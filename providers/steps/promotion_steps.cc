// The switchover and failover steps: fence the old primary, wait until the candidate caught up
// (switchover) or applied its relay log (failover), promote it. Each reads the server first and
// does only what is still missing, so a failover interrupted anywhere can be run again. Why each
// step exists is in docs/failover.md and /work/shared/MARIADB-NOTES.md; the comments below say
// why it is done this way.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "engine/desired_config.h"
#include "engine/gtid.h"
#include "engine/sql_quote.h"
#include "engine/text.h"
#include "providers/steps/steps.h"

namespace replplan {
namespace steps {
namespace {

using Clock = std::chrono::steady_clock;

// SET GLOBAL read_only=1 waits for commits in progress; a commit hanging in a semi-sync wait holds
// it forever. Each attempt waits this long, then kills the ACK waiters again and retries.
constexpr int kFenceLockWaitS = 1;
constexpr int kFenceAttempts = 5;
constexpr int kKillEveryMs = 20;
constexpr int kErrLockWaitTimeout = 1205;
constexpr int kErrNoSuchThread = 1094;
// MASTER_GTID_WAIT runs in slices so a stopped SQL thread is seen at once, progress is printed, and
// no single query outlives the connection's read timeout.
constexpr double kGtidWaitSliceS = 1.0;

bool IsOn(const std::string& value) { return NormalizeBool(value) == "ON"; }

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
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

// The server called `name` (the action's source), other than the action's own host.
Result<const ServerSpec*> OtherServer(const StepContext& ctx, const Action& action, const std::string& name) {
  const ServerSpec* server = ctx.topology.FindServer(name);
  if (server == nullptr || server->name == action.host) {
    return Status::InvalidArgument(StalePlan(action, "has no valid source server"));
  }
  return server;
}

// --- waiting for a GTID position -------------------------------------------------------------------

// Waits with MASTER_GTID_WAIT in short slices until the server applied `position`, failing at once
// when its SQL thread stops with an error; `why` names the wait in progress and errors.
Status WaitForApplied(const StepContext& ctx, const std::string& position, int timeout_s, const std::string& why,
                                    bool* timed_out) {
  *timed_out = false;
  const std::string& name = ctx.server.name;
  auto target = ParsePosition(position, name + ": " + why);
  if (!target.ok()) return target.status();
  const std::string literal = QuoteString(target->ToString());
  // gtid_current_pos too: a server holds in its binlog what it wrote itself as a primary, which
  // its gtid_slave_pos (what MASTER_GTID_WAIT watches) never shows.
  auto reached = [&]() -> Result<bool> {
    auto rows = ctx.session.Query("SELECT @@GLOBAL.gtid_slave_pos AS s, @@GLOBAL.gtid_current_pos AS c", {},
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
      Say(ctx, name + ": " + why + ": applied up to " + target->ToString() + " after " + Seconds(SecondsSince(start)));
      return Status::OK();
    }
    auto channel = ctx.session.ReplicaStatus();
    if (!channel.ok()) return channel.status();
    if (!channel->has_value()) {
      return Status::FailedPrecondition(name + " has no replication channel, so it cannot apply up to " +
                                        target->ToString() + " (" + why + ")");
    }
    if (!(*channel)->sql_running) {
      return Status::FailedPrecondition(ReplicaFailure(ctx, **channel, why + ": its SQL thread is not running"));
    }
    double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) {
      *timed_out = true;
      return Status::Unavailable(name + ": " + why + ": not applied within " + std::to_string(timeout_s) + " s");
    }
    char slice[32];
    std::snprintf(slice, sizeof slice, "%.3f", std::min(left, kGtidWaitSliceS));
    auto wait = ctx.session.Query("SELECT MASTER_GTID_WAIT(" + literal + ", " + slice + ") AS r", {}, "MASTER_GTID_WAIT");
    if (!wait.ok()) return wait.status();
    if (Clock::now() - last_progress >= std::chrono::seconds(1)) {
      last_progress = Clock::now();
      auto rows = ctx.session.Query("SELECT @@GLOBAL.gtid_slave_pos AS s", {}, "reading @@gtid_slave_pos");
      Say(ctx, name + ": " + why + ": at " + (rows.ok() && !rows->empty() ? Field(rows->front(), "s") : "?") +
                        ", waiting for " + target->ToString() + " (" + Seconds(SecondsSince(start)) + " of " +
                        std::to_string(timeout_s) + " s)");
    }
  }
}

}  // namespace

// --- fence-primary ----------------------------------------------------------------------------

// read_only=1 alone cannot fence a semi-sync primary whose commits wait for an ACK that will never
// come: the SET waits behind them. Those sessions are killed first (their commits are already in
// InnoDB and the binlog; killing only stops the client from being told "OK"), then read_only is
// set with a short lock wait, retried. Replication threads (Binlog Dump) and our own session are
// never killed, nor any other session: a plain long UPDATE is left to finish or to block the fence
// visibly.
Status FencePrimary(const StepContext& ctx, const Action& action) {
  (void)action;
  const std::string& name = ctx.server.name;
  // A fenced primary becomes a replica: with semi-sync's primary side still on, every commit its
  // SQL thread makes would wait rpl_semi_sync_master_timeout for an ACK nobody sends (measured:
  // a replica 9 s behind). Only the primary has it on, at runtime (promote-replica turns it on).
  auto done = [&]() -> Status {
    if (!ctx.topology.replication.semi_sync) return Status::OK();
    return ctx.session.SetGlobal("rpl_semi_sync_master_enabled", "0");
  };
  // On `session`; what it killed is added to `killed` (said once, by the caller).
  auto kill_ack_waiters_on = [&](ServerSession& session, std::vector<std::string>& killed) -> Status {
    auto rows = session.Query("SELECT ID AS id, USER AS user FROM information_schema.PROCESSLIST "
                                    "WHERE STATE LIKE 'Waiting for semi-sync ACK%' AND COMMAND NOT LIKE 'Binlog Dump%' "
                                    "AND ID <> CONNECTION_ID()",
                                    {}, "listing sessions waiting for a semi-sync ACK");
    if (!rows.ok()) return rows.status();
    for (const Row& row : *rows) {
      const std::string id = Field(row, "id");
      if (id.empty() || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
      Status kill = session.Execute("KILL CONNECTION " + id);
      if (!kill.ok() && kill.sql_errno() != kErrNoSuchThread) return kill;
      killed.push_back(id + " (" + Field(row, "user") + ")");
    }
    return Status::OK();
  };
  auto say_killed = [&](const std::vector<std::string>& killed) {
    if (!killed.empty()) {
      std::string list;
      for (const std::string& k : killed) list += (list.empty() ? "" : ", ") + k;
      Say(ctx, name + ": killed " + std::to_string(killed.size()) + " session(s) waiting for a semi-sync ACK: " +
                        list + "; their commits stay in " + name + "'s binlog and were never acknowledged");
    }
  };
  auto kill_ack_waiters = [&]() -> Status {
    std::vector<std::string> killed;
    Status st = kill_ack_waiters_on(ctx.session, killed);
    say_killed(killed);
    return st;
  };
  // SET GLOBAL read_only=1 waits for the commits under way, and a client still writing to this
  // server starts new ones, each waiting for an ACK: killed once, they come back before the SET.
  // So while the SET waits for its lock, a second connection keeps killing ACK waiters (every
  // kKillEveryMs) until the SET is answered: it gets its lock at the first gap (measured on the lab
  // with a client writing every 20 ms: one 1 s lock wait and a retry before, milliseconds now).
  auto set_read_only = [&]() -> Status {
    std::atomic<bool> answered = false;
    std::vector<std::string> killed;
    auto killing = std::async(std::launch::async, [&]() -> Status {
      std::unique_ptr<ServerSession> killer;  // opened only if the SET has to wait
      for (;;) {
        for (int waited = 0; waited < kKillEveryMs; ++waited) {
          if (answered) return Status::OK();
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (!killer) killer = ctx.sessions.Open(ctx.server);
        Status st = kill_ack_waiters_on(*killer, killed);
        if (!st.ok()) return st;  // the SET is bounded by its own lock wait
      }
    });
    Status set = ctx.session.SetGlobal("read_only", "1");
    answered = true;
    killing.wait();
    say_killed(killed);
    return set;
  };
  auto read_only = [&]() -> Result<bool> {
    auto rows = ctx.session.Query("SELECT @@GLOBAL.read_only AS ro", {}, "reading @@read_only");
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
    Status bound = ctx.session.Execute("SET SESSION lock_wait_timeout = " + std::to_string(kFenceLockWaitS), {},
                                         "SET SESSION lock_wait_timeout");
    if (!bound.ok()) return bound;
    last = set_read_only();
    // The cached session serves later actions: give it back the server's own lock wait.
    if (ctx.session.sql_connected() &&
        !ctx.session.Execute("SET SESSION lock_wait_timeout = DEFAULT", {}, "SET SESSION lock_wait_timeout").ok()) {
      ctx.session.DropSql();
    }
    if (!last.ok() && last.sql_errno() != kErrLockWaitTimeout) return last;
    if (!last.ok()) Say(ctx, name + ": read_only=1 waited " + std::to_string(kFenceLockWaitS) + " s for a lock; retrying");
  }
  auto ro = read_only();
  if (!ro.ok()) return ro.status();
  if (*ro) return done();
  // Name what holds the lock so the operator can decide (kill it, or wait for it).
  auto busy = ctx.session.Query(
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

// --- wait-for-catch-up ------------------------------------------------------------------------

// Switchover: the candidate must hold every transaction the old primary ever committed before it
// becomes writable. The old primary must be fenced first, or its position keeps moving (and
// whatever it commits after the read would be lost). Its position is read on a connection of
// its own: this action holds only the candidate's lock.
Status WaitForCatchUp(const StepContext& ctx, const Action& action) {
  const auto& args = action.Args<WaitForCatchUpArgs>();
  auto source = OtherServer(ctx, action, args.source);
  if (!source.ok()) return source.status();
  auto timeout = TimeoutOf(action, args.timeout_s);
  if (!timeout.ok()) return timeout.status();
  const ServerSpec& x = **source;
  const std::string& p = ctx.server.name;

  auto other = ctx.sessions.Open(x);
  auto rows = other->Query("SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.gtid_binlog_pos AS pos", {},
                           "reading @@read_only and @@gtid_binlog_pos");
  if (!rows.ok()) return rows.status();
  if (rows->empty() || !IsOn(Field(rows->front(), "ro"))) {
    return Status::FailedPrecondition(x.name + " is still writable: not fenced (fence-primary must run first; " + p +
                                      " would miss whatever " + x.name + " commits after this read)");
  }
  const std::string pos = Field(rows->front(), "pos");
  bool timed_out = false;
  Status waited = WaitForApplied(ctx, pos, *timeout, "catching up with " + x.name, &timed_out);
  if (waited.ok() || !timed_out) {
    if (!waited.ok()) {
      return waited.WithNote(x.name + " stays read-only (to make it writable again, run `replplan apply` with the "
                             "previous topology file)");
    }
    return waited;
  }
  auto have = ctx.session.Query("SELECT @@GLOBAL.gtid_slave_pos AS s", {}, "reading @@gtid_slave_pos");
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
Status ApplyRelayLog(const StepContext& ctx, const Action& action) {
  const auto& args = action.Args<ApplyRelayLogArgs>();
  auto source = OtherServer(ctx, action, args.source);
  if (!source.ok()) return source.status();
  auto timeout = TimeoutOf(action, args.timeout_s);
  if (!timeout.ok()) return timeout.status();
  const std::string& p = ctx.server.name;

  auto status = ctx.session.ReplicaStatus();
  if (!status.ok()) return status.status();
  if (!status->has_value()) {
    Say(ctx, p + " has no replication channel: nothing to apply (promoted already?)");
    return Status::OK();
  }
  const ReplicaChannel before = **status;
  if (before.source_host != (*source)->address) {
    return Status::FailedPrecondition(StalePlan(action, "expects " + p + " to replicate from " + (*source)->name +
                                                            ", it replicates from " + before.source_host));
  }
  if (!before.sql_running && before.last_sql_errno != 0) {
    return Status::FailedPrecondition(ReplicaFailure(ctx, before, "cannot apply its relay log"));
  }
  // MariaDB discards a GTID replica's relay log when a thread starts while both are stopped, so
  // a stopped SQL thread is started while the IO thread still runs (retrying a dead primary).
  bool io_running = before.io_running != "No";
  if (io_running && !before.sql_running) {
    Status start = ctx.session.StartReplica(ReplicaThreads::kSql);
    if (!start.ok()) return start;
  }
  if (io_running) {
    Status stop = StopReplicaNow(ctx, before, ReplicaThreads::kIo);
    if (!stop.ok()) return stop;
  }
  status = ctx.session.ReplicaStatus();
  if (!status.ok()) return status.status();
  const ReplicaChannel channel = status->value_or(ReplicaChannel{});  // a channel gone meanwhile: all empty
  std::string io_pos = std::string(Trim(channel.gtid_io_pos));
  if (io_pos.empty()) {
    Say(ctx, p + ": no GTID received from " + (*source)->name + " (Gtid_IO_Pos empty): nothing to apply");
    return Status::OK();
  }
  auto want = ParsePosition(io_pos, p + ": Gtid_IO_Pos");
  if (!want.ok()) return want.status();
  auto current = ctx.session.Query("SELECT @@GLOBAL.gtid_slave_pos AS s", {}, "reading @@gtid_slave_pos");
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
        return Status::FailedPrecondition(ReplicaFailure(ctx, channel, "cannot find its relay log position"));
      }
      Status change = ctx.session.Execute("CHANGE MASTER TO MASTER_USE_GTID = no, RELAY_LOG_FILE = " +
                                                QuoteString(file) + ", RELAY_LOG_POS = " +
                                                std::to_string(*channel.relay_log_pos),
                                            {}, "CHANGE MASTER TO RELAY_LOG_FILE " + file);
      if (!change.ok()) return change;
      restore_gtid = using_gtid;
    }
    Status start = ctx.session.StartReplica(ReplicaThreads::kSql);
    if (!start.ok()) return start;
  }
  bool timed_out = false;
  Status applied = WaitForApplied(ctx, io_pos, *timeout, "applying its relay log", &timed_out);
  if (restore_gtid.empty()) return applied;
  // Not put back on failure: back in GTID mode the channel would lose the relay log position it
  // still has to apply from. The error says what was left instead.
  if (!applied.ok()) {
    return applied.WithNote("the channel is left at MASTER_USE_GTID = no at its relay log position (it was " +
                            restore_gtid + "; CHANGE MASTER TO MASTER_USE_GTID = " + restore_gtid +
                            " once all is applied)");
  }
  Status stop = ctx.session.StopReplica(ReplicaThreads::kSql);
  if (!stop.ok()) return stop;
  return ctx.session.Execute("CHANGE MASTER TO MASTER_USE_GTID = " + restore_gtid, {},
                               "CHANGE MASTER TO MASTER_USE_GTID");
}

// --- promote-replica --------------------------------------------------------------------------

Status PromoteReplica(const StepContext& ctx, const Action& action) {
  (void)action;
  const std::string& name = ctx.server.name;
  auto channel = ctx.session.ReplicaStatus();
  if (!channel.ok()) return channel.status();
  if (channel->has_value()) {
    Status stop = StopReplicaNow(ctx, **channel, ReplicaThreads::kBoth);
    if (!stop.ok()) return stop;
    Status reset = ctx.session.Execute("RESET SLAVE ALL");
    if (!reset.ok()) return reset;
  }
  // The primary side of semi-sync is on only where writes are taken (see FencePrimary), and before
  // the first write, so no write is acknowledged before a replica has it.
  if (ctx.topology.replication.semi_sync) {
    Status semi = ctx.session.SetGlobal("rpl_semi_sync_master_enabled", "1");
    if (!semi.ok()) return semi;
  }
  auto rows = ctx.session.Query("SELECT @@GLOBAL.read_only AS ro", {}, "reading @@read_only");
  if (!rows.ok()) return rows.status();
  if (rows->empty() || IsOn(Field(rows->front(), "ro"))) {
    Status set = ctx.session.SetGlobal("read_only", "0");
    if (!set.ok()) return set;
  }
  // Verified, not assumed: a promotion that left a channel or read_only behind is no promotion.
  channel = ctx.session.ReplicaStatus();
  if (!channel.ok()) return channel.status();
  rows = ctx.session.Query("SELECT @@GLOBAL.read_only AS ro", {}, "reading @@read_only");
  if (!rows.ok()) return rows.status();
  if (channel->has_value() || rows->empty() || IsOn(Field(rows->front(), "ro"))) {
    return Status::Internal(name + " is not promoted: " + (channel->has_value() ? "a replication channel remains; " : "") +
                            "read_only=" + (rows->empty() ? "?" : Field(rows->front(), "ro")));
  }
  return Status::OK();
}

}  // namespace steps
}  // namespace replplan
