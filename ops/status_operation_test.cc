// `replplan status` (ops/status.h) over a fake live state: golden text and JSON for a healthy, a
// degraded and a broken cluster, and the exit code of each.
#include "ops/status.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "engine/planner_fixtures.h"
#include "engine/topology_text_fixture.h"
#include "engine/topology_parser.h"
#include "ops/fake_world.h"

namespace replplan::ops {
namespace {

using replplan::testing::InSyncLive;

// The lab's three hosts with an app on mercury and uranus.
std::string LabToml() {
  return replplan::testing::LabTopologyToml() +
         "\n[[app]]\nname = \"shop\"\nkind = \"rails\"\nhosts = [\"mercury\", \"uranus\"]\nroot = \"/srv/shop\"\n"
         "restart = \"touch /srv/shop/tmp/restart.txt\"\n";
}

std::string DatabaseYml(const std::string& host) {
  return "production:\n  adapter: mysql2\n  host: " + host + "\n  database: secondhand_production\n"
         "  username: pierre\n  password: <%= ENV['DB_PASSWORD'] %>\n";
}

struct Fixture {
  Fixture() {
    fakes.files.files["lab.toml"] = LabToml();
    auto read = LoadTopologyForServers(world, "lab.toml", nullptr, nullptr);
    REQUIRE(read.ok());
    loaded = *read;
    fakes.live.state = InSyncLive(loaded.topology);
    for (const char* host : {"mercury", "uranus"}) {
      fakes.live.state.servers.at(host).app_configs = {
          {"shop", "/srv/shop/config/database.yml", true, true, DatabaseYml("127.0.0.61"), "", ""}};
    }
  }
  ServerState& at(const std::string& name) { return fakes.live.state.servers.at(name); }
  StatusReport Read() { return ReadStatus(world, loaded, 10); }

  testing::FakeWorld fakes;
  World world = fakes.world();
  LoadedTopology loaded;
};

}  // namespace

TEST_CASE("status of a healthy cluster: every server in sync, the app on the primary, exit 0") {
  Fixture f;
  StatusReport report = f.Read();
  CHECK(f.fakes.live.reads == 1);
  CHECK(StatusExitCode(report) == 0);
  CHECK(RenderStatusText(report) ==
        R"(cluster lab (primary mercury) at 2025-12-06T00:00:00Z, read in 0 ms: HEALTHY

SERVER   ROLE     REACHABLE  IO   SQL  LAG  GTID    READ_ONLY  SEMI_SYNC  CONDITIONS
mercury  primary  yes        -    -    -    0-1-42  OFF        ?          -
uranus   replica  yes        Yes  Yes  0s   0-1-42  ON         ?          -
venus    replica  yes        Yes  Yes  0s   0-1-42  ON         ?          -

APP   HOST     POINTS AT
shop  mercury  127.0.0.61 (mercury)
shop  uranus   127.0.0.61 (mercury)
)");
  CHECK(RenderStatusJson(report) ==
        R"({"cluster":"lab","primary":"mercury","health":"healthy","read_at":"2025-12-06T00:00:00Z","read_ms":0,)"
        R"("servers":[{"name":"mercury","role":"primary","sql_reachable":true,"ssh_reachable":true,"io_running":null,)"
        R"("sql_running":null,"seconds_behind":null,"gtid_position":"0-1-42","read_only":false,"semi_sync":null,"conditions":[]},)"
        R"({"name":"uranus","role":"replica","sql_reachable":true,"ssh_reachable":true,"io_running":"Yes",)"
        R"("sql_running":"Yes","seconds_behind":0,"gtid_position":"0-1-42","read_only":true,"semi_sync":null,"conditions":[]},)"
        R"({"name":"venus","role":"replica","sql_reachable":true,"ssh_reachable":true,"io_running":"Yes",)"
        R"("sql_running":"Yes","seconds_behind":0,"gtid_position":"0-1-42","read_only":true,"semi_sync":null,"conditions":[]}],)"
        R"("apps":[{"app":"shop","host":"mercury","points_at":"127.0.0.61","server":"mercury"},)"
        R"({"app":"shop","host":"uranus","points_at":"127.0.0.61","server":"mercury"}],"conditions":[]})");
}

TEST_CASE("status of a degraded cluster: a replica stopped by hand and one far behind, exit 1") {
  Fixture f;
  ReplicaChannel& uranus = f.at("uranus").channels.at(0);
  uranus.io_running = "No";
  uranus.sql_running = false;
  uranus.seconds_behind.reset();
  f.at("venus").channels.at(0).seconds_behind = 1200;
  f.at("mercury").semi_sync_master_enabled = true;
  f.at("venus").semi_sync_slave_enabled = true;
  f.at("uranus").app_configs[0].text = DatabaseYml("127.0.0.66");
  StatusReport report = f.Read();
  CHECK(StatusExitCode(report) == 1);
  CHECK(RenderStatusText(report) ==
        R"(cluster lab (primary mercury) at 2025-12-06T00:00:00Z, read in 0 ms: DEGRADED (2 conditions, 0 broken)

SERVER   ROLE     REACHABLE  IO   SQL  LAG    GTID    READ_ONLY  SEMI_SYNC  CONDITIONS
mercury  primary  yes        -    -    -      0-1-42  OFF        ON         -
uranus   replica  yes        No   No   -      0-1-42  ON         ?          replica-stopped
venus    replica  yes        Yes  Yes  1200s  0-1-42  ON         ON         far-behind

APP   HOST     POINTS AT
shop  mercury  127.0.0.61 (mercury)
shop  uranus   127.0.0.66 (uranus), not the primary mercury

replica-stopped (degraded) on uranus: replication on uranus was stopped without an error (STOP SLAVE by hand?): START SLAVE resumes it
  Slave_IO_Running: No, Slave_SQL_Running: No, no error

far-behind (degraded) on venus: venus replicates but is 1200 s behind: reads there are stale, and it is a poor failover candidate until it catches up
  Seconds_Behind_Master: 1200
  bound 300 s (the default: the file sets no replication.far_behind_seconds)
)");
  nlohmann::json j = nlohmann::json::parse(RenderStatusJson(report));
  CHECK(j["health"] == "degraded");
  REQUIRE(j["conditions"].size() == 2);
  CHECK(j["conditions"][0] == nlohmann::json::parse(
                                  R"({"type":"replica-stopped","status":"degraded","reason":"threads-stopped",)"
                                  R"("message":"replication on uranus was stopped without an error (STOP SLAVE by hand?): START SLAVE resumes it",)"
                                  R"("host":"uranus","error_number":0,)"
                                  R"("evidence":["Slave_IO_Running: No, Slave_SQL_Running: No, no error"],)"
                                  R"("since":null,"began_after":null})"));
  CHECK(j["conditions"][0]["since"].is_null());  // one read: when it began is not known
  CHECK(j["servers"][1]["conditions"] == nlohmann::json::array({"replica-stopped"}));
  CHECK(j["apps"][1]["server"] == "uranus");
}

TEST_CASE("status of a broken cluster: binlog gone on one replica, the other unreachable; exit 2") {
  Fixture f;
  ReplicaChannel& uranus = f.at("uranus").channels.at(0);
  uranus.io_running = "No";
  uranus.seconds_behind.reset();
  uranus.last_io_errno = 1236;
  uranus.last_io_error = "Got fatal error 1236 from master when reading data from binary log: 'Could not find GTID "
                         "state requested by slave in any binlog files.'";
  ServerState& venus = f.at("venus");
  venus.sql_ok = false;
  venus.sql_errno = 2002;
  venus.sql_error = "Can't connect to server on '127.0.0.67' (115)";
  venus.config["bind_address"] = "127.0.0.1";
  venus.process = {true, "/LAB/hosts/venus/mysqld.pid", true, "777", {"127.0.0.1:3306"}, ""};
  f.at("uranus").app_configs[0] = {"shop", "/srv/shop/config/database.yml", false, false, "", "Permission denied", ""};
  StatusReport report = f.Read();
  CHECK(StatusExitCode(report) == 2);
  CHECK(RenderStatusText(report) ==
        R"(cluster lab (primary mercury) at 2025-12-06T00:00:00Z, read in 0 ms: BROKEN (2 conditions, 2 broken)

SERVER   ROLE     REACHABLE  IO  SQL  LAG  GTID    READ_ONLY  SEMI_SYNC  CONDITIONS
mercury  primary  yes        -   -    -    0-1-42  OFF        ?          -
uranus   replica  yes        No  Yes  -    0-1-42  ON         ?          binlog-gone
venus    replica  ssh only   -   -    -    -       -          -          listening-elsewhere

APP   HOST     POINTS AT
shop  mercury  127.0.0.61 (mercury)
shop  uranus   unknown: Permission denied

binlog-gone (broken) on uranus, error 1236: the source no longer has the binary log uranus needs to continue (purged while it was stopped or behind): only a reseed brings it back
  Slave_IO_Running: No, Slave_SQL_Running: Yes
  Last_IO_Errno: 1236, Last_IO_Error: Got fatal error 1236 from master when reading data from binary log: 'Could not find GTID state requested by slave in any binlog files.'
  Gtid_IO_Pos: 0-1-42, gtid_slave_pos: 0-1-42

listening-elsewhere (broken) on venus, error 2002: mariadbd runs on venus but does not listen on 127.0.0.67:3306 (wrong bind-address or port, e.g. after an address change): fix the config and restart it
  SQL 127.0.0.67:3306: Can't connect to server on '127.0.0.67' (115)
  /LAB/hosts/venus/my.cnf: bind-address = 127.0.0.1 (the file wants 127.0.0.67)
  mariadbd runs (pid 777 from /LAB/hosts/venus/mysqld.pid), listening on 127.0.0.1:3306
)");
  nlohmann::json j = nlohmann::json::parse(RenderStatusJson(report));
  // The documented example of schemas/status.schema.json is this report (tests/check_schemas.py
  // validates it against the schema).
  std::ifstream example(std::string(REPLPLAN_SOURCE_DIR) + "/examples/lab-broken.status.json");
  REQUIRE(example.good());
  CHECK(j == nlohmann::json::parse(example));
  CHECK(j["health"] == "broken");
  CHECK(j["conditions"][0]["type"] == "binlog-gone");
  CHECK(j["conditions"][0]["error_number"] == 1236);
  CHECK(j["conditions"][1]["reason"] == "running-not-listening");
  CHECK(j["apps"][1]["error"] == "Permission denied");
  CHECK(j["servers"][2]["read_only"].is_null());
  CHECK(j["conditions"][0]["since"].is_null());  // one read cannot tell when it began
  CHECK(j["conditions"][0]["began_after"].is_null());
}

TEST_CASE("status --watch: since is the first read that saw a condition, began_after the read before that did not") {
  Fixture f;
  ConditionHistory history;
  auto read = [&](const std::string& at) {
    StatusReport report = BuildStatusReport(f.loaded.topology, f.fakes.live.state, at, std::chrono::milliseconds(5));
    history.Observe(report);
    return report;
  };
  StatusReport first = read("2026-12-07T03:00:00Z");
  REQUIRE(first.conditions.empty());
  f.at("venus").channels.at(0).sql_running = false;  // STOP SLAVE SQL_THREAD by hand
  f.at("venus").channels.at(0).io_running = "No";
  StatusReport second = read("2026-12-07T03:00:02Z");
  REQUIRE(second.conditions.size() == 1);
  REQUIRE(second.seen.size() == 1);
  CHECK(second.seen[0].since == "2026-12-07T03:00:02Z");
  CHECK(second.seen[0].began_after == "2026-12-07T03:00:00Z");
  StatusReport third = read("2026-12-07T03:00:04Z");  // still there: the same times
  CHECK(third.seen[0].since == "2026-12-07T03:00:02Z");
  CHECK(third.seen[0].began_after == "2026-12-07T03:00:00Z");
  nlohmann::json j = nlohmann::json::parse(RenderStatusJson(third));
  CHECK(j["conditions"][0]["since"] == "2026-12-07T03:00:02Z");
  CHECK(j["conditions"][0]["began_after"] == "2026-12-07T03:00:00Z");
  CHECK(RenderStatusText(third).find("  seen since 2026-12-07T03:00:02Z (not at 2026-12-07T03:00:00Z)") !=
        std::string::npos);

  f.at("venus").channels.at(0).sql_running = true;  // cleared, then back: it starts again
  f.at("venus").channels.at(0).io_running = "Yes";
  CHECK(read("2026-12-07T03:00:06Z").seen.empty());
  f.at("venus").channels.at(0).io_running = "No";
  f.at("venus").channels.at(0).sql_running = false;
  StatusReport back = read("2026-12-07T03:00:08Z");
  CHECK(back.seen[0].since == "2026-12-07T03:00:08Z");
  CHECK(back.seen[0].began_after == "2026-12-07T03:00:06Z");

  // Seen at a watch's first read: it began then or earlier, which began_after null says.
  ConditionHistory fresh;
  StatusReport at_start =
      BuildStatusReport(f.loaded.topology, f.fakes.live.state, "2026-12-07T04:00:00Z", std::chrono::milliseconds(5));
  fresh.Observe(at_start);
  CHECK(at_start.seen[0].since == "2026-12-07T04:00:00Z");
  CHECK(at_start.seen[0].began_after.empty());
  CHECK(RenderStatusText(at_start).find("seen since 2026-12-07T04:00:00Z (already at the first read)") !=
        std::string::npos);
}

TEST_CASE("status text cannot be steered by a server's error text: control characters are escaped") {
  Fixture f;
  ServerState& venus = f.at("venus");
  venus.sql_ok = false;
  venus.sql_errno = 2013;
  venus.sql_error = "Lost connection\x1b[2K\r";
  std::string text = RenderStatusText(f.Read());
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("Lost connection\\x1b[2K\\r") != std::string::npos);
}

}  // namespace replplan::ops
