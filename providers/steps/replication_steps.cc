// Replication steps: seed-replica (providers/seeder.h does the copy), change-source (CHANGE MASTER
// TO the file's primary), start-replica (and wait until both threads run), reset-replica, and
// inject-empty-transactions (a replica's errant GTIDs committed empty on the primary).
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/conditions.h"
#include "engine/desired_config.h"
#include "engine/gtid.h"
#include "engine/mysql_errors.h"
#include "engine/sql_quote.h"
#include "engine/text.h"
#include "providers/seeder.h"
#include "providers/steps/steps.h"

namespace replplan {
namespace steps {
namespace {

// START SLAVE returns before the threads connect; this bounds the wait for both to run.
constexpr auto kReplicaStartLimit = std::chrono::seconds(30);
constexpr auto kReplicaPoll = std::chrono::milliseconds(75);

// Whether this server holds GTIDs `source` lacks (engine/conditions.h's FindErrant, as the plan
// found them). False under file/position replication, where none are found.
Result<bool> HoldsErrant(const StepContext& ctx, const ServerSpec& source) {
  if (ctx.topology.replication.mode != ReplicationMode::kGtid) return false;
  auto mine = ctx.session.Global("gtid_current_pos");
  if (!mine.ok()) return mine.status();
  std::unique_ptr<ServerSession> other = ctx.sessions.Open(source);
  auto theirs = other->Global("gtid_current_pos");
  if (!theirs.ok()) return theirs.status();
  auto id = other->Global("server_id");
  if (!id.ok()) return id.status();
  uint32_t source_id = source.server_id;
  if (IsDigits(*id) && !id->empty() && id->size() < 11) source_id = static_cast<uint32_t>(std::stoull(*id));
  auto errant = FindErrant(*mine, *theirs, source_id);
  return errant && !errant->empty();
}

}  // namespace

Status SeedReplica(const StepContext& ctx, const Action& action) {
  const auto& args = action.Args<SeedReplicaArgs>();
  const ServerSpec* source = ctx.topology.FindServer(args.source);
  if (source == nullptr || source == &ctx.server) {
    return Status::InvalidArgument(StalePlan(action, "has no valid source server"));
  }
  // Done already when change-source ran after it: the replica follows this source as the
  // replication user, without the errors that call for a reseed. Anything less (the seeder points
  // the connection at the source before the copy arrives) may be a copy cut short: seed again.
  auto status = ctx.session.ReplicaStatus();
  if (!status.ok()) return status.status();
  const std::optional<ReplicaChannel>& channel = *status;
  if (channel && channel->source_host == source->address && channel->source_port == source->mysql.port &&
      channel->source_user == ctx.topology.replication.user && channel->last_io_errno != kErrBinlogGone &&
      channel->last_sql_errno == 0) {
    // A replica that follows its source with no error is reseeded for its errant transactions
    // (cluster.errant_transactions = reseed): done only once it holds none.
    auto errant = HoldsErrant(ctx, *source);
    if (!errant.ok()) return errant.status();
    if (!*errant) return Status::OK();
  }
  ProgressFn forward = ctx.progress ? ctx.progress : [](const std::string&) {};
  Status seeded =
      replplan::SeedReplica(ctx.sessions, ctx.topology, *source, ctx.server, action.destructive, forward, args.drops);
  // The restore may have changed what this host's session sees (users, replication state).
  ctx.session.DropSql();
  return seeded;
}

Status ChangeSource(const StepContext& ctx, const Action& action) {
  const ServerSpec& spec = ctx.server;
  const ReplicationSpec& r = ctx.topology.replication;
  const auto& args = action.Args<ChangeSourceArgs>();
  const ServerSpec* source = ctx.topology.FindServer(args.source);
  if (source == nullptr || source == &spec) {
    return Status::InvalidArgument(StalePlan(action, "has no valid source server"));
  }
  bool gtid = r.mode == ReplicationMode::kGtid;
  const std::string use_gtid = gtid ? ToString(args.use_gtid) : "no";
  bool from_seed = args.position == StartPosition::kFromSeed;
  const std::string port = std::to_string(source->mysql.port);

  auto status = ctx.session.ReplicaStatus();
  if (!status.ok()) return status.status();
  bool configured = status->has_value();
  const ReplicaChannel channel = status->value_or(ReplicaChannel{});  // all empty when not configured
  bool same_source = configured && channel.source_host == source->address && channel.source_port == source->mysql.port;
  std::string using_gtid = Lower(channel.using_gtid);
  // Only SHOW ALL SLAVES STATUS has the heartbeat period (as Slave_heartbeat_period); -1 (no
  // channel, or not reported) never matches.
  double running_period = -1;
  if (configured) {
    auto all = ctx.session.AllReplicaChannels();
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
  if (args.position == StartPosition::kAt) {
    // The executed position the plan read (a channel made again after 1201): the server has none
    // of its own any more once its metadata was reset.
    if (gtid || !IsPlainName(args.log_file, "_.-") || args.log_pos == 0) {
      return Status::InvalidArgument(StalePlan(action, "has no valid binlog coordinates to start at"));
    }
    log_file = args.log_file;
    log_pos = std::to_string(args.log_pos);
  }
  auto password = ctx.secrets.Of(r.password, "replication password");
  if (!password.ok()) return password.status();
  // Every check before the first change: a stale plan leaves replication running as it was.
  const bool from_binlog = args.position == StartPosition::kFromBinlog;
  if (from_binlog && (!gtid || use_gtid != "slave_pos")) {
    return Status::InvalidArgument(StalePlan(action, "rejoins from its binlog without MASTER_USE_GTID=slave_pos"));
  }

  // Past the STOP, a failure leaves the replica stopped: it says so.
  const std::string stopped = configured ? "replication on " + spec.name + " is stopped now" : "";
  auto after_stop = [&](const Status& status) { return stopped.empty() ? status : status.WithNote(stopped); };
  if (configured) {
    Status stop = StopReplicaNow(ctx, channel, ReplicaThreads::kBoth);
    if (!stop.ok()) return stop;
  }
  if (from_binlog) {
    // A former primary rejoining: its own binlog holds everything it applied or wrote, while its
    // gtid_slave_pos may be stale from an earlier time as a replica (and would refetch or skip).
    Status pos = ctx.session.Execute("SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos", {},
                                       "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos");
    if (!pos.ok()) return after_stop(pos);
  }
  std::vector<std::string> options;
  // Same host and port with a kept position: leave them out, or the server resets the coordinates.
  if (!(same_source && !gtid && !from_seed && args.position != StartPosition::kAt)) {
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
  Status changed = ctx.session.Execute("SET SESSION sql_log_off = 1, SESSION slow_query_log = 0");
  if (changed.ok()) {
    changed = ctx.session.Execute("CHANGE MASTER TO " + Join(options, ", "), {*password},
                                    "CHANGE MASTER TO " + source->name);
    Status logged =
        ctx.session.Execute("SET SESSION sql_log_off = 0, SESSION slow_query_log = @@GLOBAL.slow_query_log");
    if (!logged.ok()) ctx.session.DropSql();
  }
  if (!changed.ok() && from_binlog) {
    return after_stop(changed.WithNote("gtid_slave_pos was set to " + spec.name + "'s own binlog position"));
  }
  return after_stop(changed);
}

Status StartReplica(const StepContext& ctx, const Action& action) {
  (void)action;
  const ServerSpec& spec = ctx.server;
  auto status = ctx.session.ReplicaStatus();
  if (!status.ok()) return status.status();
  if (!status->has_value()) {
    return Status::FailedPrecondition(spec.name + " has no replication source: change-source must run first");
  }
  auto running = [](const ReplicaChannel& c) { return c.io_running == "Yes" && c.sql_running; };
  if (!running(**status)) {
    Status start = ctx.session.StartReplica();
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
    status = ctx.session.ReplicaStatus();
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
    if (hopeless) return Status::FailedPrecondition(ReplicaFailure(ctx, channel, "replication did not start"));
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable(ReplicaFailure(ctx, channel,
          "replication did not start within " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kReplicaStartLimit).count()) + " s"));
    }
    std::this_thread::sleep_for(kReplicaPoll);
  }
}

Status ResetReplica(const StepContext& ctx, const Action& action) {
  const std::string& connection = action.Args<ResetReplicaArgs>().connection_name;
  auto channels = ctx.session.AllReplicaChannels();
  if (!channels.ok()) return channels.status();
  bool present = std::any_of(channels->begin(), channels->end(),
                             [&](const ReplicaChannel& c) { return c.connection_name == connection; });
  if (!present) return Status::OK();  // already forgotten
  std::string name = connection.empty() ? "" : " " + QuoteString(connection);
  Status stop = ctx.session.Execute("STOP SLAVE" + name);
  if (!stop.ok()) return stop;
  return ctx.session.Execute("RESET SLAVE" + name + " ALL");
}

// An empty transaction with a chosen GTID, MariaDB's way: the session's gtid_domain_id, server_id
// and gtid_seq_no give the next binlogged statement its GTID. MariaDB does not binlog an empty
// BEGIN; COMMIT (measured on 10.11.19: the position does not move), so the GTID is given to a
// statement that is binlogged and changes nothing anywhere: CREATE DATABASE IF NOT EXISTS of the
// `mysql` schema every server has (FLUSH TABLES, also binlogged, would wait behind every open table
// on every replica). Its comment says in the binlog what it is. The errant replica skips it (its
// own server_id); every other replica runs the no-op. The session variables are put back
// afterwards, whatever happened: the session is cached for later actions, which must write under
// the server's own id.
Status InjectEmptyTransactions(const StepContext& ctx, const Action& action) {
  const auto& args = action.Args<InjectEmptyTransactionsArgs>();
  const ServerSpec* replica = ctx.topology.FindServer(args.replica);
  if (replica == nullptr || replica == &ctx.server) {
    return Status::InvalidArgument(StalePlan(action, "has no valid replica server ('" + args.replica + "')"));
  }
  auto log_bin = ctx.session.Global("log_bin");
  if (!log_bin.ok()) return log_bin.status();
  if (*log_bin != "1" && Upper(*log_bin) != "ON") {
    return Status::FailedPrecondition(ctx.server.name + " runs without a binary log: empty transactions there would "
                                      "reach no replica; apply its log_bin first (plan again)");
  }
  auto text = ctx.session.Global("gtid_binlog_pos");
  if (!text.ok()) return text.status();
  auto position = GtidPosition::Parse(*text);
  if (!position.ok()) return position.status().WithContext(ctx.server.name + " @@gtid_binlog_pos");
  // What is left to commit: an apply stopped half-way (or run again) finds the primary's last event
  // of the domain among the range, and goes on after it. Anything else in the range's place was
  // written since the plan: the numbers are taken, and injecting would fail (1950) or mislead.
  std::vector<Gtid> todo;
  for (const GtidRange& r : args.gtids) {
    uint64_t from = r.first;
    if (std::optional<Gtid> at = position->Find(r.domain); at && at->seq >= r.first) {
      if (at->server_id != r.server_id || at->seq > r.last) {
        return Status::FailedPrecondition(StalePlan(
            action, "injects " + r.ToString() + ", but " + ctx.server.name + " has written domain " +
                        std::to_string(r.domain) + " up to " + at->ToString() + " since"));
      }
      from = at->seq + 1;
    }
    for (uint64_t seq = from; seq <= r.last; ++seq) todo.push_back({r.domain, r.server_id, seq});
  }
  if (todo.empty()) return Status::OK();
  Say(ctx, ctx.server.name + ": " + std::to_string(todo.size()) + " empty transaction" +
               (todo.size() == 1 ? "" : "s") + " for " + args.replica);
  // Only a plain server name goes into the comment: nothing of it could end the comment early.
  const std::string of = IsPlainName(args.replica, "_-.") ? " of " + args.replica : "";
  Status status = Status::OK();
  for (const Gtid& g : todo) {
    status = ctx.session.Execute("SET SESSION gtid_domain_id = " + std::to_string(g.domain) +
                                 ", SESSION server_id = " + std::to_string(g.server_id) +
                                 ", SESSION gtid_seq_no = " + std::to_string(g.seq));
    if (status.ok()) {
      status = ctx.session.Execute("CREATE DATABASE IF NOT EXISTS mysql /* replplan: empty transaction " + g.ToString() +
                                   " for errant transactions" + of + " */");
    }
    if (!status.ok()) {
      status = status.WithContext(ctx.server.name + ": empty transaction " + g.ToString());
      break;
    }
  }
  Status restored = ctx.session.Execute(
      "SET SESSION gtid_domain_id = @@GLOBAL.gtid_domain_id, SESSION server_id = @@GLOBAL.server_id, "
      "SESSION gtid_seq_no = 0");
  if (!status.ok()) return status;
  if (!restored.ok()) return restored.WithContext(ctx.server.name + ": restoring the session's GTID variables");
  // Run without an error yet not binlogged (a binlog filter, sql_log_bin off): the replicas would
  // never get it; said rather than reported as done.
  auto after = ctx.session.Global("gtid_binlog_pos");
  if (!after.ok()) return after.status();
  auto now = GtidPosition::Parse(*after);
  if (!now.ok()) return now.status().WithContext(ctx.server.name + " @@gtid_binlog_pos");
  const Gtid& last = todo.back();
  std::optional<Gtid> at = now->Find(last.domain);
  if (!at || at->seq < last.seq) {
    return Status::Internal(ctx.server.name + ": the empty transaction " + last.ToString() +
                            " committed but is not in the binary log (@@gtid_binlog_pos " + *after + ")");
  }
  return Status::OK();
}

// File/position: the event group at the plan's Relay_Master_Log_File:Exec_Master_Log_Pos, checked
// again, skipped by sql_slave_skip_counter = 1 (one whole event group; MariaDB refuses it for a
// channel that uses GTID). start-replica then starts the SQL thread past it.
static Status SkipEventGroupAt(const StepContext& ctx, const Action& action, const SkipTransactionArgs& args) {
  const ServerSpec& spec = ctx.server;
  const std::string at = args.log_file + ":" + std::to_string(args.log_pos);
  auto status = ctx.session.ReplicaStatus();
  if (!status.ok()) return status.status();
  if (!status->has_value()) return Status::FailedPrecondition(StalePlan(action, "finds no replication channel"));
  const ReplicaChannel channel = **status;
  if (Lower(channel.using_gtid) != "no") {
    return Status::FailedPrecondition(StalePlan(action, "skips by binlog position, but the channel uses GTID (Using_Gtid " +
                                                            channel.using_gtid + ")"));
  }
  if (!StoppedOnDataError(channel)) {
    return Status::FailedPrecondition(StalePlan(action, "finds the SQL thread not stopped on a row event error (Last_SQL_Errno " +
                                                            std::to_string(channel.last_sql_errno) + ")"));
  }
  // Exactly the event group the plan names: the SQL thread stops at the same place.
  const std::string now = channel.relay_source_log_file + ":" + std::to_string(channel.exec_source_log_pos.value_or(0));
  if (now != at) {
    return Status::FailedPrecondition(StalePlan(action, "finds the SQL thread stopped at " + now + ", not " + at));
  }
  Status stop = StopReplicaNow(ctx, channel, ReplicaThreads::kBoth);
  if (!stop.ok()) return stop;
  Status set = ctx.session.Execute("SET GLOBAL sql_slave_skip_counter = 1");
  if (!set.ok()) return set.WithNote("replication on " + spec.name + " is stopped now; nothing was skipped");
  Say(ctx, spec.name + ": the event group at " + at + (args.gtid.empty() ? "" : " (GTID " + args.gtid + ")") +
               " is skipped when the SQL thread starts (sql_slave_skip_counter = 1)");
  return Status::OK();
}

Status SkipTransaction(const StepContext& ctx, const Action& action) {
  const ServerSpec& spec = ctx.server;
  if (!action.Args<SkipTransactionArgs>().log_file.empty()) {
    return SkipEventGroupAt(ctx, action, action.Args<SkipTransactionArgs>());
  }
  const std::string& text = action.Args<SkipTransactionArgs>().gtid;
  auto parsed = GtidPosition::Parse(text);
  if (!parsed.ok() || parsed->entries().size() != 1 || text.find(',') != std::string::npos) {
    return Status::InvalidArgument(StalePlan(action, "names no single GTID"));
  }
  const Gtid gtid = parsed->entries().begin()->second;
  auto slave_text = ctx.session.Global("gtid_slave_pos");
  if (!slave_text.ok()) return slave_text.status();
  auto slave = GtidPosition::Parse(*slave_text);
  if (!slave.ok()) return slave.status().WithContext(spec.name + ": gtid_slave_pos");
  std::optional<Gtid> at = slave->Find(gtid.domain);
  if (at && at->seq >= gtid.seq) return Status::OK();  // skipped already (an earlier run)

  auto status = ctx.session.ReplicaStatus();
  if (!status.ok()) return status.status();
  if (!status->has_value()) return Status::FailedPrecondition(StalePlan(action, "finds no replication channel"));
  const ReplicaChannel channel = **status;
  if (!StoppedOnDataError(channel)) {
    return Status::FailedPrecondition(StalePlan(action, "finds the SQL thread not stopped on a row event error (Last_SQL_Errno " +
                                                            std::to_string(channel.last_sql_errno) + ")"));
  }
  // Exactly the transaction the plan names, read again where the SQL thread stopped.
  const std::string sql = RelayEventsAtSql(channel);
  if (sql.empty()) {
    return Status::FailedPrecondition(spec.name + ": the relay log position the SQL thread stopped at is not known "
                                      "(Relay_Log_File '" + channel.relay_log_file + "'): nothing was skipped");
  }
  auto events = ctx.session.Query(sql, {}, "reading the relay log where the SQL thread stopped");
  if (!events.ok()) return events.status();
  const std::string now = GtidOfEventGroup(*events);
  if (now != text) {
    return Status::FailedPrecondition(StalePlan(
        action, "finds the SQL thread stopped at " + (now.empty() ? std::string("a transaction it cannot name") : now) +
                    ", not " + text));
  }
  Status stop = StopReplicaNow(ctx, channel, ReplicaThreads::kBoth);
  if (!stop.ok()) return stop;
  GtidPosition after = *slave;
  after.Set(gtid);
  Status set = ctx.session.Execute("SET GLOBAL gtid_slave_pos = " + QuoteString(after.ToString()));
  if (!set.ok()) return set.WithNote("replication on " + spec.name + " is stopped now; nothing was skipped");
  Say(ctx, spec.name + ": skipped " + text + " (gtid_slave_pos " + *slave_text + " -> " + after.ToString() + ")");
  return Status::OK();
}

}  // namespace steps
}  // namespace replplan
