// The lab (examples/lab-3.toml: mercury the primary, uranus and venus its replicas) in a fake
// world (ops/fake_world.h), and what its fake servers answer a failover: for the unit tests of the
// operations that move the primary (move_operation_test.cc, watch_operation_test.cc). Test-only.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/planner_fixtures.h"
#include "engine/topology_parser.h"
#include "engine/topology_text_fixture.h"
#include "ops/fake_world.h"
#include "ops/move.h"

namespace replplan::ops::testing {

// The lab's three hosts (examples/lab-3.toml), `primary` as given.
inline std::string LabToml(const std::string& primary) { return replplan::testing::LabTopologyToml(primary); }

inline constexpr char kPositionQuery[] =
    "SELECT @@gtid_current_pos AS cur, @@gtid_binlog_pos AS bin, @@log_bin AS log_bin, "
    "@@log_slave_updates AS lsu, @@read_only AS ro, (SELECT VARIABLE_VALUE FROM "
    "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RECEIVED_HEARTBEATS') AS hb";

inline bool Has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}
inline bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The lab's file with its secrets in the environment (the live executor resolves them).
inline std::string LabText() {
  std::string text = LabToml("mercury");
  for (const char* name : {"repl", "admin", "app"}) {
    const std::string file = std::string("{ file = \"/LAB/secrets/") + name + ".pw\" }";
    const std::string env = std::string("{ env = \"REPLPLAN_MOVE_TEST_") + name + "_PW\" }";
    text.replace(text.find(file), file.size(), env);
    setenv((std::string("REPLPLAN_MOVE_TEST_") + name + "_PW").c_str(), "pw-5c1e", 1);
  }
  return text;
}

// The lab (mercury the primary, uranus and venus its replicas, all in sync at 0-1-42) in a fake world.
struct Lab {
  Lab() {
    fakes.files.files["lab.toml"] = text;
    TopologyParse parse = ParseTopology(text, "lab.toml");
    REQUIRE(parse.ok());
    topology = parse.topology;
    fakes.live.state = replplan::testing::InSyncLive(topology);
  }
  MoveRequest Request(const std::string& kind) {
    MoveRequest request;
    request.topology_path = "lab.toml";
    request.topology_text = text;
    request.topology = topology;
    request.parallelism = 1;  // the recording executor is not for concurrent use
    request.owner = "replplan " + kind + " by test@here (pid 1)";
    return request;
  }
  // The file still names mercury, and nothing wrote it.
  void CheckFileUntouched() const {
    CHECK(fakes.files.written.empty());
    CHECK(fakes.files.files.at("lab.toml") == text);
  }

  const std::string text = LabText();
  FakeWorld fakes;
  World world = fakes.world();
  Topology topology;
};

// What a replica answers a failover's facts: in sync at 0-1-42, read-only, binlog on; its channel
// to mercury connected (`lost` false) or reconnecting after its reads timed out. `heartbeats` >= 0:
// its Slave_received_heartbeats, the same at every read (else not reported).
inline void ReplicaAnswers(FakeServer& replica, bool lost, int heartbeats = -1) {
  Row position{{"cur", "0-1-42"}, {"bin", "0-1-42"}, {"log_bin", "1"}, {"lsu", "1"}, {"ro", "1"}};
  if (heartbeats >= 0) position["hb"] = std::to_string(heartbeats);
  replica.AnswerPrefix(kPositionQuery, {position});
  Row channel = FakeServer::ReplicaRow("127.0.0.61", 3306, "repl");
  channel["Gtid_IO_Pos"] = "0-1-42";
  if (lost) {  // as a frozen primary leaves it: reconnecting, no error recorded yet
    channel["Slave_IO_Running"] = "Connecting";
    channel["Slave_IO_State"] = "Reconnecting after a failed master event read";
  }
  replica.replica = channel;
  // What the live executor reads while it promotes one and repoints the other.
  replica.globals["read_only"] = "1";
  replica.globals["gtid_slave_pos"] = "0-1-42";
  replica.globals["gtid_current_pos"] = "0-1-42";
  replica.globals["gtid_binlog_pos"] = "0-1-42";
  replica.AnswerPrefix("SELECT MASTER_GTID_WAIT(", {Row{{"r", "0"}}});
}

// The failover's world: mercury answers `SELECT 1` (until it freezes), the replicas as given, and the
// live state the plan is made from shows mercury unreadable.
inline void FailoverServers(Lab& lab, bool replicas_lost, int heartbeats = -1) {
  FakeServer& mercury = lab.fakes.sessions.server("mercury");
  mercury.Answer("SELECT 1", {Row{{"1", "1"}}});
  mercury.default_read_timeout_ms = 300;
  ReplicaAnswers(lab.fakes.sessions.server("uranus"), replicas_lost, heartbeats);
  ReplicaAnswers(lab.fakes.sessions.server("venus"), replicas_lost, heartbeats);
  ServerState& down = lab.fakes.live.state.servers["mercury"];
  down.sql_ok = false;
  down.sql_error = "mercury does not answer SQL: Lost connection to server during query (2013)";
}

inline const std::vector<std::string> kFactsAsked = {std::string(kPositionQuery), "SHOW SLAVE STATUS"};

}  // namespace replplan::ops::testing
