#include "engine/fingerprint.h"

#include <doctest/doctest.h>

#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

TEST_CASE("equal live states have equal fingerprints of 64 hex digits (SHA-256)") {
  Topology t = testing::LabTopology(3);
  std::string a = StateFingerprint(testing::InSyncLive(t));
  CHECK(a == StateFingerprint(testing::InSyncLive(t)));
  CHECK(a.size() == 64);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("a changed server_id changes the fingerprint") {
  Topology t = testing::LabTopology(2);
  LiveState live = testing::InSyncLive(t);
  std::string before = StateFingerprint(live);
  live.servers["uranus"].server_id = 7;
  CHECK(StateFingerprint(live) != before);
}

TEST_CASE("a changed config_file value or a stopped replica changes the fingerprint") {
  Topology t = testing::LabTopology(2);
  LiveState live = testing::InSyncLive(t);
  std::string before = StateFingerprint(live);
  LiveState edited = live;
  edited.servers["mercury"].config["read_only"] = "OFF";
  CHECK(StateFingerprint(edited) != before);
  LiveState stopped = live;
  stopped.servers["uranus"].channels[0].sql_running = false;
  CHECK(StateFingerprint(stopped) != before);
}

TEST_CASE("a key now set in another included file changes the fingerprint (the edit goes there)") {
  Topology t = testing::LabTopology(2);
  LiveState live = testing::InSyncLive(t);
  live.servers["uranus"].config_origin["bind_address"] = {"/etc/mysql/mariadb.conf.d/50-server.cnf", 28};
  std::string before = StateFingerprint(live);
  live.servers["uranus"].config_origin["bind_address"] = {"/etc/mysql/mariadb.conf.d/99-local.cnf", 2};
  CHECK(StateFingerprint(live) != before);
}

TEST_CASE("moved GTID positions, read positions and lag leave the fingerprint alone") {
  Topology t = testing::LabTopology(2);
  LiveState live = testing::InSyncLive(t);
  std::string before = StateFingerprint(live);
  for (auto& [name, s] : live.servers) {
    s.gtid_binlog_pos = "0-1-9000";
    s.gtid_current_pos = "0-1-9000";
    s.gtid_slave_pos = "0-1-8990";
    for (auto& c : s.channels) {
      c.gtid_io_pos = "0-1-9000";
      c.seconds_behind = 12;
      c.source_log_file = "mysql-bin.000042";
      c.read_source_log_pos = 123456;
    }
  }
  CHECK(StateFingerprint(live) == before);
}

TEST_CASE("an unreadable host differs from a readable one") {
  Topology t = testing::LabTopology(2);
  LiveState live = testing::InSyncLive(t);
  std::string before = StateFingerprint(live);
  live.servers["uranus"].sql_ok = false;
  CHECK(StateFingerprint(live) != before);
}

}  // namespace
}  // namespace replplan
