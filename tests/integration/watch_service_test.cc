// `replplan watch` as a service on the real lab (docs/watch-service.md): the systemd notifications
// on a datagram socket the test binds, /metrics and /health scraped over HTTP (curl) and parsed,
// the JSON log parsed line by line, a maintenance pause across a kill -9 of the primary, and SIGHUP
// with a good and a broken topology file. Rows written before the kill are read back afterwards.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/lab_client.h"

namespace {

using namespace std::chrono_literals;

void RequireOk(const lab::CommandResult& r, const std::string& what) {
  INFO(what << ":\n" << r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

// The lab's three hosts replicating as lab.toml says, the file copied to Dir()/tmp/NAME, and rows
// 1..10 in svc.t on mercury (replicated before this returns).
std::string Cluster(const std::string& name) {
  lab::Reset(3);
  std::string path = lab::WriteFile(name, lab::ReadFile(lab::TopologyPath()));
  RequireOk(lab::Replplan({"apply", path, "--yes"}), "apply");
  RequireOk(lab::AdminSql("mercury", "CREATE DATABASE svc; CREATE TABLE svc.t (id INT PRIMARY KEY); INSERT INTO svc.t "
                                     "SELECT seq FROM svc.seq_1_to_10"),
            "rows");
  for (const char* replica : {"uranus", "venus"}) {
    REQUIRE(lab::WaitFor([&] { return lab::SqlValue(replica, "SELECT COUNT(*) FROM svc.t") == "10"; }, 20s));
  }
  return path;
}

// A datagram socket bound at a path, as systemd's $NOTIFY_SOCKET: what the watcher sends to it.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = lab::Dir() + "/tmp/notify-" + std::to_string(getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof address.sun_path);
    std::copy(path_.begin(), path_.end(), address.sun_path);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  // The next datagram within `limit`, "" if none came.
  std::string Next(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return "";
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }
  // Waits until a datagram holding `line` arrives; every datagram seen is kept in `seen`.
  bool WaitFor(const std::string& line, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      std::string datagram = Next(100ms);
      if (datagram.empty()) continue;
      seen.push_back(datagram);
      std::istringstream lines(datagram);
      for (std::string l; std::getline(lines, l);) {
        if (l == line) return true;
      }
    }
    return false;
  }
  std::vector<std::string> seen;

 private:
  std::string path_;
  int fd_ = -1;
};

// Environment variables for the processes this test starts, put back when it goes.
struct ScopedEnv {
  std::vector<std::string> names;
  void Set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    names.push_back(name);
  }
  ~ScopedEnv() {
    for (const std::string& name : names) ::unsetenv(name.c_str());
  }
};

struct Http {
  int status = 0;
  std::string body;
};

Http Get(const std::string& url) {
  auto r = lab::Run({"curl", "-s", "--max-time", "5", "-w", "\n%{http_code}", url});
  Http http;
  const size_t cut = r.out.rfind('\n');
  if (r.exit_code != 0 || cut == std::string::npos) return http;
  http.body = r.out.substr(0, cut);
  http.status = std::atoi(r.out.c_str() + cut + 1);
  return http;
}

// The exposition text's samples: "name{labels}" -> value; every sample's metric has a # TYPE line.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const std::string name = line.substr(0, space);
    CHECK_MESSAGE(text.find("# TYPE " + name.substr(0, name.find('{')) + " ") != std::string::npos, name);
    samples[name] = std::strtod(line.c_str() + space + 1, nullptr);  // "NaN" parses as NaN
  }
  return samples;
}

std::string Series(const std::string& metric, const std::string& server = "") {
  return metric + "{cluster=\"lab\"" + (server.empty() ? "" : ",server=\"" + server + "\"") + "}";
}

// Every line of the JSON log, parsed (a line that is not JSON fails the test).
std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    CHECK_MESSAGE(!parsed.is_discarded(), "not a JSON line: " << line);
    if (parsed.is_discarded()) continue;
    CHECK(parsed["time"].is_string());
    CHECK(parsed["event"].is_string());
    CHECK(parsed["message"].is_string());
    lines.push_back(std::move(parsed));
  }
  return lines;
}

bool HasEvent(const std::vector<nlohmann::json>& lines, const std::string& event) {
  for (const auto& line : lines) {
    if (line["event"] == event) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("as a service: READY=1 and WATCHDOG=1 to systemd, /metrics and /health over HTTP, a JSON log; paused it "
          "fails nothing over after kill -9 of the primary, resumed it does, and the rows are on the new primary") {
  const std::string path = Cluster("service.toml");
  NotifySocket notify;
  const std::string http = lab::Net() + ".250:9104";  // this lab's own loopback net
  std::unique_ptr<lab::Background> watch;
  {
    ScopedEnv env;
    env.Set("NOTIFY_SOCKET", notify.path());
    env.Set("WATCHDOG_USEC", "2000000");  // pings at least every 0.5 s
    watch = std::make_unique<lab::Background>(
        std::vector<std::string>{"watch", path, "--interval-ms", "100", "--log-format", "json", "--http", http});
  }
  // READY=1 once the primary is watched, then the watchdog's pings from the loop.
  CHECK_MESSAGE(notify.WaitFor("READY=1", 30s), watch->Output());
  CHECK_MESSAGE(notify.WaitFor("WATCHDOG=1", 5s), watch->Output());
  CHECK_MESSAGE(notify.WaitFor("WATCHDOG=1", 5s), watch->Output());  // again: from the loop, not once

  const std::string base = "http://" + http;
  Http health = Get(base + "/health");
  CHECK(health.status == 200);
  // The replicas' heartbeat age needs two reads of the poller (a second apart).
  std::map<std::string, double> m;
  CHECK(lab::WaitFor([&] {
    m = Samples(Get(base + "/metrics").body);
    return m.count(Series("replplan_watch_replica_heartbeat_age_seconds", "venus")) &&
           !std::isnan(m[Series("replplan_watch_replica_heartbeat_age_seconds", "venus")]);
  }, 15s));
  CHECK(m[Series("replplan_watch_up")] == 1);
  CHECK(m[Series("replplan_watch_primary_up", "mercury")] == 1);
  CHECK(m[Series("replplan_watch_leader")] == 1);
  CHECK(m[Series("replplan_watch_paused")] == 0);
  CHECK(m[Series("replplan_watch_failovers_total")] == 0);
  CHECK(m[Series("replplan_watch_last_failover_timestamp_seconds")] == 0);
  CHECK(m[Series("replplan_watch_last_failover_duration_seconds")] == 0);
  for (const char* replica : {"uranus", "venus"}) {
    CHECK(m[Series("replplan_watch_replica_lag_seconds", replica)] == 0);
    // Heartbeats every 0.1 s (lab.toml) on an idle primary: the age stays within a few of them.
    CHECK(m[Series("replplan_watch_replica_heartbeat_age_seconds", replica)] < 3);
  }
  CHECK(m.count(Series("replplan_watch_primary_up", "uranus")) == 0);
  CHECK(Get(base + "/nothing").status == 404);

  // Maintenance: paused, the watcher sees the primary die and changes nothing.
  RequireOk(lab::Replplan({"watch", "pause", path, "--reason", "lab maintenance"}), "watch pause");
  REQUIRE_MESSAGE(watch->WaitForOutput("\"event\":\"paused\"", 5s), watch->Output());
  lab::Lab({"kill", "mercury"});
  const auto killed = std::chrono::system_clock::now();
  REQUIRE_MESSAGE(watch->WaitForOutput("\"event\":\"failover-paused\"", 15s), watch->Output());
  std::this_thread::sleep_for(3s);  // a failover takes about 1 s here: none may come
  m = Samples(Get(base + "/metrics").body);
  CHECK(m[Series("replplan_watch_primary_up", "mercury")] == 0);
  CHECK(m[Series("replplan_watch_paused")] == 1);
  CHECK(m[Series("replplan_watch_failovers_total")] == 0);
  CHECK(Get(base + "/health").status == 200);  // still watching
  CHECK(lab::PrimaryIn(path) == "mercury");
  CHECK(lab::SqlValue("uranus", "SELECT @@global.read_only") == "1");
  CHECK(lab::SqlValue("venus", "SELECT @@global.read_only") == "1");

  // Resumed: the failover follows, within a probe interval of the resume and the confirmation.
  RequireOk(lab::Replplan({"watch", "resume", path}), "watch resume");
  REQUIRE_MESSAGE(lab::WaitFor([&] { return lab::PrimaryIn(path) != "mercury"; }, 30s), watch->Output());
  const std::string promoted = lab::PrimaryIn(path);
  CHECK((promoted == "uranus" || promoted == "venus"));
  CHECK(lab::WaitFor([&] {
    m = Samples(Get(base + "/metrics").body);
    return m[Series("replplan_watch_primary_up", promoted)] == 1;
  }, 15s));
  CHECK(m[Series("replplan_watch_failovers_total")] == 1);
  CHECK(m[Series("replplan_watch_paused")] == 0);
  CHECK(m[Series("replplan_watch_last_failover_duration_seconds")] > 0);
  CHECK(m[Series("replplan_watch_last_failover_timestamp_seconds")] >=
        std::chrono::duration<double>(killed.time_since_epoch()).count());
  CHECK(m.count(Series("replplan_watch_primary_up", "mercury")) == 0);
  CHECK(lab::SqlValue(promoted, "SELECT COUNT(*) FROM svc.t") == "10");
  CHECK(lab::SqlValue(promoted, "SELECT @@global.read_only") == "0");

  CHECK(watch->Terminate() == 0);
  CHECK(notify.WaitFor("STOPPING=1", 5s));
  const std::string out = watch->Output();
  INFO("watch:\n" << out);
  const auto lines = JsonLines(out);
  for (const char* event : {"http", "watching", "paused", "failover-paused", "resumed", "primary-unreachable",
                            "failover", "step"}) {
    CHECK_MESSAGE(HasEvent(lines, event), event);
  }
  for (const auto& line : lines) {
    if (line["event"] == "failover") {
      CHECK(line["from"] == "mercury");
      CHECK(line["to"] == promoted);
      CHECK(line["ok"] == true);
      CHECK(line["duration_ms"].get<long long>() > 0);
    }
  }
  // No secret in the log: the lab's passwords never appear.
  for (const char* secret : {"admin.pw", "repl.pw"}) CHECK(out.find(lab::SecretValue(secret)) == std::string::npos);
}

TEST_CASE("SIGHUP reads the topology file again: an added replica is read; a broken file is reported and the one "
          "read before kept") {
  const std::string path = Cluster("reload.toml");
  // The watcher starts on a file that names two of the three servers.
  RequireOk(lab::Lab({"toml", path, "2"}), "lab.sh toml 2");
  lab::Background watch({"watch", path, "--interval-ms", "100"});
  REQUIRE_MESSAGE(watch.WaitForOutput("watching mercury", 30s), watch.Output());
  RequireOk(lab::Lab({"toml", path, "3"}), "lab.sh toml 3");  // venus added
  REQUIRE(watch.Signal(SIGHUP));
  CHECK_MESSAGE(watch.WaitForOutput("SIGHUP: read " + path + " again: cluster lab, primary mercury, 3 servers "
                                    "(mercury, uranus, venus)", 10s),
                watch.Output());
  // A broken file: reported, and the watcher goes on with the file it read before.
  const std::string good = lab::ReadFile(path);
  lab::WriteFile("reload.toml", good + "\n[cluster\n");
  REQUIRE(watch.Signal(SIGHUP));
  CHECK_MESSAGE(watch.WaitForOutput("SIGHUP: cannot use the topology file (" + path + ":", 10s), watch.Output());
  CHECK(watch.WaitForOutput("still watching as the file read before says", 1s));
  std::this_thread::sleep_for(1s);
  CHECK(watch.Running());
  // The good file back, read on SIGHUP; mercury killed, the watcher fails over as it says.
  lab::WriteFile("reload.toml", good);
  REQUIRE(watch.Signal(SIGHUP));
  CHECK(watch.WaitForOutput("SIGHUP: read " + path + " again", 10s));
  lab::Lab({"kill", "mercury"});
  CHECK_MESSAGE(lab::WaitFor([&] { return lab::PrimaryIn(path) != "mercury"; }, 30s), watch.Output());
  const std::string promoted = lab::PrimaryIn(path);
  CHECK(lab::SqlValue(promoted, "SELECT COUNT(*) FROM svc.t") == "10");
  CHECK(watch.Terminate() == 0);
  INFO("watch:\n" << watch.Output());
}

TEST_CASE("[watch] http and state_dir in the file: /health served there and the pause record kept there (pause "
          "writes it, the watcher reads it); --http wins over the file") {
  const std::string path = Cluster("fromfile.toml");
  const std::string state = lab::Dir() + "/tmp/state-" + std::to_string(getpid());
  RequireOk(lab::Run({"mkdir", "-p", state}), "mkdir");
  const std::string from_file = lab::Net() + ".250:9105";
  lab::WriteFile("fromfile.toml", lab::ReadFile(path) + "\n[watch]\nhttp = \"" + from_file + "\"\nstate_dir = \"" +
                                      state + "\"\n");
  {
    lab::Background watch({"watch", path, "--interval-ms", "100"});
    REQUIRE_MESSAGE(watch.WaitForOutput("serving /metrics and /health on " + from_file, 30s), watch.Output());
    REQUIRE_MESSAGE(watch.WaitForOutput("watching mercury", 30s), watch.Output());
    CHECK(Get("http://" + from_file + "/health").status == 200);
    RequireOk(lab::Replplan({"watch", "pause", path, "--reason", "from the file"}), "watch pause");
    CHECK(lab::Run({"test", "-f", state + "/fromfile.toml.pause"}).exit_code == 0);
    CHECK(lab::Run({"test", "-e", path + ".pause"}).exit_code != 0);
    CHECK_MESSAGE(watch.WaitForOutput("(from the file)", 5s), watch.Output());
    RequireOk(lab::Replplan({"watch", "resume", path}), "watch resume");
    CHECK_MESSAGE(watch.WaitForOutput("cluster resumed at ", 5s), watch.Output());
    CHECK(watch.Terminate() == 0);
  }
  const std::string from_flag = lab::Net() + ".250:9106";
  lab::Background watch({"watch", path, "--interval-ms", "100", "--http", from_flag});
  REQUIRE_MESSAGE(watch.WaitForOutput("serving /metrics and /health on " + from_flag, 30s), watch.Output());
  CHECK(Get("http://" + from_flag + "/health").status != 0);
  CHECK(watch.Output().find(from_file) == std::string::npos);
  CHECK(watch.Terminate() == 0);
}
