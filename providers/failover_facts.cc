#include "providers/failover_facts.h"

#include <chrono>
#include <future>
#include <memory>

#include "engine/live_state.h"
#include "engine/text.h"
#include "providers/server_session.h"

namespace replplan {
namespace {

// What one replica holds and says about the primary. Only the raw answers: what they mean is
// TestimonyOf's (engine/failover_choice.h).
Status ReadReplicaOn(const Topology& topology, ServerSession& sql, ReplicaFacts& facts) {
  facts.read_started = std::chrono::steady_clock::now();
  // Slave_received_heartbeats is the default channel's (@@default_master_connection is ''), the one
  // SHOW SLAVE STATUS shows; NULL on a server that has no such variable.
  auto vars = sql.Query("SELECT @@gtid_current_pos AS cur, @@gtid_binlog_pos AS bin, @@log_bin AS log_bin, "
                        "@@log_slave_updates AS lsu, @@read_only AS ro, (SELECT VARIABLE_VALUE FROM "
                        "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RECEIVED_HEARTBEATS') AS hb");
  if (!vars.ok()) return vars.status();
  if (vars->empty()) return Status::Internal(sql.name() + ": no answer to the position query");
  const Row& v = vars->front();
  facts.reachable = true;
  facts.gtid_current_pos = v.at("cur");
  facts.gtid_binlog_pos = v.at("bin");
  facts.log_bin = v.at("log_bin") == "1";
  facts.log_slave_updates = v.at("lsu") == "1";
  facts.read_only = v.at("ro") != "0";
  if (auto hb = v.find("hb"); hb != v.end() && IsDigits(hb->second)) facts.received_heartbeats = std::stoll(hb->second);

  auto channel = sql.ReplicaStatus();
  if (!channel.ok()) return channel.status();
  facts.read_done = std::chrono::steady_clock::now();
  // No channel: replicates from nobody. The seeder's marker channel is no channel either: that
  // replica is being seeded and has never received anything from the primary.
  if (!channel->has_value()) return Status::OK();
  const ReplicaChannel& ch = **channel;
  if (ch.source_host == kSeedInProgressHost) return Status::OK();
  facts.has_channel = true;
  facts.gtid_io_pos = ch.gtid_io_pos;
  facts.io_running = ch.io_running;
  facts.io_state = ch.io_state;
  facts.last_io_errno = ch.last_io_errno;
  facts.read_source_log_file = ch.source_log_file;
  facts.read_source_log_pos = ch.read_source_log_pos;
  facts.seconds_behind = ch.seconds_behind;
  facts.source = ch.source_host + ":" + std::to_string(ch.source_port);
  for (const ServerSpec& s : topology.servers) {
    if (s.address == ch.source_host && s.mysql.port == ch.source_port) {
      facts.source = s.name;
      facts.source_is_primary = topology.IsPrimary(s.name);
    }
  }
  return Status::OK();
}

Status ReadReplica(const Topology& topology, const ServerSpec& server, SessionFactory& sessions,
                   ReplicaFacts& facts) {
  facts.name = server.name;
  facts.promotion = server.promotion;
  std::unique_ptr<ServerSession> session = sessions.Open(server);
  return ReadReplicaOn(topology, *session, facts);
}

// Every replica of the file (every server but the primary), in parallel, into facts.replicas (file
// order) and facts.replica_errors.
void ReadReplicas(const Topology& topology, SessionFactory& sessions, FailoverFacts& facts) {
  std::vector<const ServerSpec*> replicas;
  for (const ServerSpec& server : topology.servers) {
    if (!topology.IsPrimary(server.name)) replicas.push_back(&server);
  }
  facts.replicas.resize(replicas.size());
  std::vector<std::future<Status>> reads;
  for (size_t i = 0; i < replicas.size(); ++i) {
    reads.push_back(std::async(std::launch::async,
                               [&, i] { return ReadReplica(topology, *replicas[i], sessions, facts.replicas[i]); }));
  }
  for (auto& read : reads) {
    Status s = read.get();
    if (!s.ok()) facts.replica_errors.push_back(s.message());  // the session's error names the server
  }
}

}  // namespace

std::vector<ReplicaFacts> CollectReplicaFacts(const Topology& topology, SessionFactory& sessions) {
  FailoverFacts facts;
  ReadReplicas(topology, sessions, facts);
  return std::move(facts.replicas);
}

FailoverFacts CollectFailoverFacts(const Topology& topology, SessionFactory& sessions,
                                   const std::string& primary_silent) {
  FailoverFacts facts;
  const ServerSpec* primary = topology.FindServer(topology.cluster.primary);
  auto primary_check = std::async(std::launch::async, [primary, &sessions, &primary_silent]() -> Status {
    if (primary == nullptr) return Status::InvalidArgument("no primary declared");
    if (!primary_silent.empty()) return Status::Unavailable(primary_silent);
    SessionLimits fresh;
    fresh.fresh = true;
    std::unique_ptr<ServerSession> session = sessions.Open(*primary, fresh);
    auto answer = session->Query("SELECT 1");
    return answer.ok() ? Status::OK() : answer.status();
  });

  ReadReplicas(topology, sessions, facts);
  Status p = primary_check.get();
  facts.primary_reachable = p.ok();
  if (!p.ok()) facts.primary_error = p.message();
  return facts;
}

FailoverFacts CollectFailoverFacts(const Topology& topology, SessionPool* pool) {
  LiveSessionFactory sessions(pool);
  return CollectFailoverFacts(topology, sessions);
}

}  // namespace replplan
