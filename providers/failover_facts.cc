#include "providers/failover_facts.h"

#include <future>

#include "engine/live_state.h"
#include "providers/connect_options.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/session_pool.h"

namespace replplan {
namespace {

Result<std::unique_ptr<MysqlConnection>> Connect(const ServerSpec& server, SessionPool* pool) {
  auto options = MysqlOptionsFor(server);
  if (!options.ok()) return options.status();
  return BorrowSql(pool, *options);
}

// What one replica holds and says about the primary, on an open connection. Only the raw answers:
// what they mean is TestimonyOf's (engine/failover_choice.h).
Status ReadReplicaOn(const Topology& topology, MysqlConnection& sql, ReplicaFacts& facts) {
  auto vars = sql.Query("SELECT @@gtid_current_pos AS cur, @@gtid_binlog_pos AS bin, @@log_bin AS log_bin, "
                        "@@log_slave_updates AS lsu, @@read_only AS ro");
  if (!vars.ok()) return vars.status();
  if (vars->empty()) return Status::Internal("no answer to the position query");
  const Row& v = vars->front();
  facts.reachable = true;
  facts.gtid_current_pos = v.at("cur");
  facts.gtid_binlog_pos = v.at("bin");
  facts.log_bin = v.at("log_bin") == "1";
  facts.log_slave_updates = v.at("lsu") == "1";
  facts.read_only = v.at("ro") != "0";

  auto status = sql.Query("SHOW SLAVE STATUS");
  if (!status.ok()) return status.status();
  // No row: replicates from nobody. The seeder's marker channel is no channel either: that replica
  // is being seeded and has never received anything from the primary.
  if (status->empty()) return Status::OK();
  const ReplicaChannel ch = ParseReplicaChannel(status->front());
  if (ch.source_host == kSeedInProgressHost) return Status::OK();
  facts.has_channel = true;
  facts.gtid_io_pos = ch.gtid_io_pos;
  facts.io_running = ch.io_running;
  facts.io_state = ch.io_state;
  facts.last_io_errno = ch.last_io_errno;
  facts.source = ch.source_host + ":" + std::to_string(ch.source_port);
  for (const ServerSpec& s : topology.servers) {
    if (s.address == ch.source_host && s.mysql.port == ch.source_port) {
      facts.source = s.name;
      facts.source_is_primary = topology.IsPrimary(s.name);
    }
  }
  return Status::OK();
}

Status ReadReplica(const Topology& topology, const ServerSpec& server, SessionPool* pool, ReplicaFacts& facts) {
  facts.name = server.name;
  facts.promotion = server.promotion;
  auto sql = Connect(server, pool);
  if (!sql.ok()) return sql.status();
  Status read = ReadReplicaOn(topology, **sql, facts);
  GiveBack(pool, std::move(*sql), read.ok());
  return read;
}

}  // namespace

FailoverFacts CollectFailoverFacts(const Topology& topology, SessionPool* pool) {
  FailoverFacts facts;
  const ServerSpec* primary = topology.FindServer(topology.cluster.primary);
  auto primary_check = std::async(std::launch::async, [primary]() -> Status {
    if (primary == nullptr) return Status::InvalidArgument("no primary declared");
    auto sql = Connect(*primary, nullptr);
    if (!sql.ok()) return sql.status();
    auto answer = (*sql)->Query("SELECT 1");
    return answer.ok() ? Status::OK() : answer.status();
  });

  std::vector<const ServerSpec*> replicas;
  for (const ServerSpec& server : topology.servers) {
    if (!topology.IsPrimary(server.name)) replicas.push_back(&server);
  }
  facts.replicas.resize(replicas.size());
  std::vector<std::future<Status>> reads;
  for (size_t i = 0; i < replicas.size(); ++i) {
    reads.push_back(std::async(std::launch::async, [&, i] { return ReadReplica(topology, *replicas[i], pool, facts.replicas[i]); }));
  }
  for (size_t i = 0; i < reads.size(); ++i) {
    Status s = reads[i].get();
    if (!s.ok()) facts.replica_errors.push_back(replicas[i]->name + ": " + s.message());
  }
  Status p = primary_check.get();
  facts.primary_reachable = p.ok();
  if (!p.ok()) facts.primary_error = p.message();
  return facts;
}

}  // namespace replplan
