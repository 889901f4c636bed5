// Semi-synchronous replication and fast detection on the real lab: `semi_sync = true` makes the
// primary wait for a replica's acknowledgement before a commit returns (proved by timing a commit
// while no replica can acknowledge), heartbeats and slave_net_timeout are what the file says, and
// the settings change at runtime (no restart) in both directions with a plan that then is clean.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "integration/lab_client.h"

namespace {

using namespace std::chrono_literals;

// The lab topology with `lines` inserted under [replication].
std::string LabTopologyWith(const std::string& name, const std::string& lines) {
  std::string text = lab::ReadFile(lab::TopologyPath());
  const std::string header = "[replication]\n";
  size_t at = text.find(header);
  REQUIRE_MESSAGE(at != std::string::npos, "lab.toml has no [replication]");
  // The lab's file sets heartbeat_period itself: a line given here takes its place.
  if (lines.find("heartbeat_period") != std::string::npos) {
    size_t key = text.find("\nheartbeat_period = ");
    REQUIRE_MESSAGE(key != std::string::npos, "lab.toml sets no heartbeat_period");
    text.erase(key + 1, text.find('\n', key + 1) - key);
  }
  text.insert(at + header.size(), lines);
  return lab::WriteFile(name, text);
}

void Apply(const std::string& path) {
  auto apply = lab::Replplan({"apply", path, "--yes"});
  REQUIRE_MESSAGE(apply.exit_code == 0, (apply.out + apply.err));
}

int PlanExitCode(const std::string& path) {
  auto plan = lab::Replplan({"plan", path, "--detailed-exitcode"});
  CHECK_MESSAGE(plan.exit_code != 1, (plan.out + plan.err));
  if (plan.exit_code != 0) MESSAGE(plan.out);
  return plan.exit_code;
}

std::string Status(const std::string& host, const std::string& name) {
  auto rows = lab::Sql(host, "SHOW GLOBAL STATUS LIKE '" + name + "'");
  return rows.empty() || rows[0].size() < 2 ? "" : rows[0][1];
}

// The default channel's value of a SHOW ALL SLAVES STATUS column (only that statement has the
// heartbeat period).
std::string ChannelColumn(const std::string& host, const std::string& column) {
  auto result = lab::Run({"mariadb", "--no-defaults", "-S", lab::Dir() + "/hosts/" + host + "/mysqld.sock", "-uroot", "-e",
                          "SHOW ALL SLAVES STATUS\\G"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  const std::string key = " " + column + ": ";
  size_t at = result.out.find(key);
  if (at == std::string::npos) return "";
  size_t end = result.out.find('\n', at);
  return result.out.substr(at + key.size(), end - at - key.size());
}

int64_t Number(const std::string& text) { return text.empty() ? -1 : std::stoll(text); }

// One autocommit INSERT on the primary; how long until the server said OK.
std::chrono::milliseconds TimedInsert(int id) {
  auto start = std::chrono::steady_clock::now();
  lab::Sql("mercury", "INSERT INTO secondhand_production.acked VALUES (" + std::to_string(id) + ")");
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

bool ClientsAtLeast(int n) { return Number(Status("mercury", "Rpl_semi_sync_master_clients")) >= n; }

}  // namespace

TEST_CASE("semi_sync = true: a commit waits for a replica's ACK, heartbeats follow the file, a second plan is clean") {
  lab::Reset(3);
  std::string path = LabTopologyWith("semi.toml",
                                     "semi_sync = true\nsemi_sync_timeout_ms = 2000\nheartbeat_period = 0.5\n");
  Apply(path);

  for (const std::string host : {"mercury", "uranus", "venus"}) {
    CAPTURE(host);
    // The primary side runs on the primary only: on a replica each commit of its SQL thread would
    // wait for an ACK that no one sends.
    CHECK(lab::SqlValue(host, "SELECT @@rpl_semi_sync_master_enabled") == (host == "mercury" ? "1" : "0"));
    CHECK(lab::SqlValue(host, "SELECT @@rpl_semi_sync_slave_enabled") == "1");
    CHECK(lab::SqlValue(host, "SELECT @@rpl_semi_sync_master_wait_point") == "AFTER_SYNC");
    CHECK(lab::SqlValue(host, "SELECT @@rpl_semi_sync_master_timeout") == "2000");
    CHECK(lab::SqlValue(host, "SELECT @@slave_net_timeout") == "5");
  }
  for (const std::string replica : {"uranus", "venus"}) {
    CAPTURE(replica);
    CHECK(ChannelColumn(replica, "Slave_heartbeat_period") == "0.500");
    CHECK(lab::WaitFor([&] { return Status(replica, "Rpl_semi_sync_slave_status") == "ON"; }, 10s));
  }

  // Both replicas connected as semi-sync clients; a commit is acknowledged by one of them.
  CHECK(lab::WaitFor([] { return ClientsAtLeast(2); }, 10s));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.acked (id INT PRIMARY KEY)");
  int64_t acked_before = Number(Status("mercury", "Rpl_semi_sync_master_yes_tx"));
  auto quick = TimedInsert(1);
  CHECK(quick < 1500ms);
  CHECK(Status("mercury", "Rpl_semi_sync_master_status") == "ON");
  CHECK(Number(Status("mercury", "Rpl_semi_sync_master_yes_tx")) > acked_before);
  CHECK(PlanExitCode(path) == 0);

  // No replica can acknowledge: the primary holds the commit for the whole timeout, then falls
  // back to asynchronous replication.
  for (const std::string replica : {"uranus", "venus"}) lab::Sql(replica, "STOP SLAVE IO_THREAD");
  REQUIRE(lab::WaitFor([] { return Number(Status("mercury", "Rpl_semi_sync_master_clients")) == 0; }, 10s));
  int64_t unacked_before = Number(Status("mercury", "Rpl_semi_sync_master_no_tx"));
  auto waited = TimedInsert(2);
  CHECK_MESSAGE(waited >= 1900ms, "the commit returned after " << waited.count() << " ms");
  CHECK(waited < 10s);
  CHECK(Number(Status("mercury", "Rpl_semi_sync_master_no_tx")) > unacked_before);
  CHECK(Status("mercury", "Rpl_semi_sync_master_status") == "OFF");

  // The replicas come back, catch up, and semi-sync resumes on the next commit.
  for (const std::string replica : {"uranus", "venus"}) lab::Sql(replica, "START SLAVE IO_THREAD");
  REQUIRE(lab::WaitFor([] { return ClientsAtLeast(2); }, 10s));
  REQUIRE(lab::WaitFor([] { return lab::SqlValue("venus", "SELECT COUNT(*) FROM secondhand_production.acked") == "2"; },
                       10s));
  CHECK(lab::WaitFor([] {
    static int id = 100;
    TimedInsert(++id);
    return Status("mercury", "Rpl_semi_sync_master_status") == "ON";
  }, 10s));
  CHECK(PlanExitCode(path) == 0);
}

TEST_CASE("semi-sync and heartbeats are switched on and off at runtime: no restart, replicas reconnect") {
  lab::Reset(2);
  Apply(lab::TopologyPath());
  CHECK(lab::SqlValue("mercury", "SELECT @@rpl_semi_sync_master_enabled") == "0");
  CHECK(ChannelColumn("uranus", "Slave_heartbeat_period") == "0.100");  // the lab file's heartbeat_period
  CHECK(lab::SqlValue("uranus", "SELECT @@slave_net_timeout") == "5");
  const std::string pids = lab::ReadFile(lab::Dir() + "/hosts/mercury/mysqld.pid") +
                           lab::ReadFile(lab::Dir() + "/hosts/uranus/mysqld.pid");

  std::string on = LabTopologyWith("on.toml", "semi_sync = true\nheartbeat_period = 0.25\nslave_net_timeout = 3\n");
  auto plan = lab::Replplan({"plan", on});
  CHECK(plan.out.find("restart-server") == std::string::npos);
  CHECK(plan.out.find("restarts the replica IO thread") != std::string::npos);
  CHECK(plan.out.find("heartbeat period is 0.100 s, file wants 0.250 s") != std::string::npos);
  Apply(on);
  CHECK(lab::WaitFor([] { return ClientsAtLeast(1); }, 10s));
  CHECK(Status("uranus", "Rpl_semi_sync_slave_status") == "ON");
  CHECK(ChannelColumn("uranus", "Slave_heartbeat_period") == "0.250");
  CHECK(lab::SqlValue("uranus", "SELECT @@slave_net_timeout") == "3");
  CHECK(PlanExitCode(on) == 0);

  std::string off = LabTopologyWith("off.toml", "semi_sync = false\nheartbeat_period = 0.25\nslave_net_timeout = 3\n");
  Apply(off);
  CHECK(lab::WaitFor([] { return Number(Status("mercury", "Rpl_semi_sync_master_clients")) == 0; }, 10s));
  CHECK(Status("uranus", "Rpl_semi_sync_slave_status") == "OFF");
  CHECK(lab::SqlValue("uranus", "SELECT @@rpl_semi_sync_slave_enabled") == "0");
  CHECK(ChannelColumn("uranus", "Slave_IO_Running") == "Yes");
  CHECK(PlanExitCode(off) == 0);
  CHECK(lab::ReadFile(lab::Dir() + "/hosts/mercury/mysqld.pid") + lab::ReadFile(lab::Dir() + "/hosts/uranus/mysqld.pid") ==
        pids);
}
