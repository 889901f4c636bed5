// Replicas: every server but the file's primary replicates from it on the default channel, with
// the file's account, mode and heartbeat, both threads running; what cannot be repaired in place
// (a lost binlog, a diverged replica) is reseeded. The primary forgets any source it still has.
#include "engine/conditions.h"
#include "engine/gtid.h"
#include "engine/mysql_errors.h"
#include "engine/desired_config.h"
#include "engine/planner/rules.h"
#include "engine/sql_quote.h"
#include "engine/text.h"

namespace replplan::planner {
namespace {

std::string IoErrorExplained(const ReplicaChannel& c, const ServerSpec& primary) {
  std::string text = "IO thread error " + std::to_string(c.last_io_errno) + ": " + c.last_io_error;
  std::string where = primary.address + ":" + std::to_string(primary.mysql.port);
  if (c.last_io_errno == kErrAccessDenied) {
    return text + " (the source refused the replication login: is the replication account on " +
           primary.name + " right?)";
  }
  if (c.last_io_errno == kErrConnRefused || c.last_io_errno == kErrConnLocal) {
    return text + " (" + primary.name + " is not reachable at " + where + ": is its bind_address right?)";
  }
  return text;
}

// "'bob'@'%'" or "`bob`@`%`" (AccountOf) as its user and host; nullopt when it is not that shape.
std::optional<std::pair<std::string, std::string>> SplitAccount(const std::string& account) {
  if (account.size() < 5 || (account[0] != '\'' && account[0] != '`')) return std::nullopt;
  size_t user_end = account.find(account[0], 1);
  if (user_end == std::string::npos || user_end + 3 > account.size() || account[user_end + 1] != '@') return std::nullopt;
  const char q = account[user_end + 2];
  if (q != '\'' && q != '`') return std::nullopt;
  // The host ends at its first closing quote (an error text may double the last one: '%'').
  size_t host_end = account.find(q, user_end + 3);
  if (host_end == std::string::npos) return std::nullopt;
  return std::make_pair(account.substr(1, user_end - 1), account.substr(user_end + 3, host_end - user_end - 3));
}

// 1133/1396: a replicated account statement names an account this replica lacks. The data is
// intact: a declared [[user]] is created there with the binary log off (its own copy, as the
// replication account is) and START SLAVE runs the statement again. Never a reseed: an account
// the file does not declare (its password unknown) is explained, and left to the operator.
void PlanMissingAccount(const PlanContext& ctx, const Server& server, const ReplicaChannel& channel,
                        const std::string& threads, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const std::string named = AccountOf(channel.last_sql_error);
  const std::string error = "SQL thread error " + std::to_string(channel.last_sql_errno);
  auto split = SplitAccount(named);
  const UserSpec* declared = nullptr;
  if (split) {
    for (const UserSpec& u : ctx.topology.users) {
      if (u.name == split->first && u.host == split->second) declared = &u;
    }
  }
  const ReplicationSpec& r = ctx.topology.replication;
  if (declared == nullptr || (declared->name == r.user && declared->host == r.host) ||
      server.state.FindUser(declared->name, declared->host) != nullptr) {
    plan.report(server.index).notes.push_back(
        "replication " + error + " names " + (named.empty() ? std::string("an account") : named) + " that " +
        spec.name + " lacks (or has), which the file does not declare as a [[user]]: create (or drop) it on " +
        spec.name + " with SET SESSION sql_log_bin = 0, then START SLAVE; not reseeded, the data is intact");
    return;
  }
  std::vector<std::string> grants;
  for (const GrantSpec& g : declared->grants) grants.push_back(g.text);
  const std::string account = "'" + declared->name + "'@'" + declared->host + "'";
  Action& a = plan.Add(spec.name, ActionKind::kCreateUser, declared->name + "@" + declared->host);
  a.summary = "create " + account + " on " + spec.name + " with " + std::to_string(grants.size()) +
              (grants.size() == 1 ? " grant" : " grants") + " (binary log off)";
  a.reasons = {"a replicated account statement names " + account + ", which " + spec.name + " lacks (" + error +
               "): its data is intact, so no reseed"};
  a.changes = {{"user", "", account, false}, {"password", "", "", true}};
  for (const std::string& g : grants) a.changes.push_back({"grant", "", g, false});
  a.SetArgs(CreateUserArgs{declared->name, declared->host, std::move(grants), /*binlog_off=*/true});
  AddStart(server, {threads, "the SQL thread runs the account statement again"}, plan);
}

// 1032/1062 with [cluster] on_data_error = "skip": that one transaction is skipped rather than the
// replica reseeded, and the plan warns that the replica then differs from the primary for that row.
// Under GTID it is named by its GTID (read from the relay log at Relay_Log_Pos) and skipped by
// moving gtid_slave_pos past it, only when gtid_slave_pos does not hold it yet. Under file/position
// it is named by where the SQL thread stopped in the source's binlog (Relay_Master_Log_File,
// Exec_Master_Log_Pos) and skipped with sql_slave_skip_counter = 1, which skips one whole event
// group; apply checks the thread still stops there first. Otherwise a note says why and the
// default, a reseed, is planned. False when nothing was planned.
bool PlanSkipTransaction(const PlanContext& ctx, const Server& server, const ReplicaChannel& channel,
                         const std::string& error, const std::string& threads, PlanBuilder& plan) {
  if (ctx.topology.cluster.on_data_error != DataErrorRemedy::kSkip) return false;
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  HostReport& report = plan.report(server.index);
  auto cannot = [&](const std::string& why) {
    report.notes.push_back("on_data_error = \"skip\", but the transaction " + spec.name +
                           " stopped on cannot be skipped: " + why + "; reseeded instead");
    return false;
  };
  const std::string event = RowEventOf(channel.last_sql_error);
  const std::string what = event.empty() ? std::string("a row event") : event;
  const std::string& primary = ctx.primary().name;
  const std::string reason = "[cluster] on_data_error = \"skip\": the file allows skipping the one failing "
                             "transaction instead of a reseed";
  if (ctx.topology.replication.mode != ReplicationMode::kGtid) {
    const uint64_t pos = channel.exec_source_log_pos.value_or(0);
    const std::string& file = channel.relay_source_log_file;
    if (file.empty() || pos == 0 || file.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                                        std::string::npos) {
      return cannot("where it stopped in " + primary + "'s binlog (Relay_Master_Log_File '" + file +
                    "', Exec_Master_Log_Pos) is not known");
    }
    const std::string at = file + ":" + std::to_string(pos);
    const std::string named = s.failed_gtid.empty() ? "" : " (GTID " + s.failed_gtid + ")";
    Action& a = plan.Add(spec.name, ActionKind::kSkipTransaction, at);
    a.summary = "skip the transaction at " + at + named + " on " + spec.name + " (" + what + "), one event group "
                "with sql_slave_skip_counter = 1: " + spec.name + " then differs from " + primary + " for that row";
    a.reasons = {spec.name + "'s SQL thread stopped at " + at + " of " + primary + "'s binlog" + named + " (" + error +
                     ")",
                 reason};
    a.changes = {{"Exec_Master_Log_Pos", at, "past the event group at " + at, false}};
    a.SetArgs(SkipTransactionArgs{s.failed_gtid, file, pos});
    report.notes.push_back("WARNING: skipping the transaction at " + at + named + " leaves " + spec.name +
                           " different from " + primary + " for the row it changes (" + what + "); only a reseed "
                           "(on_data_error = \"reseed\") makes them equal again");
    AddStart(server, {threads, "replication resumes after the skipped transaction at " + at}, plan);
    return true;
  }
  if (s.failed_gtid.empty()) return cannot("its GTID could not be read from the relay log at Relay_Log_Pos");
  auto failed = GtidPosition::Parse(s.failed_gtid);
  auto slave = GtidPosition::Parse(s.gtid_slave_pos);
  if (!failed.ok() || failed->entries().size() != 1 || !slave.ok()) {
    return cannot("gtid_slave_pos '" + s.gtid_slave_pos + "' or the GTID '" + s.failed_gtid + "' does not parse");
  }
  const Gtid gtid = failed->entries().begin()->second;
  std::optional<Gtid> at = slave->Find(gtid.domain);
  if (at && at->seq >= gtid.seq) {
    return cannot("gtid_slave_pos " + s.gtid_slave_pos + " holds " + s.failed_gtid + " already");
  }
  GtidPosition after = *slave;
  after.Set(gtid);
  Action& a = plan.Add(spec.name, ActionKind::kSkipTransaction, s.failed_gtid);
  a.summary = "skip transaction " + s.failed_gtid + " on " + spec.name + " (" + what + "): " + spec.name +
              " then differs from " + primary + " for that row";
  a.reasons = {spec.name + "'s SQL thread stopped on " + s.failed_gtid + " (" + error + ")", reason};
  a.changes = {{"gtid_slave_pos", OrEmpty(s.gtid_slave_pos), after.ToString(), false}};
  a.SetArgs(SkipTransactionArgs{s.failed_gtid, "", 0});
  report.notes.push_back("WARNING: skipping " + s.failed_gtid + " leaves " + spec.name + " different from " +
                         primary + " for the row it changes (" + what + "); only a reseed (on_data_error = "
                         "\"reseed\") makes them equal again");
  AddStart(server, {threads, "replication resumes after the skipped transaction " + s.failed_gtid}, plan);
  return true;
}

}  // namespace

void PlanForgetSources(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  for (const ReplicaChannel& c : server.state.channels) {
    if (ctx.change() && c.connection_name.empty()) continue;  // promote-replica resets it
    std::string object = c.connection_name;
    Action& a = plan.Add(spec.name, ActionKind::kResetReplica, object);
    a.summary = "RESET SLAVE ALL on " + spec.name + ": forget its source " + c.source_host + ":" +
                std::to_string(c.source_port);
    a.reasons = {spec.name + " is the primary but replicates from " + c.source_host + ":" +
                 std::to_string(c.source_port) + (object.empty() ? "" : " (channel '" + object + "')")};
    a.changes = {{"master_host", c.source_host, "", false}};
    a.destructive = true;
    a.SetArgs(ResetReplicaArgs{object});
  }
}

void PlanReplica(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  const ReplicationSpec& replication = ctx.topology.replication;
  HostReport& report = plan.report(server.index);
  const ServerSpec& p = ctx.primary();
  const ReplicaChannel* channel = nullptr;
  for (const ReplicaChannel& c : s.channels) {
    if (c.connection_name.empty()) {
      channel = &c;
    } else {
      report.notes.push_back("channel '" + c.connection_name + "' replicates from " + c.source_host + ":" +
                             std::to_string(c.source_port) + "; replplan manages only the default channel");
    }
  }
  if (channel == nullptr) {
    AddSeed(ctx, server, {spec.name + " does not replicate yet"}, false, plan);
    AddChangeSource(ctx, server, nullptr, {spec.name + " has no replication channel"}, true, false, plan);
    AddStart(server, {spec.name + " does not replicate yet"}, plan);
    return;
  }
  if (channel->source_host == kSeedInProgressHost) {
    AddSeed(ctx, server, {"an earlier seed of " + spec.name + " did not finish (its data is partial)"}, false, plan);
    AddChangeSource(ctx, server, nullptr, {spec.name + " has no replication source yet (seed unfinished)"}, true,
                    false, plan);
    AddStart(server, {spec.name + " does not replicate yet"}, plan);
    return;
  }

  bool gtid = replication.mode == ReplicationMode::kGtid;
  bool uses_gtid = Lower(channel->using_gtid) != "no" && !channel->using_gtid.empty();
  std::vector<std::string> elsewhere;
  if (channel->source_host != p.address || channel->source_port != p.mysql.port) {
    elsewhere.push_back("replicates from " + channel->source_host + ":" + std::to_string(channel->source_port) +
                        ", file wants " + p.name + " (" + p.address + ":" + std::to_string(p.mysql.port) + ")");
  }
  if (channel->source_user != replication.user) {
    elsewhere.push_back("replication user is '" + channel->source_user + "', file wants '" + replication.user + "'");
  }
  // A negative period was not reported: nothing to compare.
  double period = replication.heartbeat_period;
  if (channel->heartbeat_period >= 0 && !HeartbeatMatches(channel->heartbeat_period, period)) {
    elsewhere.push_back("heartbeat period is " + SecondsText(channel->heartbeat_period) + " s, file wants " +
                        SecondsText(period) + " s");
  }
  if (gtid && !uses_gtid) elsewhere.push_back("Using_Gtid is No, file wants GTID replication");
  if (!gtid && uses_gtid) elsewhere.push_back("Using_Gtid is " + channel->using_gtid + ", file wants file/position");
  if (!elsewhere.empty()) {
    AddChangeSource(ctx, server, channel, elsewhere, false, false, plan);
    AddStart(server, {"replication stops for the source change"}, plan);
    return;
  }

  // An IO thread Preparing (MariaDB's state between START SLAVE, or mariadbd's start, and the
  // connect) with no error is on its way: a START SLAVE would do nothing (measured: a read just after
  // a restart sees it; remedy_test's 2003 repair read it so).
  const bool io_starting = channel->io_running == "Preparing" && channel->last_io_errno == 0;
  bool running = (channel->io_running == "Yes" || io_starting) && channel->sql_running;
  if (running) return;
  std::string threads = "replication threads are not running (IO: " + OrEmpty(channel->io_running) +
                        ", SQL: " + (channel->sql_running ? "Yes" : "No") + ")";
  if (channel->last_io_errno == kErrBinlogGone) {
    report.notes.push_back("replication IO thread error 1236: " + channel->last_io_error + " (reseed)");
    AddSeed(ctx, server, {"reseed: source no longer has the binlog the replica needs (error 1236)"}, true, plan);
    AddChangeSource(ctx, server, channel, {"restart replication at the seed's position"}, true, false, plan);
    AddStart(server, {threads}, plan);
    return;
  }
  // 1201, or a relay log gone from disk (both threads No, errnos 0: START SLAVE fails with 1201
  // once mariadbd restarted): the channel's metadata is broken, the data is intact. Under GTID the
  // replica knows its own position (gtid_slave_pos), so the channel is forgotten and made again
  // from there; the relay log RESET SLAVE ALL drops is fetched again from the source.
  const bool metadata_broken = channel->last_io_errno == kErrMasterInfo || channel->last_sql_errno == kErrMasterInfo ||
                               (channel->last_io_errno == 0 && channel->last_sql_errno == 0 &&
                                channel->io_running == "No" && !channel->sql_running && s.relay_log_present == false);
  // File/position: the replica's executed position in its source's binlog (Relay_Master_Log_File,
  // Exec_Master_Log_Pos) is where the channel is made again; the plan carries it, since RESET SLAVE
  // forgets it. Without one (never ran, not reported) a reseed is left as before.
  const bool executed_known = !channel->relay_source_log_file.empty() && channel->exec_source_log_pos.value_or(0) > 0;
  if (metadata_broken && (gtid || executed_known)) {
    std::string seen = channel->last_io_errno == kErrMasterInfo    ? "IO thread error 1201: " + channel->last_io_error
                       : channel->last_sql_errno == kErrMasterInfo ? "SQL thread error 1201: " + channel->last_sql_error
                                                                   : "Relay_Log_File " + channel->relay_log_file +
                                                                         " is not on disk";
    Action& reset = plan.Add(spec.name, ActionKind::kResetReplica);
    reset.summary = "RESET SLAVE ALL on " + spec.name + ": forget its broken channel metadata and relay log";
    reset.reasons = {spec.name + "'s replication metadata is broken (" + seen +
                     "): START SLAVE alone fails with 1201; its data is intact, so no reseed"};
    reset.changes = {{"master_host", channel->source_host, "", false}};
    reset.SetArgs(ResetReplicaArgs{""});
    if (gtid) {
      AddChangeSource(ctx, server, nullptr,
                      {"make the channel again at " + spec.name + "'s own GTID position (gtid_slave_pos " +
                       OrEmpty(s.gtid_slave_pos) + ")"},
                      false, false, plan);
    } else {
      const std::string at = channel->relay_source_log_file + ":" + std::to_string(*channel->exec_source_log_pos);
      Action& change = AddChangeSource(
          ctx, server, nullptr,
          {"make the channel again at the position " + spec.name + " executed up to in " + ctx.primary().name +
           "'s binlog (Relay_Master_Log_File:Exec_Master_Log_Pos " + at + ")"},
          false, false, plan);
      ChangeSourceArgs args = change.Args<ChangeSourceArgs>();
      args.position = StartPosition::kAt;
      args.log_file = channel->relay_source_log_file;
      args.log_pos = *channel->exec_source_log_pos;
      change.SetArgs(std::move(args));
      change.changes.push_back({"start_position", "", at, false});
    }
    AddStart(server, {threads}, plan);
    return;
  }
  if (channel->last_sql_errno == kErrNoMatchingUserRow || channel->last_sql_errno == kErrCannotUser) {
    PlanMissingAccount(ctx, server, *channel, threads, plan);
    return;
  }
  if (channel->last_sql_errno != 0) {
    std::string error = "SQL thread error " + std::to_string(channel->last_sql_errno) + ": " + channel->last_sql_error;
    if (StoppedOnDataError(*channel) && PlanSkipTransaction(ctx, server, *channel, error, threads, plan)) return;
    report.notes.push_back("replication " + error + " (reseed)");
    AddSeed(ctx, server, {"reseed: the replica's data diverged from its source (" + error + ")"}, true, plan);
    AddChangeSource(ctx, server, channel, {"restart replication at the seed's position"}, true, false, plan);
    AddStart(server, {threads}, plan);
    return;
  }
  std::vector<std::string> reasons = {threads};
  if (channel->last_io_errno != 0) {
    reasons.push_back(IoErrorExplained(*channel, p));
    report.notes.push_back("replication " + IoErrorExplained(*channel, p));
  }
  AddStart(server, std::move(reasons), plan);
}

// A seed replaces the replica's data: when it holds databases already, that is loudly destructive.
void AddSeed(const PlanContext& ctx, const Server& server, std::vector<std::string> reasons, bool destructive,
             PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  const ReplicationSpec& replication = ctx.topology.replication;
  if (!s.databases.empty()) {
    std::vector<std::string> names;
    for (const LiveDatabase& d : s.databases) names.push_back(d.name);
    reasons.push_back(spec.name + " already holds databases " + Join(names, ", ") + ": the seed overwrites them");
    destructive = true;
  }
  bool gtid = replication.mode == ReplicationMode::kGtid;
  // Its own transactions in its binlog: the seed's RESET MASTER deletes those binlogs.
  if (gtid && !s.gtid_binlog_pos.empty()) {
    reasons.push_back(spec.name + "'s binary log holds transactions (" + s.gtid_binlog_pos +
                      "): the seed resets it (RESET MASTER)");
    destructive = true;
  }
  const std::string& source = ctx.primary().name;
  Action& a = plan.Add(spec.name, ActionKind::kSeedReplica);
  a.summary = "seed " + spec.name + " from " + source + " (consistent dump with " +
              (gtid ? "GTID position" : "binlog file and position") + ", restore with binary logging off)";
  a.reasons = std::move(reasons);
  a.destructive = destructive;
  SeedReplicaArgs args{source, replication.mode, ""};
  // What the wipe may drop, as the plan saw it: a database created on the replica since is refused.
  if (!s.databases.empty()) {
    std::vector<std::string> names;
    for (const LiveDatabase& d : s.databases) names.push_back(d.name);
    args.drops = SortedIdentifierList(names);
  }
  a.SetArgs(std::move(args));
}

Action& AddChangeSource(const PlanContext& ctx, const Server& server, const ReplicaChannel* channel,
                        std::vector<std::string> reasons, bool seeded, bool from_binlog, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  const ReplicationSpec& replication = ctx.topology.replication;
  const ServerSpec& p = ctx.primary();
  bool gtid = replication.mode == ReplicationMode::kGtid;
  // A server that never replicated (a former primary) has an empty gtid_slave_pos: it must start
  // from what it has applied itself, current_pos. A seeded replica gets gtid_slave_pos from the dump.
  UseGtid use_gtid_mode = !gtid ? UseGtid::kNo
                          : (!seeded && !from_binlog && s.gtid_slave_pos.empty() && !s.gtid_current_pos.empty())
                              ? UseGtid::kCurrentPos
                              : UseGtid::kSlavePos;
  std::string use_gtid = ToString(use_gtid_mode);
  std::string port = std::to_string(p.mysql.port);
  Action& a = plan.Add(spec.name, ActionKind::kChangeSource);
  a.summary = "replicate " + spec.name + " from " + p.name + " (" + p.address + ":" + port + ") as '" +
              replication.user + "'" + (gtid ? ", MASTER_USE_GTID=" + use_gtid : ", file/position");
  a.reasons = std::move(reasons);
  auto change = [&](const std::string& key, const std::string& from, const std::string& to) {
    if (channel == nullptr || from != to) a.changes.push_back({key, from, to, false});
  };
  change("master_host", channel ? channel->source_host : "", p.address);
  change("master_port", channel ? std::to_string(channel->source_port) : "", port);
  change("master_user", channel ? channel->source_user : "", replication.user);
  a.changes.push_back({"master_password", "", "", true});
  std::string current_gtid = channel ? Lower(channel->using_gtid) : "";
  if (gtid) change("master_use_gtid", current_gtid, use_gtid);
  else change("master_use_gtid", current_gtid, "no");
  if (seeded) {
    a.changes.push_back(
        {"start_position", "", gtid ? "gtid_slave_pos from the dump" : "binlog file/position from the dump", false});
  }
  if (from_binlog) {
    a.changes.push_back({"gtid_slave_pos", s.gtid_slave_pos,
                         "its own @@gtid_binlog_pos (" + OrEmpty(s.gtid_binlog_pos) + ")", false});
  }
  a.SetArgs(ChangeSourceArgs{p.name, replication.mode, use_gtid_mode,
                             seeded        ? StartPosition::kFromSeed
                             : from_binlog ? StartPosition::kFromBinlog
                                           : StartPosition::kKeep});
  return a;
}

void AddStart(const Server& server, std::vector<std::string> reasons, PlanBuilder& plan) {
  Action& a = plan.Add(server.spec.name, ActionKind::kStartReplica);
  a.summary = "START SLAVE on " + server.spec.name + " and wait until both threads run";
  a.reasons = std::move(reasons);
}

}  // namespace replplan::planner
