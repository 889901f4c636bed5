// The real Secondhand Rails app (examples/secondhand, puma, Debian's Rails 6.1) on the lab, on top of
// a pair replplan applied: its writes reach the replica, its health check says whether its
// database takes writes, it follows config/database.yml (as replplan's own editor rewrites it)
// after the restart the topology's [[app]] names (puma's hot restart, or the touch of
// tmp/restart.txt that makes the running app reconnect in process), and replplan's provider reads
// that file.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/database_yml.h"
#include "engine/topology.h"
#include "engine/topology_parser.h"
#include "integration/app_client.h"
#include "integration/lab_client.h"
#include "providers/live_provider.h"

namespace {

using namespace std::chrono_literals;
using lab::app::Clock;

lab::CommandResult App(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  return lab::app::Script(args, env);
}

void RequireApp(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  auto result = App(args, env);
  INFO("app.sh " << args.front() << ": " << result.out << result.err);
  REQUIRE(result.exit_code == 0);
}

// Every test case leaves no puma behind, whatever fails.
struct AppOn {
  std::string host;
  explicit AppOn(std::string h) : host(std::move(h)) {}
  ~AppOn() { App({"stop", host}); }
};

std::string AppRoot(const std::string& host) { return lab::Dir() + "/hosts/" + host + "/app"; }
std::string YmlPath(const std::string& host) { return AppRoot(host) + "/config/database.yml"; }

// The pid in the app's pid file (app.sh writes it once puma serves).
std::string PumaPid(const std::string& host) {
  std::string pid = lab::ReadFile(AppRoot(host) + "/tmp/puma.pid");
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  REQUIRE_FALSE(pid.empty());
  return pid;
}

// Lines of the app's log (puma's stdout and Rails' logger) that contain `needle`.
int LogLines(const std::string& host, const std::string& needle) {
  const std::string log = lab::ReadFile(AppRoot(host) + "/log/puma.log");
  int n = 0;
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + needle.size())) ++n;
  return n;
}

// How many times puma booted the app. Puma's hot restart re-executes itself under the SAME pid, so
// an unchanged pid does not prove there was no restart; puma prints this line at every boot.
int Boots(const std::string& host) { return LogLines(host, "Puma starting in single mode"); }

// Whether `seq` is in secondhand_production.items on lab server `server`.
bool HasSeq(const std::string& server, int64_t seq) {
  return lab::SqlValue(server, "SELECT COUNT(*) FROM secondhand_production.items WHERE seq = " + std::to_string(seq)) ==
         "1";
}

// Makes uranus a server of its own that takes writes: replication stopped (nothing written on
// mercury reaches it any more, and nothing flows back), read_only off. Then which server a write
// reached is plain to see. Waits first until uranus has every row mercury has (the app's table).
void DetachUranus() {
  REQUIRE(lab::WaitFor([] {
    return lab::SqlValue("uranus", "SELECT COUNT(*) FROM secondhand_production.items") ==
           lab::SqlValue("mercury", "SELECT COUNT(*) FROM secondhand_production.items");
  }, 10s));
  lab::Sql("uranus", "STOP SLAVE; SET GLOBAL read_only = 0");
  REQUIRE(lab::SqlValue("uranus", "SELECT @@global.read_only") == "0");
}

// Points the deployed app's production section at `db` with replplan's own editor: what apply
// does after a switchover, and Rails must read the result.
void PointAppAt(const std::string& host, const std::string& db) {
  const std::string path = YmlPath(host);
  auto edited = replplan::EditDatabaseYml(lab::ReadFile(path), "production", {{"host", lab::Address(db)}});
  REQUIRE_MESSAGE(edited.ok(), edited.status().message());
  lab::Run({"cp", lab::WriteFile("database.yml", *edited), path});
  REQUIRE(replplan::ReadDatabaseYml(lab::ReadFile(path), "production").host.value == lab::Address(db));
}

// A replicating pair from the lab topology, the app's tables, and the app on mercury using mercury.
void PairWithApp() {
  App({"stop", "mercury"});  // whatever an earlier case left running (a start that timed out)
  lab::Reset(2);
  auto apply = lab::Replplan({"apply", lab::TopologyPath(), "--yes"});
  INFO("apply: " << apply.out << apply.err);
  REQUIRE(apply.exit_code == 0);
  RequireApp({"deploy", "mercury", "mercury"});
  RequireApp({"setup", "mercury"});
  RequireApp({"start", "mercury"});
}

replplan::Topology ParseFile(const std::string& path) {
  auto parse = replplan::ParseTopology(lab::ReadFile(path), path);
  INFO((parse.ok() ? std::string() : parse.errors.front().ToString()));
  REQUIRE(parse.ok());
  return parse.topology;
}

}  // namespace

TEST_CASE("writes through the app reach the replica; a read-only database makes /up 503 and refuses writes") {
  PairWithApp();
  AppOn app("mercury");

  for (int64_t seq = 1; seq <= 20; ++seq) {
    auto post = lab::app::Post("mercury", seq);
    INFO("seq " << seq << ": " << post.error);
    REQUIRE(post.ok);
    CHECK(post.id > 0);
  }
  std::vector<lab::app::Ack> acked;
  for (int64_t seq = 1; seq <= 20; ++seq) acked.push_back({seq, 0, Clock::now()});
  CHECK(lab::app::MissingOn("mercury", acked).empty());
  CHECK(lab::WaitFor([&] { return lab::app::MissingOn("uranus", acked).empty(); }, 10s));
  CHECK(lab::app::Up("mercury") == 200);

  SUBCASE("pointed at the replica (read_only) the app is down for writes; pointed back it works again") {
    PointAppAt("mercury", "uranus");
    RequireApp({"restart", "mercury"});
    CHECK(lab::app::Up("mercury") == 503);
    auto refused = lab::app::Post("mercury", 1000);
    CHECK_FALSE(refused.ok);
    CHECK(refused.status == 503);
    // The error class only: no host, user or password reaches a client.
    CHECK(refused.error.find("ActiveRecord::StatementInvalid") != std::string::npos);
    CHECK(refused.error.find(lab::SecretValue("app.pw")) == std::string::npos);
    CHECK(refused.error.find("pierre") == std::string::npos);

    PointAppAt("mercury", "mercury");
    RequireApp({"restart", "mercury"});
    CHECK(lab::app::Up("mercury") == 200);
    auto post = lab::app::Post("mercury", 1001);
    INFO(post.error);
    CHECK(post.ok);
  }

  SUBCASE("a database that dies and comes back: requests fail meanwhile, the same worker reconnects") {
    REQUIRE(lab::Lab({"kill", "mercury"}).exit_code == 0);
    CHECK(lab::app::Up("mercury") == 503);
    CHECK(lab::app::Post("mercury", 2000).status == 503);
    REQUIRE(lab::Lab({"start", "mercury"}).exit_code == 0);
    // The same worker reconnects, and finds the server fenced: apply keeps read_only=ON in every
    // my.cnf, so a restarted primary takes no write until it is made writable again at runtime.
    auto fenced = lab::app::Request("mercury", "GET", "/up");
    CHECK(fenced.status == 503);
    CHECK(fenced.body.find("read-only") != std::string::npos);
    lab::Sql("mercury", "SET GLOBAL read_only = 0");
    CHECK(lab::app::Up("mercury") == 200);
    CHECK(lab::app::Post("mercury", 2001).ok);
  }
}

TEST_CASE("the topology's restart command, run over SSH, hot-restarts that host's app without refusing a request") {
  PairWithApp();
  AppOn app("mercury");
  const std::string file = lab::WriteFile("app.toml", lab::ReadFile(lab::TopologyPath()));
  // The hot restart, not the default reload: this case is about puma's restart keeping its socket.
  RequireApp({"toml", file, "mercury"}, {"APP_RESTART=hot"});
  const replplan::Topology topology = ParseFile(file);
  REQUIRE(topology.apps.size() == 1);
  REQUIRE(topology.apps[0].restart.find("app.sh restart") != std::string::npos);
  const std::string pid = PumaPid("mercury");
  const int boots = Boots("mercury");

  lab::app::Writer writer("mercury");
  REQUIRE(lab::WaitFor([&] { return writer.Acknowledged().size() >= 5; }, 10s));
  const auto started = Clock::now();
  auto restart = lab::Ssh("mercury", topology.apps[0].restart);
  const auto finished = Clock::now();
  INFO("restart: " << restart.out << restart.err);
  REQUIRE(restart.exit_code == 0);
  CHECK(restart.out.empty());
  CHECK(restart.err.empty());
  // The restart returns once the new process serves: the next write succeeds at once.
  auto first = writer.FirstSuccessAfter(finished);
  CHECK(lab::WaitFor([&] { first = writer.FirstSuccessAfter(finished); return first.has_value(); }, 5s));
  writer.Stop();
  MESSAGE("hot restart over SSH took " << std::chrono::duration_cast<std::chrono::milliseconds>(finished - started).count()
                                       << " ms; " << writer.Acknowledged().size() << " writes acknowledged");
  // Requests that arrived during the boot waited in the kept socket's backlog: none was refused.
  for (const auto& failure : writer.Failures()) {
    INFO("seq " << failure.seq << ": " << failure.error);
    CHECK(false);
  }
  CHECK(lab::app::MissingOn("mercury", writer.Acknowledged()).empty());
  // A real restart: Rails booted once more, in the same process (puma re-executes itself).
  CHECK(Boots("mercury") == boots + 1);
  CHECK(PumaPid("mercury") == pid);
}

TEST_CASE("touching tmp/restart.txt makes the running app follow database.yml in process: no reboot, the next write "
          "lands on the new server") {
  PairWithApp();
  AppOn app("mercury");
  REQUIRE(lab::app::Post("mercury", 1).ok);
  DetachUranus();
  const std::string pid = PumaPid("mercury");
  const int boots = Boots("mercury");

  // database.yml now names uranus, as replplan's rewrite leaves it; nothing told the app yet. Both
  // servers take writes: the row shows where the app still writes.
  PointAppAt("mercury", "uranus");
  auto before = lab::app::Post("mercury", 2);
  REQUIRE_MESSAGE(before.ok, before.error);
  CHECK(HasSeq("mercury", 2));
  CHECK_FALSE(HasSeq("uranus", 2));
  CHECK(LogLines("mercury", "database configuration reloaded") == 0);

  RequireApp({"reload", "mercury"});
  auto after = lab::app::Post("mercury", 3);
  REQUIRE_MESSAGE(after.ok, after.error);
  CHECK(HasSeq("uranus", 3));
  CHECK_FALSE(HasSeq("mercury", 3));
  CHECK(lab::app::Up("mercury") == 200);
  // In process: the same puma, no boot of Rails since.
  CHECK(PumaPid("mercury") == pid);
  CHECK(Boots("mercury") == boots);
  // One line saying where it connects now; never the password.
  CHECK(LogLines("mercury", "database configuration reloaded: host " + lab::Address("uranus") + " port 3306") == 1);
  CHECK(LogLines("mercury", lab::SecretValue("app.pw")) == 0);

  SUBCASE("a second touch within the same second counts (the mtime is compared to the nanosecond)") {
    const std::string restart_txt = AppRoot("mercury") + "/tmp/restart.txt";
    // Two modification times in one second, set explicitly so the test does not depend on timing.
    lab::Run({"touch", "-d", "@1800000000.100000000", restart_txt});
    REQUIRE(lab::app::Post("mercury", 4).ok);  // this touch's reload (still uranus)
    CHECK(HasSeq("uranus", 4));
    PointAppAt("mercury", "mercury");
    lab::Run({"touch", "-d", "@1800000000.200000000", restart_txt});
    auto post = lab::app::Post("mercury", 5);
    REQUIRE_MESSAGE(post.ok, post.error);
    CHECK(HasSeq("mercury", 5));
    CHECK_FALSE(HasSeq("uranus", 5));
    CHECK(Boots("mercury") == boots);
  }

  SUBCASE("restart.txt deleted and created again counts; its removal alone reloads nothing") {
    const std::string restart_txt = AppRoot("mercury") + "/tmp/restart.txt";
    lab::Run({"rm", "-f", restart_txt});
    PointAppAt("mercury", "mercury");
    REQUIRE(lab::app::Post("mercury", 6).ok);
    CHECK(HasSeq("uranus", 6));  // no file, no reload: still the connection the last touch made
    RequireApp({"reload", "mercury"});
    REQUIRE(lab::app::Post("mercury", 7).ok);
    CHECK(HasSeq("mercury", 7));
    CHECK_FALSE(HasSeq("uranus", 7));
  }

  SUBCASE("a database.yml that does not parse: the error class is logged, the old connection kept, requests served") {
    const std::string good = lab::ReadFile(YmlPath("mercury"));
    lab::Run({"cp", lab::WriteFile("bad.yml", good + "production:\n  host: [unclosed\n"), YmlPath("mercury")});
    RequireApp({"reload", "mercury"});
    auto post = lab::app::Post("mercury", 8);
    REQUIRE_MESSAGE(post.ok, post.error);
    CHECK(HasSeq("uranus", 8));
    CHECK(lab::app::Up("mercury") == 200);
    CHECK(LogLines("mercury", "database configuration NOT reloaded (") == 1);
    CHECK(LogLines("mercury", "unclosed") == 0);  // the class only, not the message quoting the file
    // That touch is spent: a fixed file and a new touch move the app.
    lab::Run({"cp", lab::WriteFile("good.yml", good), YmlPath("mercury")});
    PointAppAt("mercury", "mercury");
    RequireApp({"reload", "mercury"});
    REQUIRE(lab::app::Post("mercury", 9).ok);
    CHECK(HasSeq("mercury", 9));
    CHECK_FALSE(HasSeq("uranus", 9));
    CHECK(Boots("mercury") == boots);
  }
}

TEST_CASE("the touch moves the app away from a server that died (kill -9) while the pool held connections to it") {
  PairWithApp();
  AppOn app("mercury");
  REQUIRE(lab::app::Post("mercury", 1).ok);
  DetachUranus();
  // Concurrent requests, so the pool holds several (now idle) connections to mercury.
  {
    std::vector<std::thread> clients;
    for (int64_t seq = 10; seq < 15; ++seq) clients.emplace_back([seq] { lab::app::Post("mercury", seq); });
    for (auto& c : clients) c.join();
  }
  const std::string pid = PumaPid("mercury");
  const int boots = Boots("mercury");
  PointAppAt("mercury", "uranus");
  REQUIRE(lab::Lab({"kill", "mercury"}).exit_code == 0);
  RequireApp({"reload", "mercury"});
  // Replacing the pool must not try to reach the dead server (Active Record's own disconnect
  // verifies, i.e. reconnects, each connection it closes).
  auto post = lab::app::Post("mercury", 2);
  REQUIRE_MESSAGE(post.ok, post.error);
  CHECK(HasSeq("uranus", 2));
  CHECK(lab::app::Up("mercury") == 200);
  CHECK(LogLines("mercury", "database configuration reloaded: host " + lab::Address("uranus")) == 1);
  CHECK(LogLines("mercury", "NOT") == 0);
  CHECK(PumaPid("mercury") == pid);
  CHECK(Boots("mercury") == boots);
}

TEST_CASE("the topology's default restart command, run over SSH, makes that host's app reload in process and follow "
          "database.yml") {
  PairWithApp();
  AppOn app("mercury");
  const std::string file = lab::WriteFile("app.toml", lab::ReadFile(lab::TopologyPath()));
  RequireApp({"toml", file, "mercury"}, {"APP_RESTART="});  // the default, whatever the caller exported
  const replplan::Topology topology = ParseFile(file);
  REQUIRE(topology.apps.size() == 1);
  CHECK(topology.apps[0].restart == "touch " + AppRoot("mercury") + "/tmp/restart.txt");
  REQUIRE(lab::app::Post("mercury", 1).ok);
  DetachUranus();
  const std::string pid = PumaPid("mercury");
  const int boots = Boots("mercury");
  PointAppAt("mercury", "uranus");

  // Writes keep coming while the command runs: none may fail, each lands on exactly one server.
  lab::app::Writer writer("mercury", 0ms, 100);
  REQUIRE(lab::WaitFor([&] { return writer.Acknowledged().size() >= 5; }, 10s));
  const auto started = Clock::now();
  auto restart = lab::Ssh("mercury", topology.apps[0].restart);
  const auto finished = Clock::now();
  INFO("restart: " << restart.out << restart.err);
  REQUIRE(restart.exit_code == 0);
  CHECK(restart.out.empty());
  CHECK(restart.err.empty());
  // A write sent after the command returned goes to uranus. Sent, not acknowledged: the request in
  // flight during the touch may still finish on mercury. It races the writer's requests for the
  // reload, and is answered within its 5 s timeout only because the reload drains the requests in
  // flight: establish_connection alone waits 10 s for the connection a request in flight holds.
  auto post = lab::app::Post("mercury", 1'000'000);
  const auto landed = Clock::now();
  REQUIRE_MESSAGE(post.ok, post.error);
  writer.Stop();
  CHECK(HasSeq("uranus", 1'000'000));
  CHECK_FALSE(HasSeq("mercury", 1'000'000));
  MESSAGE("touch over SSH took " << std::chrono::duration_cast<std::chrono::milliseconds>(finished - started).count()
                                 << " ms; the next write landed on uranus "
                                 << std::chrono::duration_cast<std::chrono::milliseconds>(landed - finished).count()
                                 << " ms after it returned; " << writer.Acknowledged().size()
                                 << " writes acknowledged by the writer");
  for (const auto& failure : writer.Failures()) {
    INFO("seq " << failure.seq << ": " << failure.error);
    CHECK(false);
  }
  // Every acknowledged write is on mercury (before the reload) or on uranus (after), and the
  // writer's writes moved: its last one is on uranus.
  const auto acks = writer.Acknowledged();
  REQUIRE_FALSE(acks.empty());
  const auto missing_mercury = lab::app::MissingOn("mercury", acks);
  const auto missing_uranus = lab::app::MissingOn("uranus", acks);
  const std::set<int64_t> not_on_mercury(missing_mercury.begin(), missing_mercury.end());
  const std::set<int64_t> not_on_uranus(missing_uranus.begin(), missing_uranus.end());
  for (const auto& ack : acks) {
    INFO("seq " << ack.seq);
    CHECK(not_on_mercury.count(ack.seq) + not_on_uranus.count(ack.seq) == 1);
  }
  CHECK(not_on_uranus.count(acks.back().seq) == 0);
  CHECK(lab::app::Up("mercury") == 200);
  CHECK(PumaPid("mercury") == pid);
  CHECK(Boots("mercury") == boots);
}

TEST_CASE("ReadState reads each app host's database.yml in the same SSH read: present, missing, or no app there") {
  lab::Reset(3);
  RequireApp({"deploy", "mercury", "mercury"});
  const std::string file = lab::WriteFile("apps.toml", lab::ReadFile(lab::TopologyPath()));
  RequireApp({"toml", file, "mercury", "uranus"});  // uranus: declared, never deployed
  REQUIRE(lab::Replplan({"validate", file}).exit_code == 0);
  const replplan::Topology topology = ParseFile(file);
  REQUIRE(topology.apps.size() == 2);

  replplan::LiveProvider provider;
  replplan::RawServerState mercury = provider.ReadState(topology, *topology.FindServer("mercury"));
  REQUIRE(mercury.app_configs.size() == 1);
  const replplan::LiveAppConfig& yml = mercury.app_configs[0];
  CHECK(yml.app == "secondhand");
  CHECK(yml.path == YmlPath("mercury"));
  CHECK(yml.read_ok);
  CHECK(yml.exists);
  CHECK(yml.text == lab::ReadFile(YmlPath("mercury")));  // byte for byte, comments and ERB included
  CHECK(replplan::ReadDatabaseYml(yml.text, "production").host.value == lab::Address("mercury"));
  CHECK(mercury.ssh_ok);
  CHECK(mercury.config_text == lab::ReadFile(lab::Dir() + "/hosts/mercury/my.cnf"));
  // The parsed state carries them too (engine/live_state.cc copies them).
  CHECK(replplan::ParseServerState(mercury).FindAppConfig("secondhand") != nullptr);

  replplan::RawServerState uranus = provider.ReadState(topology, *topology.FindServer("uranus"));
  REQUIRE(uranus.app_configs.size() == 1);
  CHECK(uranus.app_configs[0].app == "secondhand-uranus");
  CHECK(uranus.app_configs[0].read_ok);
  CHECK_FALSE(uranus.app_configs[0].exists);
  CHECK(uranus.app_configs[0].error.empty());

  CHECK(provider.ReadState(topology, *topology.FindServer("venus")).app_configs.empty());

  SUBCASE("an unreadable file is known as unreadable, not as missing; the config file still reads") {
    const std::string dir = lab::Dir() + "/hosts/uranus/app/config";
    lab::Run({"mkdir", "-p", dir + "/database.yml"});  // a directory where the file should be
    replplan::RawServerState again = provider.ReadState(topology, *topology.FindServer("uranus"));
    lab::Run({"rm", "-rf", lab::Dir() + "/hosts/uranus/app"});
    REQUIRE(again.app_configs.size() == 1);
    CHECK_FALSE(again.app_configs[0].read_ok);
    CHECK(again.app_configs[0].error.find("cannot read " + dir + "/database.yml") != std::string::npos);
    CHECK(again.ssh_ok);
    CHECK(again.config_exists);
  }

  SUBCASE("no SSH: nothing is known about the app file") {
    replplan::Topology cut = topology;
    replplan::ServerSpec& server = cut.servers[0];
    server.ssh.port = 1;  // nothing listens there
    replplan::RawServerState none = provider.ReadState(cut, server);
    REQUIRE(none.app_configs.size() == 1);
    CHECK_FALSE(none.app_configs[0].read_ok);
    CHECK_FALSE(none.app_configs[0].error.empty());
    CHECK_FALSE(none.ssh_ok);
  }
}
