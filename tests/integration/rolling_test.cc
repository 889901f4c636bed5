// Rolling restarts on the real lab (issue 15): a serving cluster whose servers need a restart (a
// hand-built cluster: log_slave_updates off, report_host set to the IP) is restarted one server at
// a time, replicas first, each waited for until it replicates and has caught up; a watcher outside
// replplan (a TCP connect to every server's port every 20 ms) proves that no two were down at once.
// A replica that does not replicate after its restart stops the apply within the bound, and no
// other server is restarted (nor its config_file edited).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/down_watcher.h"
#include "integration/lab_client.h"

namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kHosts = {"mercury", "uranus", "venus"};

std::string CnfPath(const std::string& host) { return lab::Dir() + "/hosts/" + host + "/my.cnf"; }

// The host's my.cnf as the operator's runbook left it: no log_slave_updates, report_host = its IP,
// and `extra` lines under [mysqld].
void HandBuild(const std::string& host, const std::string& extra = "") {
  std::istringstream in(lab::ReadFile(CnfPath(host)));
  std::string line, out;
  while (std::getline(in, line)) {
    std::string key = line.substr(0, line.find_first_of(" =\t"));
    for (char& c : key) c = c == '-' ? '_' : c;
    if (key == "log_slave_updates" || key == "report_host") continue;
    out += line + "\n";
    if (line == "[mysqld]") out += "report_host = " + lab::Address(host) + "\n" + extra;
  }
  std::string tmp = lab::WriteFile(host + ".cnf", out);
  REQUIRE(lab::Run({"cp", tmp, CnfPath(host)}).exit_code == 0);
}

// Three hosts replicating from mercury, as replplan set them up, then turned into the hand-built
// cluster: every server runs without log_slave_updates and with report_host = its IP.
void HandBuiltCluster(const std::map<std::string, std::string>& extra = {}) {
  lab::Reset(3);
  auto up = lab::Replplan({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(up.exit_code == 0, up.out << up.err);
  for (const char* host : {"uranus", "venus", "mercury"}) {
    auto it = extra.find(host);
    HandBuild(host, it == extra.end() ? "" : it->second);
    auto restarted = lab::Lab({"restart", host});
    REQUIRE_MESSAGE(restarted.exit_code == 0, restarted.out << restarted.err);
  }
  // The primary takes writes again (its file says read_only=ON, as replplan wrote it), and the
  // replicas are connected to it again, as a serving cluster is.
  lab::Sql("mercury", "SET GLOBAL read_only = 0");
  for (const char* host : {"uranus", "venus"}) {
    REQUIRE(lab::SqlValue(host, "SELECT @@GLOBAL.report_host") == lab::Address(host));
    REQUIRE(lab::SqlValue(host, "SELECT @@GLOBAL.log_slave_updates") == "0");
    if (extra.count(host) > 0) continue;  // skip_slave_start: not replicating, by design
    REQUIRE(lab::WaitFor([&] {
      return lab::SqlValue(host, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                                 "WHERE VARIABLE_NAME = 'SLAVE_RUNNING'") == "ON" &&
             lab::SqlValue(host, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                 "WHERE STATE LIKE 'Waiting for master to send event%'") == "1";
    }, 30s));
  }
}

std::string Uptime(const std::string& host) {
  return lab::SqlValue(host, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'");
}

bool Replicates(const std::string& replica, int id) {
  lab::Sql("mercury", "CREATE TABLE IF NOT EXISTS secondhand_production.items (id INT PRIMARY KEY, name VARCHAR(40)); "
                      "INSERT INTO secondhand_production.items VALUES (" + std::to_string(id) + ", 'item-" +
                          std::to_string(id) + "');");
  return lab::WaitFor([&] {
    return lab::SqlValue(replica, "SELECT name FROM secondhand_production.items WHERE id = " + std::to_string(id)) ==
           "item-" + std::to_string(id);
  }, 20s);
}

TEST_CASE("a serving cluster's restarts: one server down at a time, replicas first and caught up, then the primary") {
  HandBuiltCluster();
  std::string plan = lab::Replplan({"plan", lab::TopologyPath()}).out;
  CHECK(plan.find("rolling restart: one server of the cluster down at a time") != std::string::npos);
  CHECK(plan.find("the primary restarts after every replica's restart and catch-up") != std::string::npos);
  CHECK(plan.find("switch over to uranus, restart mercury, switch back to mercury") != std::string::npos);

  lab::DownWatcher watcher(kHosts);
  auto applied = lab::Replplan({"apply", lab::TopologyPath(), "--yes", "--parallelism", "16"});
  watcher.Stop();
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.out << applied.err);
  CHECK_MESSAGE(watcher.max_down() == 1, "two servers down at once: " << watcher.rounds_with_two());
  CHECK(watcher.order() == std::vector<std::string>{"uranus", "venus", "mercury"});
  CHECK(applied.out.find("uranus: replicates from mercury and has caught up") != std::string::npos);
  for (const std::string& host : kHosts) {
    CHECK(lab::SqlValue(host, "SELECT @@GLOBAL.report_host") == host);
    CHECK(lab::SqlValue(host, "SELECT @@GLOBAL.log_slave_updates") == "1");
  }
  CHECK(Replicates("uranus", 1501));
  CHECK(Replicates("venus", 1502));
  CHECK(lab::Replplan({"plan", lab::TopologyPath(), "--detailed-exitcode"}).exit_code == 0);
}

// A client of the app's account (no SUPER: read_only stops it) writing one row every 20 ms to
// whichever server takes it, mercury first, recording every id a server acknowledged.
class AckedWriter {
 public:
  AckedWriter() : thread_([this] { Run(); }) {}
  ~AckedWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<int> acked() const { return acked_; }
  std::map<std::string, int> by_host() const { return by_host_; }
  std::chrono::milliseconds longest_gap() const { return longest_; }

 private:
  void Run() {
    const std::string password = lab::SecretValue("app.pw");
    int id = 0;
    auto last_ack = std::chrono::steady_clock::now();
    auto tick = last_ack;
    while (!stop_) {
      ++id;
      for (const std::string& host : kHosts) {
        auto r = lab::Run({"mariadb", "-h", lab::Address(host), "-P", "3306", "-u", "pierre", "--connect-timeout=1",
                           "-N", "-B", "-e", "INSERT INTO secondhand_production.acked VALUES (" + std::to_string(id) + ")"},
                          "", {"MYSQL_PWD=" + password});
        if (r.exit_code == 0) {
          auto now = std::chrono::steady_clock::now();
          longest_ = std::max(longest_, std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ack));
          last_ack = now;
          acked_.push_back(id);
          ++by_host_[host];
          break;
        }
      }
      tick += 20ms;
      std::this_thread::sleep_until(std::max(tick, std::chrono::steady_clock::now()));
    }
  }
  std::atomic<bool> stop_{false};
  std::vector<int> acked_;
  std::map<std::string, int> by_host_;
  std::chrono::milliseconds longest_{0};
  std::thread thread_;
};

TEST_CASE("the primary's restart: a switchover to a replica and back, no acknowledged write lost, the file unchanged") {
  HandBuiltCluster();
  lab::Sql("mercury", "CREATE TABLE secondhand_production.acked (id INT PRIMARY KEY)");
  REQUIRE(lab::WaitFor([] { return lab::SqlValue("venus", "SHOW TABLES IN secondhand_production LIKE 'acked'") == "acked"; }, 20s));
  // The runbook set venus up by file and position: its rolling restart waits on binlog coordinates.
  lab::Sql("venus", "STOP SLAVE; CHANGE MASTER TO MASTER_USE_GTID = no; START SLAVE");
  REQUIRE(lab::WaitFor([] {
    return lab::SqlValue("venus", "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                  "WHERE STATE LIKE 'Waiting for master to send event%'") == "1";
  }, 30s));
  std::string plan = lab::Replplan({"plan", lab::TopologyPath()}).out;
  CHECK(plan.find("restart mercury as a replica to apply log_slave_updates, report_host: switch over to") !=
        std::string::npos);

  lab::DownWatcher watcher(kHosts);
  AckedWriter writer;
  std::this_thread::sleep_for(1s);
  auto applied = lab::Replplan({"apply", lab::TopologyPath(), "--yes", "--parallelism", "16"});
  std::this_thread::sleep_for(1s);
  writer.Stop();
  watcher.Stop();
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.out << applied.err);
  CHECK_MESSAGE(watcher.max_down() == 1, "two servers down at once: " << watcher.rounds_with_two());
  CHECK(watcher.order() == std::vector<std::string>{"uranus", "venus", "mercury"});
  CHECK(applied.out.find("venus: replicates from mercury and has caught up") != std::string::npos);
  // mercury is the primary again, as the file says, with every setting applied.
  CHECK(lab::PrimaryIn(lab::TopologyPath()) == "mercury");
  CHECK(lab::SqlValue("mercury", "SELECT @@GLOBAL.read_only") == "0");
  for (const std::string& host : kHosts) {
    CHECK(lab::SqlValue(host, "SELECT @@GLOBAL.report_host") == host);
    CHECK(lab::SqlValue(host, "SELECT @@GLOBAL.log_slave_updates") == "1");
  }
  // Every acknowledged id is on mercury, and on the replicas once they caught up.
  const std::vector<int> acked = writer.acked();
  REQUIRE(acked.size() > 10);
  auto missing_on = [&](const std::string& host) {
    std::set<int> have;
    for (const auto& row : lab::Sql(host, "SELECT id FROM secondhand_production.acked")) have.insert(std::stoi(row[0]));
    int missing = 0;
    for (int id : acked) missing += have.count(id) == 0 ? 1 : 0;
    return missing;
  };
  CHECK(missing_on("mercury") == 0);
  for (const char* replica : {"uranus", "venus"}) {
    CHECK(lab::WaitFor([&] { return missing_on(replica) == 0; }, 20s));
  }
  std::string hosts;
  for (const auto& [host, n] : writer.by_host()) hosts += host + " " + std::to_string(n) + " ";
  MESSAGE("acknowledged writes: " << acked.size() << " (" << hosts << "); longest gap between two: "
                                  << writer.longest_gap().count() << " ms");
  CHECK(writer.by_host().size() == 2);  // mercury, and the replica that took over for the restart
  CHECK(lab::Replplan({"plan", lab::TopologyPath(), "--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("primary_restart = \"stay\": the replica taken over stays the primary and the file names it") {
  HandBuiltCluster();
  std::string path = lab::WriteFile("stay.toml", [] {
    std::string text = lab::ReadFile(lab::TopologyPath());
    return text.insert(text.find("\n[replication]\n") + 1, "primary_restart = \"stay\"\n\n");
  }());
  auto applied = lab::Replplan({"apply", path, "--yes"});
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.out << applied.err);
  CHECK(lab::PrimaryIn(path) == "uranus");
  CHECK(lab::SqlValue("uranus", "SELECT @@GLOBAL.read_only") == "0");
  CHECK(lab::SqlValue("mercury", "SELECT @@GLOBAL.read_only") == "1");
  CHECK(lab::SqlValue("mercury", "SELECT @@GLOBAL.report_host") == "mercury");
  lab::Sql("uranus", "CREATE TABLE secondhand_production.stayed (id INT PRIMARY KEY); "
                     "INSERT INTO secondhand_production.stayed VALUES (7)");
  for (const char* replica : {"mercury", "venus"}) {
    CHECK(lab::WaitFor([&] { return lab::SqlValue(replica, "SELECT id FROM secondhand_production.stayed") == "7"; }, 20s));
  }
  CHECK(lab::Replplan({"plan", path, "--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("a replica that does not replicate after its restart stops apply within the bound; no other server is touched") {
  HandBuiltCluster();
  // uranus replicates now, but skip_slave_start in its file (not read until its next restart)
  // brings it back without its replication threads, as a replica that cannot reach its source.
  {
    std::string cnf = lab::ReadFile(CnfPath("uranus"));
    cnf.insert(cnf.find("[mysqld]\n") + 9, "skip_slave_start\n");
    REQUIRE(lab::Run({"cp", lab::WriteFile("uranus-skip.cnf", cnf), CnfPath("uranus")}).exit_code == 0);
  }
  std::string path = lab::WriteFile("rolling-bound.toml",
                                    [] {
                                      std::string text = lab::ReadFile(lab::TopologyPath());
                                      size_t at = text.find("[cluster]\n");
                                      REQUIRE(at != std::string::npos);
                                      return text.insert(at + 10, "restart_catch_up_timeout = 3\n");
                                    }());
  const std::string venus_cnf = lab::ReadFile(CnfPath("venus"));
  const std::string mercury_cnf = lab::ReadFile(CnfPath("mercury"));
  std::this_thread::sleep_for(1100ms);  // so a restart would show as a lower uptime
  const int venus_up = std::stoi(Uptime("venus"));
  const int mercury_up = std::stoi(Uptime("mercury"));

  auto started = std::chrono::steady_clock::now();
  auto applied = lab::Replplan({"apply", path, "--yes", "--parallelism", "16"});
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(applied.exit_code != 0);
  const std::string all = applied.out + applied.err;
  CHECK_MESSAGE(all.find("uranus restarted but did not replicate from mercury and catch up within 3 s "
                         "(restart_catch_up_timeout in [cluster]): not replicating (IO thread: No, SQL thread: No") !=
                    std::string::npos,
                all);
  CHECK(all.find("no other server of the cluster is restarted until uranus has caught up") != std::string::npos);
  CHECK(took < 60s);
  // uranus did restart (its report_host is the file's now); venus and mercury were not restarted
  // and their files are as they were.
  CHECK(lab::SqlValue("uranus", "SELECT @@GLOBAL.report_host") == "uranus");
  CHECK(std::stoi(Uptime("venus")) >= venus_up);
  CHECK(std::stoi(Uptime("mercury")) >= mercury_up);
  CHECK(lab::SqlValue("venus", "SELECT @@GLOBAL.report_host") == lab::Address("venus"));
  CHECK(lab::ReadFile(CnfPath("venus")) == venus_cnf);
  CHECK(lab::ReadFile(CnfPath("mercury")) == mercury_cnf);
}

TEST_CASE("report_host marked on_next_restart: written to config_file, no restart, plan clean afterwards") {
  HandBuiltCluster();
  // log_slave_updates still needs the restarts; put it right by hand first, so only report_host is left.
  for (const char* host : {"uranus", "venus", "mercury"}) {
    HandBuild(host, "log_slave_updates = ON\n");
    REQUIRE(lab::Lab({"restart", host}).exit_code == 0);
  }
  std::string path = lab::WriteFile("deferred.toml", [] {
    std::string text = lab::ReadFile(lab::TopologyPath());
    return text.insert(text.find("[cluster]\n") + 10, "on_next_restart = [\"report_host\"]\n");
  }());
  std::this_thread::sleep_for(1100ms);
  std::map<std::string, int> up;
  for (const std::string& host : kHosts) up[host] = std::stoi(Uptime(host));
  auto plan = lab::Replplan({"plan", path});
  CHECK(plan.out.find("report_host applies at next restart") != std::string::npos);
  CHECK(plan.out.find("restart-server") == std::string::npos);
  auto applied = lab::Replplan({"apply", path, "--yes"});
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.out << applied.err);
  for (const std::string& host : kHosts) {
    CHECK(std::stoi(Uptime(host)) >= up[host]);  // not restarted
    CHECK(lab::ReadFile(CnfPath(host)).find("report_host = " + lab::Address(host)) == std::string::npos);
  }
  CHECK(lab::Replplan({"plan", path, "--detailed-exitcode"}).exit_code == 0);
}

}  // namespace
