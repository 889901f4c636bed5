#include "providers/seeder.h"
#include "engine/text.h"

#include "engine/cluster_epoch.h"
#include "engine/live_state.h"
#include "providers/connect_options.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "engine/shell_quote.h"
#include "engine/sql_quote.h"
#include "providers/server_session.h"

namespace replplan {
namespace {

// A stream with no byte moving for this long is stuck, not slow: a dump of any size keeps
// producing, and a restore keeps consuming, statement after statement.
constexpr int kIdleTimeoutMs = 120000;

// One side of the seed (the primary or the replica): its session, over which its SQL runs and its
// command streams, and its SQL password, redacted from any stderr quoted. Errors are worded as the
// transport words them, named here by the server ("uranus: query failed on ...").
struct Side {
  const ServerSpec* spec = nullptr;
  Secret password;
  std::unique_ptr<ServerSession> session;
};

Result<Side> Open(SessionFactory& sessions, const ServerSpec& server) {
  Side side;
  side.spec = &server;
  auto options = MysqlOptionsFor(server);
  if (!options.ok()) return options.status().WithContext(server.name);
  side.password = options->password;
  // Fresh connections: the replica's session turns sql_log_bin off, and both stream for minutes.
  SessionLimits limits;
  limits.fresh = true;
  limits.command_timeout_ms = 0;  // the server's own
  limits.name_errors = false;
  side.session = sessions.Open(server, limits);
  Status connected = side.session->ConnectSql();
  if (!connected.ok()) return connected.WithContext(server.name);
  return side;
}

// @@name of the side's server.
Result<std::string> Global(Side& side, const std::string& name) {
  auto value = side.session->Global(name);
  if (!value.ok()) return value.status().WithContext(side.spec->name);
  return value;
}

// First column of the first row ("" when there is none).
Result<std::string> Value(Side& side, const std::string& sql) {
  auto rows = side.session->Query(sql);
  if (!rows.ok()) return rows.status().WithContext(side.spec->name);
  if (rows->empty() || rows->front().empty()) return std::string();
  return rows->front().begin()->second;
}

Status Execute(Side& side, const std::string& sql) { return side.session->Execute(sql).WithContext(side.spec->name); }

// The default channel (SHOW SLAVE STATUS), empty when there is none.
Result<ReplicaChannel> Channel(Side& side) {
  auto channel = side.session->ReplicaStatus();
  if (!channel.ok()) return channel.status().WithContext(side.spec->name);
  return channel->value_or(ReplicaChannel{});
}

Result<std::vector<std::string>> ListDatabases(Side& side) {
  auto rows = side.session->Query("SELECT schema_name AS name FROM information_schema.SCHEMATA ORDER BY schema_name");
  if (!rows.ok()) return rows.status().WithContext(side.spec->name + ": listing databases");
  std::vector<std::string> all;
  for (const Row& row : *rows) all.push_back(row.at("name"));
  return all;
}

Result<std::vector<std::string>> ListUserDatabases(Side& side) {
  auto all = ListDatabases(side);
  if (!all.ok()) return all.status();
  return UserDatabases(*all);
}

// The replica before the copy arrives: replication stopped and forgotten, its user databases gone
// (only when wiping), and in file mode a default connection naming the primary so that the dump's
// own CHANGE MASTER statements (which name no host) record the position on it. Everything runs in the
// replica's session with sql_log_bin=0: none of it is replica history anyone should replay.
Status PrepareReplica(Side& replica, const ServerSpec& primary, const std::vector<std::string>& databases,
                      ReplicationMode mode) {
  for (const char* statement : {"SET SESSION sql_log_bin=0", "STOP SLAVE", "RESET SLAVE ALL"}) {
    Status s = Execute(replica, statement);
    if (!s.ok()) return s;
  }
  for (const std::string& database : databases) {
    Status s = Execute(replica, "DROP DATABASE " + QuoteIdentifier(database));
    if (!s.ok()) return s;
  }
  if (mode == ReplicationMode::kGtid) {
    // SET GLOBAL gtid_slave_pos fails with 1947 when the replica's own binlog holds a more recent
    // GTID of the same domain (measured). That binlog describes data the replica no longer has (it
    // holds no user database now), so RESET MASTER loses nothing, as long as no server replicates
    // from this one: a downstream replica would be left asking for GTIDs that no longer exist.
    auto own = Global(replica, "gtid_binlog_pos");
    if (!own.ok()) return own.status();
    if (!own->empty()) {
      auto downstream =
          Value(replica, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
      if (!downstream.ok()) return downstream.status();
      if (*downstream != "0") {
        return Status::FailedPrecondition(
            replica.spec->name + " has its own GTIDs in its binlog (" + *own + ") and " + *downstream +
            " server(s) replicate from it: resetting its binlog would strand them; repoint them first");
      }
      Status s = Execute(replica, "RESET MASTER");
      if (!s.ok()) return s;
    }
  }
  Status cleared = replica.session->SetGlobal("gtid_slave_pos", QuoteString("")).WithContext(replica.spec->name);
  if (!cleared.ok()) return cleared;
  // In GTID mode the replica keeps no visible channel until change-source names the primary: a
  // host-less connection does not show in SHOW SLAVE STATUS, so a seed cut short (kill -9 of
  // replplan mid-restore) leaves a replica the next plan seeds again instead of starting it on
  // partial data. File mode needs the host first, or the dump's CHANGE MASTER TO MASTER_LOG_FILE
  // would be reset by the later CHANGE MASTER TO MASTER_HOST.
  if (mode == ReplicationMode::kGtid) return Status::OK();
  // File mode: a named host that never resolves until the seed has finished (see live_state.h).
  return Execute(replica, "CHANGE MASTER TO MASTER_HOST=" + QuoteString(kSeedInProgressHost) +
                              ", MASTER_PORT=" + std::to_string(primary.mysql.port));
}

// File mode, after the copy: the channel leaves its sentinel host for the primary, keeping the
// position the dump recorded (naming MASTER_HOST alone would reset it to the first binlog).
Status PointAtPrimaryKeepingPosition(Side& replica, const ServerSpec& primary) {
  auto channel = replica.session->ReplicaStatus();
  if (!channel.ok()) return channel.status().WithContext(replica.spec->name);
  if (!channel->has_value()) return Status::Internal(replica.spec->name + ": no replication position after the seed");
  if ((*channel)->source_log_file.empty() || !(*channel)->read_source_log_pos) {
    return Status::Internal(replica.spec->name + ": the dump recorded no binlog position");
  }
  return Execute(replica, "CHANGE MASTER TO MASTER_HOST=" + QuoteString(primary.address) +
                              ", MASTER_PORT=" + std::to_string(primary.mysql.port) +
                              ", MASTER_LOG_FILE=" + QuoteString((*channel)->source_log_file) +
                              ", MASTER_LOG_POS=" + std::to_string(*(*channel)->read_source_log_pos));
}

// With no user database there is nothing to dump; the position comes straight from the primary.
Status RecordPositionFromSql(Side& primary, Side& replica, ReplicationMode mode) {
  if (mode == ReplicationMode::kGtid) {
    auto position = Global(primary, "gtid_binlog_pos");
    if (!position.ok()) return position.status();
    Status s = replica.session->SetGlobal("gtid_slave_pos", QuoteString(*position)).WithContext(replica.spec->name);
    if (!s.ok()) return s;
    return Execute(replica, "CHANGE MASTER TO MASTER_USE_GTID=slave_pos");
  }
  auto status = primary.session->Query("SHOW MASTER STATUS");
  if (!status.ok()) return status.status().WithContext(primary.spec->name);
  if (status->empty()) return Status::FailedPrecondition(primary.spec->name + " has no binary log position");
  const Row& row = status->front();
  const std::string& position = row.at("Position");
  // A number goes into the statement unquoted: only digits may.
  if (row.at("File").empty() || position.empty() || position.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Internal(primary.spec->name + ": SHOW MASTER STATUS gave no binlog position");
  }
  return Execute(replica, "CHANGE MASTER TO MASTER_LOG_FILE=" + QuoteString(row.at("File")) +
                              ", MASTER_LOG_POS=" + position);
}

Status SideFailure(const std::string& what, const ServerSpec& server, const StreamExit& exit,
                   const std::vector<const Secret*>& secrets) {
  std::string err(TrimEnd(RedactSecrets(exit.err, secrets)));
  return Status::Internal(what + " on " + server.name + " failed (exit " + std::to_string(exit.exit_status) +
                          ")" + (err.empty() ? "" : ": " + err));
}

// The sockets the dump and the restore use, and both sides' SSH connections, opened before the
// replica is touched: a host that cannot be reached over SSH (or whose key does not match) refuses
// the seed while the replica is still as it was.
struct Sockets {
  std::string primary, replica;
};

Result<Sockets> PrepareStreams(Side& primary, Side& replica) {
  Sockets sockets;
  auto primary_socket = Global(primary, "socket");
  if (!primary_socket.ok()) return primary_socket.status();
  auto replica_socket = Global(replica, "socket");
  if (!replica_socket.ok()) return replica_socket.status();
  sockets.primary = *primary_socket;
  sockets.replica = *replica_socket;
  Status from = primary.session->ConnectSsh();
  if (!from.ok()) return from.WithContext(primary.spec->name);
  Status to = replica.session->ConnectSsh();
  if (!to.ok()) return to.WithContext(replica.spec->name);
  return sockets;
}

// Dump on the primary, restore on the replica, bytes pumped between the two SSH channels.
Result<uint64_t> StreamDump(const Sockets& sockets, Side& primary, Side& replica,
                            const std::vector<std::string>& databases, ReplicationMode mode,
                            const ProgressFn& progress) {
  const std::vector<const Secret*> secrets = {&primary.password, &replica.password};
  // The restore first, so it is waiting when the first bytes come.
  auto restore = replica.session->StartCommand(RestoreCommand(sockets.replica));
  if (!restore.ok()) return restore.status().WithContext("restore on " + replica.spec->name);
  auto dump = primary.session->StartCommand(DumpCommand(sockets.primary, databases, mode));
  if (!dump.ok()) return dump.status().WithContext("dump on " + primary.spec->name);

  PumpOptions options;
  options.idle_timeout_ms = kIdleTimeoutMs;
  if (progress) options.progress = [&](uint64_t bytes, double seconds) { progress(FormatSeedProgress(bytes, seconds)); };
  auto pumped = PumpStdoutToStdin(**dump, **restore, options);
  if (!pumped.ok()) {
    return pumped.status().WithContext("seeding " + replica.spec->name + " from " + primary.spec->name);
  }
  if (!pumped->complete) {
    // The restore quit before the dump ended: its stderr says why.
    auto restored = (*restore)->Finish(kIdleTimeoutMs);
    if (!restored.ok()) return restored.status().WithContext("restore on " + replica.spec->name);
    StreamExit exit = *restored;
    if (exit.exit_status == 0) exit.exit_status = -1;  // it must not read as success: data was left over
    return SideFailure("restore", *replica.spec, exit, secrets);
  }
  auto dumped = (*dump)->Finish(kIdleTimeoutMs);
  if (!dumped.ok()) return dumped.status().WithContext("dump on " + primary.spec->name);
  if (dumped->exit_status != 0) {
    // Never send EOF to the restore of a broken dump: dropping the stream closes its channel.
    restore->reset();
    return SideFailure("dump", *primary.spec, *dumped, secrets);
  }
  auto restored = (*restore)->Finish(kIdleTimeoutMs);
  if (!restored.ok()) return restored.status().WithContext("restore on " + replica.spec->name);
  if (restored->exit_status != 0) return SideFailure("restore", *replica.spec, *restored, secrets);
  return pumped->bytes;
}

// Accounts live in mysql.global_priv, which the dump does not carry. Each declared [[user]] the
// primary has is recreated on the replica from the primary's own SHOW CREATE USER / SHOW GRANTS,
// so the hash passes through memory only. Server error text is left out of failures here: it may
// quote the statement, and so the hash.
Status CopyAccounts(const Topology& topology, Side& primary, Side& replica) {
  for (const UserSpec& user : topology.users) {
    if (user.name == topology.replication.user && user.host == topology.replication.host) continue;
    const std::string account = QuoteAccount(user.name, user.host);
    auto exists = Value(primary, "SELECT COUNT(*) FROM mysql.global_priv WHERE User=" + QuoteString(user.name) +
                                     " AND Host=" + QuoteString(user.host));
    if (!exists.ok()) return exists.status();
    if (*exists == "0") continue;
    auto create = primary.session->Query("SHOW CREATE USER " + account);
    auto grants = primary.session->Query("SHOW GRANTS FOR " + account);
    if (!create.ok() || !grants.ok() || create->empty() || create->front().empty()) {
      return Status::Internal(primary.spec->name + ": cannot read account " + account + " (MySQL error " +
                              std::to_string((!create.ok() ? create.status() : grants.status()).sql_errno()) + ")");
    }
    std::string statement = create->front().begin()->second;
    const std::string prefix = "CREATE USER ";
    if (statement.rfind(prefix, 0) != 0) {
      return Status::Internal(primary.spec->name + ": unexpected SHOW CREATE USER reply for " + account);
    }
    std::vector<std::string> statements = {"CREATE OR REPLACE USER " + statement.substr(prefix.size())};
    for (const Row& row : *grants) {
      if (!row.empty()) statements.push_back(row.begin()->second);
    }
    for (const std::string& sql : statements) {
      Status s = replica.session->Execute(sql);
      if (!s.ok()) {
        return Status::Internal("copying account " + account + " to " + replica.spec->name +
                                " failed (MySQL error " + std::to_string(s.sql_errno()) + ")");
      }
    }
  }
  return Status::OK();
}

// The position the seed recorded, for the final progress line; an error when it is missing.
Result<std::string> CheckRecordedPosition(Side& replica, ReplicationMode mode, const std::string& primary_gtid) {
  if (mode == ReplicationMode::kGtid) {
    auto position = Global(replica, "gtid_slave_pos");
    if (!position.ok()) return position.status();
    if (position->empty() && !primary_gtid.empty()) {
      return Status::Internal("seed left " + replica.spec->name + " without a gtid_slave_pos (primary is at " +
                              primary_gtid + ")");
    }
    return "gtid_slave_pos " + (position->empty() ? std::string("(empty: the primary has no GTID yet)") : *position);
  }
  auto read = Channel(replica);
  if (!read.ok()) return read.status();
  const ReplicaChannel& channel = *read;
  if (channel.source_log_file.empty()) {
    return Status::Internal("seed left " + replica.spec->name + " without a binlog file/position");
  }
  return "position " + channel.source_log_file + ":" +
         (channel.read_source_log_pos ? std::to_string(*channel.read_source_log_pos) : std::string());
}

}  // namespace

std::vector<std::string> UserDatabases(const std::vector<std::string>& all_databases) {
  // kEpochSchema: replplan's own (engine/cluster_epoch.h), copied by DumpedDatabases, never a
  // database a seed counts, refuses for or drops.
  static const std::set<std::string> kSystem = {"mysql", "sys", "information_schema", "performance_schema",
                                                kEpochSchema};
  std::vector<std::string> user;
  for (const std::string& name : all_databases) {
    if (kSystem.count(name) == 0) user.push_back(name);
  }
  return user;
}

std::vector<std::string> DumpedDatabases(const std::vector<std::string>& all_databases) {
  std::vector<std::string> dumped = UserDatabases(all_databases);
  // The failover epochs travel with the data: a reseeded server knows the cluster's epoch at once
  // (the dump's DROP TABLE IF EXISTS + CREATE TABLE replace whatever copy it held).
  if (std::find(all_databases.begin(), all_databases.end(), kEpochSchema) != all_databases.end()) {
    dumped.push_back(kEpochSchema);
  }
  return dumped;
}

std::string DumpCommand(const std::string& socket, const std::vector<std::string>& databases,
                        ReplicationMode mode) {
  // --master-data=1 writes the position as statements (10.11 rejects --source-data): with --gtid,
  // CHANGE MASTER TO MASTER_USE_GTID=slave_pos and SET GLOBAL gtid_slave_pos; without, CHANGE
  // MASTER TO MASTER_LOG_FILE/POS. --single-transaction: a consistent InnoDB snapshot without a
  // global read lock.
  std::vector<std::string> dump = {"mariadb-dump", "--socket=" + socket, "--single-transaction",
                                   "--master-data=1"};
  if (mode == ReplicationMode::kGtid) dump.push_back("--gtid");
  for (const char* flag : {"--routines", "--triggers", "--events", "--hex-blob", "--databases"}) dump.push_back(flag);
  // "--": the names come from SHOW DATABASES, and a database called "--result-file=/etc/x" is legal;
  // mariadb-dump's option parser reads options after operands until it meets "--".
  dump.push_back("--");
  for (const std::string& database : databases) dump.push_back(database);
  // gzip -1: on a LAN the link is rarely the bottleneck, the CPU is.
  return "bash -o pipefail -c " + ShellQuote(ShellJoin(dump) + " | gzip -1");
}

std::string RestoreCommand(const std::string& socket) {
  std::vector<std::string> restore = {"mariadb", "--socket=" + socket,
                                      "--init-command=SET SESSION sql_log_bin=0"};
  return "bash -o pipefail -c " + ShellQuote("gunzip -c | " + ShellJoin(restore));
}

std::string FormatSeedProgress(uint64_t bytes, double seconds) {
  const double megabytes = static_cast<double>(bytes) / 1e6;
  const double rate = seconds > 0 ? megabytes / seconds : 0.0;
  char line[96];
  std::snprintf(line, sizeof(line), "%.1f MB, %.1f MB/s, %.1f s", megabytes, rate, seconds);
  return line;
}

Status SeedReplica(SessionFactory& sessions, const Topology& topology, const ServerSpec& primary,
                   const ServerSpec& replica, bool wipe_replica_databases, const ProgressFn& progress,
                   const std::string& approved_drops) {
  const ReplicationMode mode = topology.replication.mode;
  auto source = Open(sessions, primary);
  if (!source.ok()) return source.status();
  auto target = Open(sessions, replica);
  if (!target.ok()) return target.status();

  auto log_bin = Global(*source, "log_bin");
  if (!log_bin.ok()) return log_bin.status();
  if (*log_bin != "1") {
    return Status::FailedPrecondition(primary.name + " has no binary log (log_bin is OFF): a replica would have "
                                      "nothing to follow; enable log_bin on it first");
  }
  auto primary_all = ListDatabases(*source);
  if (!primary_all.ok()) return primary_all.status();
  auto primary_databases = DumpedDatabases(*primary_all);
  auto replica_databases = ListUserDatabases(*target);
  if (!replica_databases.ok()) return replica_databases.status();
  // Checked before anything changes: a refused seed leaves the replica exactly as it was.
  if (!wipe_replica_databases && !replica_databases->empty()) {
    return Status::FailedPrecondition(
        replica.name + " already holds databases " + Join(*replica_databases) +
        ": seeding would replace them; only a seed the plan marks destructive (wipe) may do that");
  }
  // The plan named what it drops; a database created since is not among them.
  if (wipe_replica_databases && !approved_drops.empty() && SortedIdentifierList(*replica_databases) != approved_drops) {
    return Status::FailedPrecondition(replica.name + " holds databases " + Join(*replica_databases) +
                                      " now, the plan drops " + approved_drops + ": plan again (nothing changed)");
  }
  auto primary_gtid = Global(*source, "gtid_binlog_pos");
  if (!primary_gtid.ok()) return primary_gtid.status();

  std::optional<Sockets> sockets;
  if (!primary_databases.empty()) {
    auto prepared = PrepareStreams(*source, *target);
    if (!prepared.ok()) return prepared.status().WithContext("seeding " + replica.name + " (nothing changed on it)");
    sockets = *prepared;
  }

  Status prepared = PrepareReplica(*target, primary, *replica_databases, mode);
  // From here on the replica has been reset for the seed: whatever fails says so.
  const std::string reset = replica.name + " was reset for the seed (" +
                            (replica_databases->empty() ? std::string("no replication source")
                                                        : "databases " + Join(*replica_databases) +
                                                              " dropped, no replication source") +
                            "); run apply again to seed it";
  auto failed = [&](const Status& status) { return status.WithNote(reset); };
  if (!prepared.ok()) return failed(prepared.WithContext("preparing " + replica.name + " for the seed"));

  const auto started = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  if (!sockets) {
    Status recorded = RecordPositionFromSql(*source, *target, mode);
    if (!recorded.ok()) return failed(recorded.WithContext("recording the replication position on " + replica.name));
  } else {
    auto streamed = StreamDump(*sockets, *source, *target, primary_databases, mode, progress);
    if (!streamed.ok()) return failed(streamed.status());
    bytes = *streamed;
  }
  Status accounts = CopyAccounts(topology, *source, *target);
  if (!accounts.ok()) return failed(accounts);
  if (mode == ReplicationMode::kFile) {
    Status pointed = PointAtPrimaryKeepingPosition(*target, primary);
    if (!pointed.ok()) return failed(pointed);
  }
  auto position = CheckRecordedPosition(*target, mode, *primary_gtid);
  if (!position.ok()) return failed(position.status());
  if (progress) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    progress("seeded " + replica.name + " from " + primary.name + ": " + FormatSeedProgress(bytes, seconds) + ", " +
             *position);
  }
  return Status::OK();
}

}  // namespace replplan
