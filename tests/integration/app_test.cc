// The real Secondhand Rails app (examples/secondhand, puma, Debian's Rails 6.1) on the lab, on top of
// a pair replplan applied: its writes reach the replica, its health check says whether its
// database takes writes, it follows config/database.yml (as replplan's own editor rewrites it)
// after the restart the topology's [[app]] names, and replplan's provider reads that file.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
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

lab::CommandResult App(const std::vector<std::string>& args) { return lab::app::Script(args); }

void RequireApp(const std::vector<std::string>& args) {
  auto result = App(args);
  INFO("app.sh " << args.front() << ": " << result.out << result.err);
  REQUIRE(result.exit_code == 0);
}

// Every test case leaves no puma behind, whatever fails.
struct AppOn {
  std::string host;
  explicit AppOn(std::string h) : host(std::move(h)) {}
  ~AppOn() { App({"stop", host}); }
};

std::string YmlPath(const std::string& host) { return lab::Dir() + "/hosts/" + host + "/app/config/database.yml"; }

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
  RequireApp({"toml", file, "mercury"});
  const replplan::Topology topology = ParseFile(file);
  REQUIRE(topology.apps.size() == 1);

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
