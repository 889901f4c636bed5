// The live executor's promotion and app actions against the real lab, each built by hand (as the
// planner will build them) and checked by reading the servers and files back through the lab's
// own clients: fencing makes the old primary refuse writes even with commits hanging in a
// semi-sync wait, and does so at once; a candidate catches up only with a fenced primary; a
// promoted replica is writable with no channel; a former primary rejoins from its own binlog; a
// failover candidate applies every event it received from a primary killed with -9; an app's
// database.yml is repointed atomically, the app restarted once and its health URL polled until it
// answers. Every action run a second time succeeds and changes nothing.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/app_restart_marker.h"
#include "engine/database_yml.h"
#include "integration/lab_client.h"
#include "providers/live_executor.h"

extern char** environ;

namespace {

using replplan::Action;
using replplan::Status;
using Clock = std::chrono::steady_clock;

const char* const kTable = "secondhand_production.items";

Action Make(const std::string& host, replplan::ActionArgs args) {
  Action a;
  a.SetArgs(std::move(args));
  a.host = host;
  a.id = host + "/" + replplan::ToString(a.kind);
  return a;
}

struct Ran {
  Status status;
  std::vector<std::string> lines;
  double seconds = 0;
  std::string all() const {
    std::string out = status.message();
    for (const std::string& l : lines) out += "\n" + l;
    return out;
  }
};

Ran Run(replplan::ActionExecutor& executor, const Action& action) {
  Ran ran;
  auto start = Clock::now();
  ran.status = executor.Execute(action, [&](const std::string& line) { ran.lines.push_back(line); });
  ran.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return ran;
}

void CheckNoSecretIn(const std::string& text) {
  for (const char* name : {"admin.pw", "repl.pw", "app.pw"}) {
    std::string secret = lab::SecretValue(name);
    REQUIRE(secret.size() >= 8);
    CHECK_MESSAGE(text.find(secret) == std::string::npos, "a secret leaked: " << text);
  }
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Fresh hosts made a replicating cluster by replplan itself, with a table to write to.
void ReplicatingPair(int hosts) {
  lab::Reset(hosts);
  auto applied = lab::Replplan({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.out << applied.err);
  lab::Sql("mercury", std::string("CREATE TABLE ") + kTable + " (id INT AUTO_INCREMENT PRIMARY KEY, seq INT NOT NULL)");
  REQUIRE(lab::WaitFor([] { return lab::SqlValue("uranus", std::string("SHOW TABLES FROM secondhand_production")) == "items"; },
                       std::chrono::seconds(10)));
}

// A write as the declared application account (no SUPER, so read_only applies to it).
lab::CommandResult AppWrite(const std::string& host, int seq) {
  return lab::Run({"mariadb", "--no-defaults", "-h", lab::Address(host), "-P", "3306", "-u", "pierre",
                   "--connect-timeout=5", "-N", "-B"},
                  std::string("INSERT INTO ") + kTable + " (seq) VALUES (" + std::to_string(seq) + ")",
                  {"MYSQL_PWD=" + lab::SecretValue("app.pw")});
}

std::string Count(const std::string& host) { return lab::SqlValue(host, std::string("SELECT COUNT(*) FROM ") + kTable); }

// Waits (10 s at most) until `host` has received everything up to `position` (its Gtid_IO_Pos).
bool Received(const std::string& host, const std::string& position) {
  return lab::WaitFor(
      [&] {
        auto status = lab::Run({"mariadb", "--no-defaults", "-S", lab::Dir() + "/hosts/" + host + "/mysqld.sock", "-u",
                                "root", "-e", "SHOW SLAVE STATUS\\G"});
        return Contains(status.out, "Gtid_IO_Pos: " + position);
      },
      std::chrono::seconds(10));
}

Action Fence() { return Make("mercury", replplan::FencePrimaryArgs{}); }

TEST_CASE("switchover by hand: catch-up refuses an unfenced primary; fence, catch up, promote, rejoin from binlog") {
  ReplicatingPair(2);
  auto executor = replplan::MakeLiveExecutor(lab::LoadTopology());
  Action catch_up = Make("uranus", replplan::WaitForCatchUpArgs{.source = "mercury", .timeout_s = 30});

  Ran early = Run(*executor, catch_up);
  REQUIRE_FALSE(early.status.ok());
  CHECK_MESSAGE(Contains(early.status.message(), "mercury is still writable: not fenced"), early.status.message());

  REQUIRE(AppWrite("mercury", 1).exit_code == 0);
  for (int round = 0; round < 2; ++round) {
    Ran fenced = Run(*executor, Fence());
    REQUIRE_MESSAGE(fenced.status.ok(), fenced.all());
    CHECK(lab::SqlValue("mercury", "SELECT @@read_only") == "1");
    auto refused = AppWrite("mercury", 2);
    CHECK(refused.exit_code != 0);
    CHECK_MESSAGE(Contains(refused.err, "read-only"), refused.err);
  }

  for (int round = 0; round < 2; ++round) {
    Ran caught = Run(*executor, catch_up);
    REQUIRE_MESSAGE(caught.status.ok(), caught.all());
    CHECK(lab::SqlValue("uranus", "SELECT @@gtid_slave_pos") == lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos"));
  }
  CHECK(Count("uranus") == "1");

  Action promote = Make("uranus", replplan::PromoteReplicaArgs{.source = "mercury"});
  for (int round = 0; round < 2; ++round) {
    Ran promoted = Run(*executor, promote);
    REQUIRE_MESSAGE(promoted.status.ok(), promoted.all());
    CHECK(lab::SqlValue("uranus", "SELECT @@read_only") == "0");
    CHECK(lab::Sql("uranus", "SHOW ALL SLAVES STATUS").empty());
  }
  std::string binlog_after_promote = lab::SqlValue("uranus", "SELECT @@gtid_binlog_pos");
  Ran again = Run(*executor, catch_up);  // after promotion: still satisfied, nothing written
  CHECK_MESSAGE(again.status.ok(), again.all());
  CHECK(lab::SqlValue("uranus", "SELECT @@gtid_binlog_pos") == binlog_after_promote);

  REQUIRE(AppWrite("uranus", 3).exit_code == 0);
  // The old primary never replicated: its gtid_slave_pos is empty, and a rejoin that used it would
  // fetch (and apply again) everything since the start of uranus's binlog.
  CHECK(lab::SqlValue("mercury", "SELECT @@gtid_slave_pos") != lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos"));
  Action rejoin = Make("mercury", replplan::ChangeSourceArgs{.source = "uranus",
                                                    .mode = replplan::ReplicationMode::kGtid,
                                                    .use_gtid = replplan::UseGtid::kSlavePos,
                                                    .position = replplan::StartPosition::kFromBinlog});
  Action start = Make("mercury", replplan::StartReplicaArgs{});
  for (int round = 0; round < 2; ++round) {
    Ran changed = Run(*executor, rejoin);
    REQUIRE_MESSAGE(changed.status.ok(), changed.all());
    CheckNoSecretIn(changed.all());
    Ran started = Run(*executor, start);
    REQUIRE_MESSAGE(started.status.ok(), started.all());
  }
  REQUIRE(AppWrite("uranus", 4).exit_code == 0);
  CHECK(lab::WaitFor([] { return Count("mercury") == "3"; }, std::chrono::seconds(10)));
  CHECK(lab::SqlValue("mercury", std::string("SELECT GROUP_CONCAT(seq ORDER BY seq) FROM ") + kTable) == "1,3,4");
}

TEST_CASE("fencing a semi-sync primary with a commit hanging for an ACK kills that session and is read-only at once") {
  ReplicatingPair(2);
  lab::Sql("mercury", "SET GLOBAL rpl_semi_sync_master_enabled = 1; SET GLOBAL rpl_semi_sync_master_timeout = 60000");
  lab::Sql("uranus", "SET GLOBAL rpl_semi_sync_slave_enabled = 1; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD");
  // The replica has registered as a semi-sync client (the second column of SHOW STATUS).
  REQUIRE(lab::WaitFor([] {
    auto rows = lab::Sql("mercury", "SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'");
    return rows.size() == 1 && rows[0].size() == 2 && rows[0][1] != "0";
  }, std::chrono::seconds(5)));
  lab::Sql("uranus", "STOP SLAVE IO_THREAD");

  lab::CommandResult hung;
  std::jthread client([&] { hung = AppWrite("mercury", 7); });
  bool waiting = lab::WaitFor(
      [] {
        return lab::SqlValue("mercury", "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                        "WHERE STATE LIKE 'Waiting for semi-sync ACK%'") == "1";
      },
      std::chrono::seconds(10));
  if (!waiting) {
    lab::Sql("mercury", "SET GLOBAL rpl_semi_sync_master_enabled = 0");
    client.join();
    FAIL("the INSERT never waited for a semi-sync ACK");
  }

  auto executor = replplan::MakeLiveExecutor(lab::LoadTopology());
  Ran fenced = Run(*executor, Fence());
  client.join();
  lab::Sql("mercury", "SET GLOBAL rpl_semi_sync_master_enabled = 0");
  REQUIRE_MESSAGE(fenced.status.ok(), fenced.all());
  // Far below the 60 s the hanging commit would wait for its ACK: the fence did not wait for it.
  // (How fast it is, is bench/failover_times.sh's business; this bound only tells the two apart.)
  CHECK_MESSAGE(fenced.seconds < 5.0, "fencing took " << fenced.seconds << " s");
  CHECK(lab::SqlValue("mercury", "SELECT @@read_only") == "1");
  CHECK_MESSAGE(hung.exit_code != 0, "the hanging INSERT was acknowledged: " << hung.out);
  CHECK_MESSAGE(Contains(fenced.all(), "killed 1 session(s) waiting for a semi-sync ACK"), fenced.all());
  // The killed commit is in mercury's binlog all the same: the replica gets it once it reconnects.
  lab::Sql("uranus", "START SLAVE IO_THREAD");
  CHECK(lab::WaitFor([] { return Count("uranus") == "1"; }, std::chrono::seconds(10)));

  Ran again = Run(*executor, Fence());
  CHECK_MESSAGE(again.status.ok(), again.all());
  CHECK(again.lines.empty());
}

TEST_CASE("failover candidate: apply-relay-log applies every received event of a primary killed with -9") {
  ReplicatingPair(2);
  lab::Sql("uranus", "STOP SLAVE SQL_THREAD");
  std::string inserts;
  for (int i = 1; i <= 200; ++i) inserts += std::string("INSERT INTO ") + kTable + " (seq) VALUES (" + std::to_string(i) + ");";
  lab::Sql("mercury", inserts);
  std::string written = lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos");
  REQUIRE(Received("uranus", written));
  REQUIRE(Count("uranus") == "0");
  // MariaDB discards a GTID replica's relay log when a thread starts while both are stopped: the
  // case of a replica whose IO thread was stopped too (an earlier run, or by hand).
  SUBCASE("IO thread still running (retrying the dead primary)") {}
  SUBCASE("both threads stopped") { lab::Sql("uranus", "STOP SLAVE IO_THREAD"); }
  REQUIRE(lab::Lab({"kill", "mercury"}).exit_code == 0);

  auto executor = replplan::MakeLiveExecutor(lab::LoadTopology());
  Action apply = Make("uranus", replplan::ApplyRelayLogArgs{.source = "mercury", .timeout_s = 30});
  for (int round = 0; round < 2; ++round) {
    Ran applied = Run(*executor, apply);
    REQUIRE_MESSAGE(applied.status.ok(), applied.all());
    CHECK(Count("uranus") == "200");
    CHECK(lab::SqlValue("uranus", "SELECT @@gtid_slave_pos") == written);
  }
  Ran promoted = Run(*executor, Make("uranus", replplan::PromoteReplicaArgs{.source = "mercury"}));
  REQUIRE_MESSAGE(promoted.status.ok(), promoted.all());
  REQUIRE(AppWrite("uranus", 201).exit_code == 0);
  Ran after = Run(*executor, apply);  // promoted: nothing left to apply, nothing to fail
  CHECK_MESSAGE(after.status.ok(), after.all());
  REQUIRE(lab::Lab({"start", "mercury"}).exit_code == 0);
}

// Thaws a frozen lab host when the test ends, however it ends.
struct Thaw {
  std::string host;
  ~Thaw() { lab::Lab({"thaw", host}); }
};

// The IO thread's state on a replica, as SHOW PROCESSLIST shows it ("" when there is none).
std::string IoThreadState(const std::string& host) {
  return lab::SqlValue(host, "SELECT STATE FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'");
}

TEST_CASE("a frozen primary (SIGSTOP): apply-relay-log and the other replica's change-source kill the IO threads "
          "waiting on it instead of STOP SLAVE's 2 s wait; every received row applied, the new pair replicates") {
  ReplicatingPair(3);
  // Semi-sync, as a failover's cluster runs: a semi-sync replica's STOP SLAVE also connects to its
  // source to end its dump thread, which is what waits 2 s on a frozen one (measured, docs/failover.md).
  lab::Sql("mercury", "SET GLOBAL rpl_semi_sync_master_enabled = 1");
  for (const char* host : {"uranus", "venus"}) {
    lab::Sql(host, "SET GLOBAL rpl_semi_sync_slave_enabled = 1; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD");
  }
  REQUIRE(lab::WaitFor(
      [] { return lab::SqlValue("mercury", "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                                           "WHERE VARIABLE_NAME = 'Rpl_semi_sync_master_clients'") == "2"; },
      std::chrono::seconds(10)));
  lab::Sql("uranus", "STOP SLAVE SQL_THREAD");  // received, not applied: apply-relay-log must apply them
  std::string inserts;
  for (int i = 1; i <= 200; ++i) inserts += std::string("INSERT INTO ") + kTable + " (seq) VALUES (" + std::to_string(i) + ");";
  lab::Sql("mercury", inserts);
  const std::string written = lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos");
  REQUIRE(lab::WaitFor([&] { return lab::SqlValue("venus", "SELECT @@gtid_slave_pos") == written; }, std::chrono::seconds(10)));
  REQUIRE(Received("uranus", written));
  REQUIRE(Count("uranus") == "0");
  for (const char* host : {"uranus", "venus"}) REQUIRE(IoThreadState(host) == "Waiting for master to send event");

  // Frozen, its sockets open: the replicas' IO threads wait on it (until slave_net_timeout, 5 s).
  REQUIRE(lab::Lab({"freeze", "mercury"}).exit_code == 0);
  Thaw thaw{"mercury"};
  // A second of silence, as a failover's detection and confirmation take, within slave_net_timeout.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  REQUIRE(IoThreadState("uranus") == "Waiting for master to send event");
  auto executor = replplan::MakeLiveExecutor(lab::LoadTopology());
  Ran applied = Run(*executor, Make("uranus", replplan::ApplyRelayLogArgs{.source = "mercury", .timeout_s = 30}));
  Ran changed = Run(*executor, Make("venus", replplan::ChangeSourceArgs{.source = "uranus",
                                                                        .mode = replplan::ReplicationMode::kGtid,
                                                                        .use_gtid = replplan::UseGtid::kSlavePos}));
  MESSAGE("frozen primary: apply-relay-log " << applied.seconds << " s, change-source " << changed.seconds
                                             << " s (STOP SLAVE alone: 2 s each)\n" << applied.all() << "\n"
                                             << changed.all());
  REQUIRE_MESSAGE(applied.status.ok(), applied.all());
  REQUIRE_MESSAGE(changed.status.ok(), changed.all());
  // The mechanism: each IO thread was killed, then stopped.
  auto killed = [](const Ran& ran, const std::string& stop) {
    for (const std::string& line : ran.lines) {
      if (Contains(line, "killed, then " + stop + " in ")) return true;
    }
    return false;
  };
  CHECK_MESSAGE(killed(applied, "STOP SLAVE IO_THREAD"), applied.all());
  CHECK_MESSAGE(killed(changed, "STOP SLAVE"), changed.all());
  // Generous: the old STOP SLAVE waited 2.0 s by itself (the semi-sync replica's connection to its
  // frozen source), whatever the load.
  CHECK(applied.seconds < 1.5);
  CHECK(changed.seconds < 1.5);
  CHECK(Count("uranus") == "200");
  CHECK(lab::SqlValue("uranus", "SELECT @@gtid_slave_pos") == written);

  Ran promoted = Run(*executor, Make("uranus", replplan::PromoteReplicaArgs{.source = "mercury"}));
  REQUIRE_MESSAGE(promoted.status.ok(), promoted.all());
  Ran started = Run(*executor, Make("venus", replplan::StartReplicaArgs{}));
  REQUIRE_MESSAGE(started.status.ok(), started.all());
  REQUIRE(AppWrite("uranus", 201).exit_code == 0);
  CHECK(lab::WaitFor([] { return Count("venus") == "201"; }, std::chrono::seconds(10)));
}

TEST_CASE("catch-up fails at once, naming the error, when the candidate's SQL thread stopped with an error") {
  ReplicatingPair(2);
  // A row on the replica only: the same insert from the primary then fails with a duplicate key.
  lab::Sql("uranus", std::string("SET sql_log_bin = 0; INSERT INTO ") + kTable + " (id, seq) VALUES (1, 0)");
  lab::Sql("mercury", std::string("INSERT INTO ") + kTable + " (id, seq) VALUES (1, 1)");
  auto executor = replplan::MakeLiveExecutor(lab::LoadTopology());
  REQUIRE(Run(*executor, Fence()).status.ok());
  Ran caught = Run(*executor, Make("uranus", replplan::WaitForCatchUpArgs{.source = "mercury", .timeout_s = 60}));
  REQUIRE_FALSE(caught.status.ok());
  CHECK(caught.seconds < 10);
  CHECK_MESSAGE(Contains(caught.status.message(), "Last_SQL_Errno 1062"), caught.status.message());
  CHECK_MESSAGE(Contains(caught.status.message(), "mercury stays read-only"), caught.status.message());
  CheckNoSecretIn(caught.all());
}

// `python3 -m http.server` on the lab address, stopped by its PID.
class HttpServer {
 public:
  HttpServer(const std::string& dir, int port) {
    std::vector<std::string> args = {"/usr/bin/python3", "-m", "http.server", std::to_string(port), "--bind",
                                     lab::Address("mercury"), "--directory", dir};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid_, argv[0], &files, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    if (rc != 0) pid_ = -1;
  }
  ~HttpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

TEST_CASE("an app follows the new primary: database.yml rewritten atomically, app restarted once, health polled") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  const int port = 18080;
  std::string root = lab::Dir() + "/tmp/secondhand";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/config");
  std::filesystem::create_directories(root + "/public");
  std::filesystem::create_directories(root + "/tmp");
  const std::string yml = root + "/config/database.yml";
  const std::string original =
      "# Secondhand's databases\n"
      "default: &default\n"
      "  adapter: mysql2\n"
      "  host: 127.0.0.1\n"
      "  port: 3307\n"
      "  username: pierre\n"
      "development:\n"
      "  <<: *default\n"
      "  database: secondhand_development\n"
      "production:\n"
      "  <<: *default\n"
      "  host: 127.0.0.1  # the primary\n"
      "  database: secondhand_production\n"
      "  password: <%= ENV[\"SECONDHAND_DATABASE_PASSWORD\"] %>\n";
  lab::Run({"sh", "-c", "printf %s \"$1\" > \"$2\" && chmod 0640 \"$2\"", "sh", original, yml});
  lab::Run({"sh", "-c", "echo ok > \"$1\"", "sh", root + "/public/up"});

  replplan::AppSpec app;
  app.name = "secondhand";
  app.hosts = {"mercury"};
  app.root = root;
  app.environment = "production";
  app.restart = "touch " + root + "/tmp/restart.txt";
  app.health = "http://" + lab::Address("mercury") + ":" + std::to_string(port) + "/up";
  topology.apps.push_back(app);
  replplan::AppSpec broken = app;
  broken.name = "broken";
  broken.health = "http://" + lab::Address("mercury") + ":" + std::to_string(port) + "/missing";
  topology.apps.push_back(broken);
  replplan::AppSpec secure = app;
  secure.name = "secure";
  secure.health = "https://" + lab::Address("mercury") + ":" + std::to_string(port + 1) + "/up";
  topology.apps.push_back(secure);
  auto executor = replplan::MakeLiveExecutor(topology);

  Action rewrite = Make("mercury", replplan::RewriteAppConfigArgs{.app = "secondhand", .primary = "uranus"});
  Ran rewritten = Run(*executor, rewrite);
  REQUIRE_MESSAGE(rewritten.status.ok(), rewritten.all());
  std::string now = lab::ReadFile(yml);
  auto settings = replplan::ReadDatabaseYml(now, "production");
  CHECK(settings.host.value == lab::Address("uranus"));
  CHECK(settings.port.value == "3306");
  CHECK(replplan::ReadDatabaseYml(now, "development").host.value == "127.0.0.1");  // shared default untouched
  CHECK(Contains(now, "# the primary"));
  CHECK(Contains(now, "<%= ENV[\"SECONDHAND_DATABASE_PASSWORD\"] %>"));
  CHECK(lab::ReadFile(yml + ".replplan.bak") == original);
  struct stat st {};
  REQUIRE(::stat(yml.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  auto mtime = std::filesystem::last_write_time(yml);
  Ran second = Run(*executor, rewrite);
  CHECK_MESSAGE(second.status.ok(), second.all());
  CHECK(std::filesystem::last_write_time(yml) == mtime);

  Action restart = Make("mercury", replplan::RestartAppArgs{.app = "secondhand"});
  Ran restarted = Run(*executor, restart);
  REQUIRE_MESSAGE(restarted.status.ok(), restarted.all());
  CHECK(std::filesystem::exists(root + "/tmp/restart.txt"));
  std::filesystem::remove(root + "/tmp/restart.txt");
  Ran not_again = Run(*executor, restart);
  CHECK_MESSAGE(not_again.status.ok(), not_again.all());
  CHECK_MESSAGE(Contains(not_again.all(), "already restarted"), restarted.all() << "\n--\n" << not_again.all());
  CHECK_MESSAGE(!std::filesystem::exists(root + "/tmp/restart.txt"), "restarted a second time for the same database.yml");
  // Another primary, another file: restarted again.
  REQUIRE(Run(*executor, Make("mercury", replplan::RewriteAppConfigArgs{.app = "secondhand", .primary = "mercury"}))
              .status.ok());
  REQUIRE(Run(*executor, restart).status.ok());
  CHECK(std::filesystem::exists(root + "/tmp/restart.txt"));

  Action failing_restart = restart;
  replplan::Topology bad_topology = topology;
  bad_topology.apps[0].restart = "echo 'puma: no such service' >&2; exit 3";
  std::filesystem::remove(yml + ".replplan.restarted");
  Ran failed = Run(*replplan::MakeLiveExecutor(bad_topology), failing_restart);
  REQUIRE_FALSE(failed.status.ok());
  CHECK_MESSAGE(Contains(failed.status.message(), "exit 3"), failed.status.message());
  CHECK_MESSAGE(Contains(failed.status.message(), "puma: no such service"), failed.status.message());

  // Health: nothing listens yet, so a short check fails naming the URL; then the server comes up
  // while a check polls, and the check succeeds.
  // check-health's bound is the executor's (a minute); these checks that must fail wait 1 s.
  auto impatient = replplan::MakeLiveExecutor(topology, nullptr, {.health_timeout_s = 1});
  Action health = Make("mercury", replplan::CheckHealthArgs{.app = "secondhand"});
  Ran down = Run(*impatient, health);
  REQUIRE_FALSE(down.status.ok());
  CHECK_MESSAGE(Contains(down.status.message(), app.health), down.status.message());
  CHECK_MESSAGE(Contains(down.status.message(), "refused"), down.status.message());
  CHECK(down.seconds < 3);

  Ran up;
  Action patient = Make("mercury", replplan::CheckHealthArgs{.app = "secondhand"});
  std::jthread checker([&] { up = Run(*executor, patient); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  {
    HttpServer server(root + "/public", port);
    REQUIRE(server.started());
    checker.join();
    REQUIRE_MESSAGE(up.status.ok(), up.all());
    CHECK(up.seconds >= 0.7);
    CHECK(up.seconds < 10);
    REQUIRE(up.lines.size() == 1);
    CHECK_MESSAGE(Contains(up.lines[0], "healthy after"), up.lines[0]);
    Ran twice = Run(*executor, patient);
    CHECK_MESSAGE(twice.status.ok(), twice.all());

    Ran missing = Run(*impatient, Make("mercury", replplan::CheckHealthArgs{.app = "broken"}));
    REQUIRE_FALSE(missing.status.ok());
    CHECK_MESSAGE(Contains(missing.status.message(), "HTTP 404"), missing.status.message());

    // https goes through curl on the app host; nothing speaks TLS on that port: curl's error shows.
    Ran tls = Run(*impatient, Make("mercury", replplan::CheckHealthArgs{.app = "secure"}));
    REQUIRE_FALSE(tls.status.ok());
    CHECK_MESSAGE(Contains(tls.status.message(), "curl exit 7"), tls.status.message());
  }

  Ran stale = Run(*executor, Make("uranus", replplan::RestartAppArgs{.app = "secondhand"}));
  REQUIRE_FALSE(stale.status.ok());
  CHECK_MESSAGE(Contains(stale.status.message(), "stale plan"), stale.status.message());
}

// The restart marker lives in the app's config directory, which the app's user may write to. An
// app "marked" on mercury with a database.yml of its own; its restart touches tmp/restart.txt.
struct MarkedApp {
  std::string root = lab::Dir() + "/tmp/marked";
  std::string yml = root + "/config/database.yml";
  std::string marker = yml + ".replplan.restarted";
  std::unique_ptr<replplan::ActionExecutor> executor;
  Action restart = Make("mercury", replplan::RestartAppArgs{.app = "marked"});

  MarkedApp() {
    lab::Reset(1);
    replplan::Topology topology = lab::LoadTopology();
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root + "/config");
    std::filesystem::create_directories(root + "/tmp");
    Put(File("mercury", "ab3de"));
    replplan::AppSpec app;
    app.name = "marked";
    app.hosts = {"mercury"};
    app.root = root;
    app.environment = "production";
    app.restart = "touch " + root + "/tmp/restart.txt";
    topology.apps.push_back(app);
    executor = replplan::MakeLiveExecutor(topology);
  }
  static std::string File(const std::string& host, const std::string& password) {
    return "production:\n  adapter: mysql2\n  host: " + lab::Address(host) +
           "\n  port: 3306\n  username: pierre\n  password: " + password + "\n";
  }
  void Put(const std::string& text) { lab::Run({"sh", "-c", "printf %s \"$1\" > \"$2\"", "sh", text, yml}); }
  // Whether the app was restarted since the last call.
  bool Restarted() {
    bool yes = std::filesystem::exists(root + "/tmp/restart.txt");
    std::filesystem::remove(root + "/tmp/restart.txt");
    return yes;
  }
};

TEST_CASE("a symlink planted at the restart marker's name is refused, and the file it points at untouched") {
  MarkedApp app;
  // To a root-owned file outside the app. The app is restarted (that is what was asked), the
  // marker refused, naming the fix.
  const std::string victim = lab::Dir() + "/tmp/victim";
  lab::Run({"sh", "-c", "printf 'root:precious\\n' > \"$1\" && chmod 0644 \"$1\"", "sh", victim});
  std::filesystem::create_symlink(victim, app.marker);
  Ran refused = Run(*app.executor, app.restart);
  CHECK_FALSE(refused.status.ok());
  CHECK_MESSAGE(Contains(refused.status.message(), "is not a regular file"), refused.status.message());
  CHECK_MESSAGE(Contains(refused.status.message(), "remove it"), refused.status.message());
  CHECK(app.Restarted());
  CHECK(lab::ReadFile(victim) == "root:precious\n");
  CHECK(std::filesystem::is_symlink(app.marker));
  // Removed as told: the next run restarts again (no marker was written) and writes the marker.
  std::filesystem::remove(app.marker);
  Ran next = Run(*app.executor, app.restart);
  CHECK_MESSAGE(next.status.ok(), next.all());
  CHECK(app.Restarted());
  CHECK_FALSE(std::filesystem::is_symlink(app.marker));
  std::filesystem::remove(victim);
}

TEST_CASE("the restart marker is 0600 and root's, holds no digest of the password, and still restarts once per file") {
  MarkedApp app;
  Ran first = Run(*app.executor, app.restart);
  REQUIRE_MESSAGE(first.status.ok(), first.all());
  CHECK(app.Restarted());
  struct stat st {};
  REQUIRE(::lstat(app.marker.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == 0u);
  const std::string mark = lab::ReadFile(app.marker);
  Ran again = Run(*app.executor, app.restart);
  CHECK_MESSAGE(Contains(again.all(), "already restarted"), again.all());
  CHECK_FALSE(app.Restarted());

  // Nothing in it depends on the password: a file that differs in the password alone leaves the
  // same marker (so the password cannot be brute-forced from it), and no FNV-1a of the file.
  app.Put(MarkedApp::File("mercury", "zz9yx"));
  std::filesystem::remove(app.marker);
  REQUIRE(Run(*app.executor, app.restart).status.ok());
  CHECK(app.Restarted());
  CHECK(lab::ReadFile(app.marker) == mark);
  CHECK_FALSE(Contains(mark, replplan::LegacyAppRestartDigest(MarkedApp::File("mercury", "zz9yx"))));
  CHECK_FALSE(Contains(mark, replplan::LegacyAppRestartDigest(MarkedApp::File("mercury", "ab3de"))));

  // A marker an older replplan wrote (FNV-1a of the whole file, 0644) counts as restarted, and is
  // rewritten in today's form.
  lab::Run({"sh", "-c", "printf '%s\\n' \"$1\" > \"$2\" && chmod 0644 \"$2\"", "sh",
            "fnv1a64:" + replplan::LegacyAppRestartDigest(MarkedApp::File("mercury", "zz9yx")), app.marker});
  Ran legacy = Run(*app.executor, app.restart);
  CHECK_MESSAGE(legacy.status.ok(), legacy.all());
  CHECK_MESSAGE(Contains(legacy.all(), "already restarted"), legacy.all());
  CHECK_FALSE(app.Restarted());
  CHECK(lab::ReadFile(app.marker) == mark);
  REQUIRE(::lstat(app.marker.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  // Another primary (another host in the file): restarted again.
  app.Put(MarkedApp::File("uranus", "zz9yx"));
  REQUIRE(Run(*app.executor, app.restart).status.ok());
  CHECK(app.Restarted());
  CHECK(lab::ReadFile(app.marker) != mark);
}

}  // namespace
