// Takeover of the runbook-built cluster (issue 15) on the real lab: the cluster is built by hand,
// as the operator did, over SQL and the shell, never with replplan: my.cnf with server-id,
// a RELATIVE log_bin (mysql-bin, in the datadir), report_host set to the IP; a replication account;
// a dump with its binlog coordinates restored on each replica; uranus replicating by file and
// position, venus by GTID. The Secondhand app on venus writes to it through its database.yml. Then
// the operator's topology file (relative log_bin, the app as [[app]]) is validated, planned and
// applied while a client posts to the app every 20 ms: replplan's settings that need a restart
// (log_slave_updates, report_host) roll through the cluster, the primary's through a switchover
// and back. The client's longest gap stays under 1 s, every acknowledged write is read back from
// every server, no two servers are down at once (watched from outside), uranus ends on GTID, and
// the plan afterwards is clean.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/app_client.h"
#include "integration/down_watcher.h"
#include "integration/lab_client.h"

namespace {

using namespace std::chrono_literals;
using lab::app::Clock;

const std::vector<std::string> kHosts = {"mercury", "uranus", "venus"};
const std::string kAppHost = "venus";

std::string HostFile(const std::string& host, const std::string& name) {
  return lab::Dir() + "/hosts/" + host + "/" + name;
}

void RequireOk(const lab::CommandResult& r, const std::string& what) {
  REQUIRE_MESSAGE(r.exit_code == 0, what << ": " << r.out << r.err);
}

// Step 1 of the runbook on each host: the operator's lines under [mysqld] (dashes, as the MariaDB
// docs write them; log_bin relative, so the binlogs live in the datadir), then a restart by hand.
void ConfigureByHand(const std::string& host, int server_id) {
  std::string cnf = lab::ReadFile(HostFile(host, "my.cnf"));
  size_t at = cnf.find("[mysqld]\n");
  REQUIRE(at != std::string::npos);
  cnf.insert(at + 9, "server-id     = " + std::to_string(server_id) +
                         "\nlog_bin       = mysql-bin\nbinlog_format = ROW\nreport_host   = " + lab::Address(host) +
                         "\n");
  RequireOk(lab::Run({"cp", lab::WriteFile(host + "-runbook.cnf", cnf), HostFile(host, "my.cnf")}), "cp my.cnf");
  RequireOk(lab::Lab({"restart", host}), "lab.sh restart " + host);
  REQUIRE(lab::SqlValue(host, "SELECT @@GLOBAL.log_bin_basename") == HostFile(host, "data/mysql-bin"));
}

// The value between the first quotes after `marker` in a dump's header comments.
std::string Quoted(const std::string& dump, const std::string& marker) {
  size_t at = dump.find(marker);
  REQUIRE_MESSAGE(at != std::string::npos, marker << " not in the dump's header");
  size_t open = dump.find('\'', at);
  size_t close = dump.find('\'', open + 1);
  return dump.substr(open + 1, close - open - 1);
}

// The number after `marker` in a dump's header comments.
std::string Number(const std::string& dump, const std::string& marker) {
  size_t at = dump.find(marker);
  REQUIRE_MESSAGE(at != std::string::npos, marker << " not in the dump's header");
  at += marker.size();
  size_t end = at;
  while (end < dump.size() && std::isdigit(static_cast<unsigned char>(dump[end]))) ++end;
  return dump.substr(at, end - at);
}

bool AppWrote(const std::string& server, int64_t seq) {
  return lab::SqlValue(server, "SELECT COUNT(*) FROM secondhand_production.items WHERE seq = " + std::to_string(seq)) ==
         "1";
}

// What SHOW SLAVE STATUS says of `field` on `host` ("" without a connection).
std::string SlaveField(const std::string& host, const std::string& field) {
  auto r = lab::Run({"mariadb", "--no-defaults", "-S", HostFile(host, "mysqld.sock"), "-u", "root", "-E", "-e",
                     "SHOW SLAVE STATUS"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string key = field + ": ";
  size_t at = r.out.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  return r.out.substr(at, r.out.find('\n', at) - at);
}

// The runbook: accounts and the app's database on mercury, the app's schema loaded through its
// database.yml, a dump with coordinates restored on each replica (binary log off for the restore),
// uranus by MASTER_LOG_FILE/POS, venus by gtid_slave_pos. The app on venus serves afterwards.
void BuildRunbookCluster() {
  lab::Reset(3);
  lab::app::Script({"down"});
  for (size_t i = 0; i < kHosts.size(); ++i) ConfigureByHand(kHosts[i], static_cast<int>(i) + 1);
  const std::string repl = lab::SecretValue("repl.pw");
  lab::Sql("mercury", "CREATE USER 'repl'@'%' IDENTIFIED BY '" + repl +
                          "'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'; "
                          "CREATE DATABASE secondhand_production CHARACTER SET utf8mb4; "
                          "CREATE USER 'pierre'@'%' IDENTIFIED BY '" + lab::SecretValue("app.pw") +
                          "'; GRANT ALL PRIVILEGES ON secondhand_production.* TO 'pierre'@'%';");
  RequireOk(lab::app::Script({"deploy", kAppHost, "mercury"}), "app.sh deploy");
  // Fail fast when a server goes away (what bench/rolling_takeover.sh writes too).
  const std::string yml = HostFile(kAppHost, "app/config/database.yml");
  RequireOk(lab::Run({"sed", "-i", "-e", "s/^  connect_timeout: .*/  connect_timeout: 1/", "-e",
                      "s/^  read_timeout: .*/  read_timeout: 2/", "-e", "s/^  write_timeout: .*/  write_timeout: 2/",
                      yml}),
            "sed database.yml");
  RequireOk(lab::app::Script({"setup", kAppHost}), "app.sh setup");
  RequireOk(lab::app::Script({"start", kAppHost}), "app.sh start");
  for (int64_t seq = 1; seq <= 3; ++seq) REQUIRE(lab::app::Post(kAppHost, seq).ok);

  auto dumped = lab::Run({"mariadb-dump", "--no-defaults", "-S", HostFile("mercury", "mysqld.sock"), "-u", "root",
                          "--single-transaction", "--master-data=2", "--gtid", "--databases", "secondhand_production"});
  RequireOk(dumped, "mariadb-dump");
  const std::string& dump = dumped.out;
  const std::string file = Quoted(dump, "MASTER_LOG_FILE=");
  const std::string position = Number(dump, "MASTER_LOG_POS=");
  const std::string gtid = Quoted(dump, "gtid_slave_pos=");
  REQUIRE(file.rfind("mysql-bin.", 0) == 0);
  const std::string source = "MASTER_HOST='" + lab::Address("mercury") +
                             "', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='" + repl + "'";
  for (const char* replica : {"uranus", "venus"}) lab::Sql(replica, "SET SESSION sql_log_bin = 0;\n" + dump);
  lab::Sql("uranus", "CHANGE MASTER TO " + source + ", MASTER_LOG_FILE='" + file + "', MASTER_LOG_POS=" + position +
                         "; START SLAVE;");
  lab::Sql("venus", "SET GLOBAL gtid_slave_pos = '" + gtid + "'; CHANGE MASTER TO " + source +
                        ", MASTER_USE_GTID=slave_pos; START SLAVE;");
  REQUIRE(SlaveField("uranus", "Using_Gtid") == "No");
  REQUIRE(SlaveField("venus", "Using_Gtid") == "Slave_Pos");
  // Rows from before the dump (restored) and after it (replicated) on both replicas.
  for (int64_t seq = 4; seq <= 6; ++seq) REQUIRE(lab::app::Post(kAppHost, seq).ok);
  for (const char* replica : {"uranus", "venus"}) {
    for (int64_t seq = 1; seq <= 6; ++seq) {
      REQUIRE_MESSAGE(lab::WaitFor([&] { return AppWrote(replica, seq); }, 20s), replica << " lacks seq " << seq);
    }
  }
}

// The operator's topology: lab.toml as they would write it for this cluster, but log_bin as their
// my.cnf says it (relative), and the app on venus as [[app]] (reconnects on tmp/restart.txt).
std::string OperatorsFile() {
  std::string text = lab::ReadFile(lab::TopologyPath());
  for (const std::string& host : kHosts) {
    const std::string absolute = "\"" + HostFile(host, "binlog/mysql-bin.log") + "\"";
    size_t at = text.find(absolute);
    REQUIRE(at != std::string::npos);
    text.replace(at, absolute.size(), "\"mysql-bin\"");
  }
  std::string path = lab::WriteFile("takeover.toml", text);
  RequireOk(lab::app::Script({"toml", path, kAppHost}), "app.sh toml");
  return path;
}

// Puma stops with the test case, whatever failed.
struct AppStopper {
  ~AppStopper() { lab::app::Script({"stop", kAppHost}); }
};

}  // namespace

TEST_CASE("takeover of the runbook-built cluster: the apply rolls while the app writes; no gap over 1 s, nothing lost") {
  AppStopper stopper;
  BuildRunbookCluster();
  const std::string path = OperatorsFile();

  auto validated = lab::Replplan({"validate", path});
  REQUIRE_MESSAGE(validated.exit_code == 0, validated.out << validated.err);
  auto planned = lab::Replplan({"plan", path});
  REQUIRE_MESSAGE(planned.exit_code == 0, planned.out << planned.err);
  MESSAGE("plan of the takeover:\n" << planned.out);
  CHECK(planned.out.find("rolling restart: one server of the cluster down at a time") != std::string::npos);
  CHECK(planned.out.find("switch over to") != std::string::npos);
  CHECK(planned.out.find("seed") == std::string::npos);

  lab::DownWatcher watcher(kHosts);
  lab::app::Writer writer(kAppHost, 20ms, 1000);
  REQUIRE(lab::WaitFor([&] { return !writer.Acknowledged().empty(); }, 10s));
  std::this_thread::sleep_for(1s);
  const Clock::time_point t0 = Clock::now();
  auto applied = lab::Replplan({"apply", path, "--yes"});
  const Clock::time_point t1 = Clock::now();
  std::this_thread::sleep_for(1s);
  writer.Stop();
  watcher.Stop();
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.out << applied.err);
  MESSAGE("apply:\n" << applied.out);

  // Never two servers down; replicas first, then the primary.
  CHECK_MESSAGE(watcher.max_down() == 1, "two servers down at once: " << watcher.rounds_with_two());
  CHECK(watcher.order().size() == 3);
  CHECK((watcher.order().empty() || watcher.order().back() == "mercury"));

  // The longest stretch without an acknowledged write, from the apply's start to 1 s after it.
  const std::vector<lab::app::Ack> acks = writer.Acknowledged();
  std::vector<Clock::time_point> times = {t0};
  for (const auto& ack : acks) {
    if (ack.at >= t0 && ack.at <= t1 + 1s) times.push_back(ack.at);
  }
  times.push_back(t1 + 1s);
  Clock::duration longest{0};
  for (size_t i = 1; i < times.size(); ++i) longest = std::max(longest, times[i] - times[i - 1]);
  const auto longest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(longest).count();
  MESSAGE("acknowledged writes: " << acks.size() << ", failed: " << writer.Failures().size()
                                  << "; longest gap during the apply: " << longest_ms << " ms");
  REQUIRE(acks.size() > 20);
  CHECK(longest_ms < 1000);

  // mercury is the primary again, as the file says, every server restarted into the settings.
  CHECK(lab::PrimaryIn(path) == "mercury");
  CHECK(lab::SqlValue("mercury", "SELECT @@GLOBAL.read_only") == "0");
  for (const std::string& host : kHosts) {
    CHECK(lab::SqlValue(host, "SELECT @@GLOBAL.log_slave_updates") == "1");
    CHECK(lab::SqlValue(host, "SELECT @@GLOBAL.report_host") == host);
    CHECK(lab::SqlValue(host, "SELECT @@GLOBAL.log_bin_basename") == HostFile(host, "data/mysql-bin"));
  }
  // Every acknowledged write read back from the primary and, once caught up, from each replica.
  CHECK(lab::app::MissingOn("mercury", acks).empty());
  for (const char* replica : {"uranus", "venus"}) {
    CHECK_MESSAGE(lab::WaitFor([&] { return lab::app::MissingOn(replica, acks).empty(); }, 20s),
                  replica << " lacks " << lab::app::MissingOn(replica, acks).size() << " acknowledged writes");
  }
  // The file/position replica replicates by GTID now.
  CHECK(SlaveField("uranus", "Using_Gtid") == "Slave_Pos");
  CHECK(SlaveField("venus", "Using_Gtid") == "Slave_Pos");

  auto clean = lab::Replplan({"plan", path, "--detailed-exitcode"});
  CHECK_MESSAGE(clean.exit_code == 0, clean.out << clean.err);
}
