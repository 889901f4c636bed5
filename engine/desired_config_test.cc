#include "engine/desired_config.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using testing::LabTopology;

std::map<std::string, std::string> Settings(const Topology& t, const ServerSpec& server) {
  std::map<std::string, std::string> out;
  for (const ConfigSetting& c : DesiredConfig(t, server)) {
    CHECK_MESSAGE(out.count(c.key) == 0, "key written twice: " << c.key);
    out[c.key] = c.value;
  }
  return out;
}

TEST_CASE("every server's file gets slave_net_timeout, and semi-sync switched OFF unless the file turns it on") {
  Topology t = LabTopology(3);
  t.replication.slave_net_timeout = 7;
  for (const ServerSpec& server : t.servers) {
    auto s = Settings(t, server);
    CHECK(s.at("slave_net_timeout") == "7");
    CHECK(s.at("rpl_semi_sync_master_enabled") == "OFF");
    CHECK(s.at("rpl_semi_sync_slave_enabled") == "OFF");
    CHECK(s.count("rpl_semi_sync_master_wait_point") == 0);
    CHECK(s.count("rpl_semi_sync_master_timeout") == 0);
  }
}

TEST_CASE("semi_sync = true: the replica side ON in every file, the primary side OFF (runtime, primary only), AFTER_SYNC, the timeout") {
  Topology t = LabTopology(3);
  t.replication.semi_sync = true;
  t.replication.semi_sync_timeout_ms = 2500;
  for (const ServerSpec& server : t.servers) {
    auto s = Settings(t, server);
    CHECK(s.at("rpl_semi_sync_master_enabled") == "OFF");  // made ON at runtime on the primary only
    CHECK(s.at("rpl_semi_sync_slave_enabled") == "ON");
    CHECK(s.at("rpl_semi_sync_master_wait_point") == "AFTER_SYNC");
    CHECK(s.at("rpl_semi_sync_master_timeout") == "2500");
    CHECK(s.at("slave_net_timeout") == "5");
  }
  // The failover part is exactly the tail of the whole list, so the planner's runtime check and the
  // config file agree on every key.
  std::vector<ConfigSetting> all = DesiredConfig(t, t.servers[1]);
  std::vector<ConfigSetting> failover = FailoverSettings(t);
  REQUIRE(failover.size() == 5);
  REQUIRE(all.size() >= failover.size());
  for (size_t i = 0; i < failover.size(); ++i) {
    const ConfigSetting& tail = all[all.size() - failover.size() + i];
    CHECK(tail.key == failover[i].key);
    CHECK(tail.value == failover[i].value);
  }
}

TEST_CASE("MySQL gets no rpl_semi_sync_* key when semi_sync is off: without the plugin it would not start") {
  Topology t = LabTopology(2);
  t.cluster.flavor = Flavor::kMySQL;
  auto s = Settings(t, t.servers[0]);
  CHECK(s.at("slave_net_timeout") == "5");
  CHECK(s.count("rpl_semi_sync_master_enabled") == 0);
  CHECK(s.count("rpl_semi_sync_slave_enabled") == 0);
}

TEST_CASE("semi-sync values compare as the server and option files spell them") {
  Topology t = LabTopology(2);
  t.replication.semi_sync = true;
  std::map<std::string, ConfigSetting> by_key;
  for (const ConfigSetting& c : FailoverSettings(t)) by_key[c.key] = c;
  CHECK(ConfigValueMatches(by_key.at("rpl_semi_sync_master_enabled"), "0"));
  CHECK(ConfigValueMatches(by_key.at("rpl_semi_sync_slave_enabled"), "on"));
  CHECK_FALSE(ConfigValueMatches(by_key.at("rpl_semi_sync_slave_enabled"), "OFF"));
  CHECK(ConfigValueMatches(by_key.at("rpl_semi_sync_master_wait_point"), "after_sync"));
  CHECK_FALSE(ConfigValueMatches(by_key.at("rpl_semi_sync_master_wait_point"), "AFTER_COMMIT"));
  CHECK(ConfigValueMatches(by_key.at("rpl_semi_sync_master_timeout"), "10000"));
  CHECK_FALSE(ConfigValueMatches(by_key.at("rpl_semi_sync_master_timeout"), "2000"));
  CHECK(ConfigValueMatches(by_key.at("slave_net_timeout"), "'5'"));
  CHECK_FALSE(ConfigValueMatches(by_key.at("slave_net_timeout"), "60"));
}

TEST_CASE("heartbeat periods are written and compared to the millisecond") {
  CHECK(SecondsText(1.0) == "1.000");
  CHECK(SecondsText(0.25) == "0.250");
  CHECK(SecondsText(30) == "30.000");
  CHECK(HeartbeatMatches(1.000, 1.0));
  CHECK(HeartbeatMatches(0.250, 0.25));
  CHECK_FALSE(HeartbeatMatches(30.0, 1.0));
  CHECK_FALSE(HeartbeatMatches(0.251, 0.25));
}

TEST_CASE("log_bin's basename: absolute as written, relative in the datadir") {
  CHECK(WantedBinlogBasename("/var/log/mysql/mysql-bin.log", "/var/lib/mysql/") == "/var/log/mysql/mysql-bin");
  CHECK(WantedBinlogBasename("mysql-bin", "/var/lib/mysql/") == "/var/lib/mysql/mysql-bin");
  CHECK(WantedBinlogBasename("mysql-bin.log", "/var/lib/mysql") == "/var/lib/mysql/mysql-bin");
  CHECK(WantedBinlogBasename("mysql-bin", "") == "");
  CHECK(BinlogBasenameMatches("mysql-bin", "/var/lib/mysql/mysql-bin", "/var/lib/mysql/"));
  CHECK_FALSE(BinlogBasenameMatches("mysql-bin", "/var/log/mysql/mysql-bin", "/var/lib/mysql/"));
  CHECK(BinlogBasenameMatches("mysql-bin", "/var/log/mysql/mysql-bin", ""));  // datadir unknown: the tail
  CHECK_FALSE(BinlogBasenameMatches("mysql-bin", "/var/lib/mysql/my-mysql-bin", ""));
  CHECK_FALSE(BinlogBasenameMatches("mysql-bin", "mysql-bin", ""));
  CHECK(BinlogBasenameMatches("/x/mysql-bin.log", "/x/mysql-bin", "/var/lib/mysql/"));
  CHECK_FALSE(BinlogBasenameMatches("/x/mysql-bin.log", "/var/lib/mysql/mysql-bin", "/var/lib/mysql/"));
}

}  // namespace
}  // namespace replplan
