// The live executor on the fake server (providers/testing/fake_server.h): faults at a chosen step,
// what was executed, and what the apply report says. No server, no sshd.
#include "providers/live_executor.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/app_restart_marker.h"
#include "engine/applier.h"
#include "engine/mysql_errors.h"
#include "providers/standby_shell.h"
#include "providers/testing/fake_server.h"
#include "providers/testing/fake_topology.h"

namespace replplan {
namespace {

using Lines = std::vector<std::string>;

constexpr const char* kAppPassword = "app-db-pw-c41e8b";

PlannedAction Planned(const std::string& id, const std::string& host, ActionArgs args,
                      std::vector<std::string> depends_on = {}) {
  PlannedAction pa;
  pa.action.id = id;
  pa.action.host = host;
  pa.action.summary = id;
  pa.action.SetArgs(std::move(args));
  pa.depends_on = std::move(depends_on);
  return pa;
}

ApplyReport Apply(ActionExecutor& executor, std::vector<PlannedAction> actions) {
  Plan plan;
  plan.cluster = "fake";
  plan.actions = std::move(actions);
  return ApplyPlan(plan, executor, 2, nullptr);
}

const ActionOutcome& OutcomeOf(const ApplyReport& report, const std::string& id) {
  for (const ActionOutcome& o : report.outcomes) {
    if (o.id == id) return o;
  }
  FAIL("no outcome for " << id);
  return report.outcomes.front();
}

// StopReplicaNow's read of the IO thread's connection (providers/steps/steps.h).
constexpr const char* kIoThreadQuery = "SELECT ID, STATE FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'";

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void CheckNoSecret(const std::string& text) {
  CHECK_FALSE(Contains(text, kFakeAdminPassword));
  CHECK_FALSE(Contains(text, kFakeReplPassword));
  CHECK_FALSE(Contains(text, kAppPassword));
}

const std::string kDatabaseYml = std::string(
                                     "production:\n"
                                     "  adapter: mysql2\n"
                                     "  host: 127.0.0.1\n"
                                     "  port: 3306\n"
                                     "  password: ") +
                                 kAppPassword + "\n";

// What the sessions a factory handed out were asked, each verb tagged with its session's number,
// and whether any session was ever used by two threads at once (neither a MYSQL nor a libssh2
// session may be). `before` runs before each verb is passed on, outside the lock.
struct SessionWatch {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, std::string>> verbs;  // session number, "sql: START SLAVE" / "write: <path>"
  std::set<std::string> done;                     // verbs that have returned
  bool shared_use = false;
  std::function<void(const std::string& verb)> before;
};

// A fake's session, watched (SessionWatch).
class WatchedSession : public ServerSession {
 public:
  WatchedSession(std::unique_ptr<ServerSession> inner, int number, SessionWatch& watch)
      : inner_(std::move(inner)), number_(number), watch_(watch) {}

 private:
  // Every verb goes through here (defined before its callers: its return type is deduced).
  template <typename F>
  auto Use(const std::string& verb, F run) {
    {
      std::lock_guard<std::mutex> lock(watch_.mu);
      watch_.verbs.emplace_back(number_, verb);
      if (users_.fetch_add(1) > 0) watch_.shared_use = true;
    }
    if (watch_.before) watch_.before(verb);
    auto result = run();
    {
      std::lock_guard<std::mutex> lock(watch_.mu);
      users_.fetch_sub(1);
      watch_.done.insert(verb);
    }
    watch_.cv.notify_all();
    return result;
  }

 public:
  const std::string& name() const override { return inner_->name(); }
  std::string Endpoint() const override { return inner_->Endpoint(); }
  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<const Secret*>& also_redact,
                                 const std::string& what) override {
    return Use("sql: " + sql, [&] { return inner_->Query(sql, also_redact, what); });
  }
  Status ConnectSql(int connect_timeout_ms) override {
    return Use("connect sql", [&] { return inner_->ConnectSql(connect_timeout_ms); });
  }
  void DropSql() override {
    Use("drop sql", [&] {
      inner_->DropSql();
      return 0;
    });
  }
  bool sql_connected() const override { return inner_->sql_connected(); }
  Status SendQuery(const std::string& sql) override {
    return Use("send: " + sql, [&] { return inner_->SendQuery(sql); });
  }
  bool AnswerWaiting(int timeout_ms) override {
    return Use("answer waiting", [&] { return inner_->AnswerWaiting(timeout_ms); });
  }
  Result<std::vector<Row>> ReadAnswer() override {
    return Use("read answer", [&] { return inner_->ReadAnswer(); });
  }
  Status ConnectSsh() override {
    return Use("connect ssh", [&] { return inner_->ConnectSsh(); });
  }
  Result<ExecResult> Run(const std::string& command, std::string_view input) override {
    return Use("run: " + command, [&] { return inner_->Run(command, input); });
  }
  Result<std::vector<FileRead>> ReadFiles(const std::vector<std::string>& paths) override {
    return Use("read: " + (paths.empty() ? std::string() : paths.front()), [&] { return inner_->ReadFiles(paths); });
  }
  Status AtomicWrite(const std::string& path, std::string_view content, const AtomicWriteOptions& options) override {
    return Use("write: " + path, [&] { return inner_->AtomicWrite(path, content, options); });
  }
  Result<std::vector<DirRead>> ListDirectories(const std::vector<std::string>& dirs) override {
    return Use("list: " + (dirs.empty() ? std::string() : dirs.front()), [&] { return inner_->ListDirectories(dirs); });
  }
  Result<std::unique_ptr<RemoteCommand>> StartCommand(const std::string& command) override {
    return Use("start: " + command, [&] { return inner_->StartCommand(command); });
  }
  std::unique_ptr<RemoteCommand> TakeStartedCommand(const std::string& tag) override {
    return Use("take: " + tag, [&] { return inner_->TakeStartedCommand(tag); });
  }

 private:
  std::unique_ptr<ServerSession> inner_;
  const int number_;
  SessionWatch& watch_;
  std::atomic<int> users_{0};
};

class WatchedFactory : public SessionFactory {
 public:
  WatchedFactory(FakeSessionFactory& fake, SessionWatch& watch) : fake_(fake), watch_(watch) {}
  std::unique_ptr<ServerSession> Open(const ServerSpec& server, const SessionLimits& limits) override {
    return std::make_unique<WatchedSession>(fake_.Open(server, limits), ++opened_, watch_);
  }

 private:
  FakeSessionFactory& fake_;
  SessionWatch& watch_;
  std::atomic<int> opened_{0};
};

}  // namespace

TEST_CASE("an app's rewrite on a host runs beside a server action on that host, on a session of its own") {
  // uranus is a replica starting to follow mercury, and the app on it is repointed to mercury at the
  // same time (a failover's two branches on one host). START SLAVE is held until database.yml has
  // been written: an executor that ran the two one after the other would hold it to the deadline.
  Topology topology = FakeTopology();
  const std::string yml = topology.apps.front().DatabaseYmlPath();
  const std::string old_yml = "production:\n  adapter: mysql2\n  host: 127.0.0.9\n  port: 3306\n";
  FakeSessionFactory fake;
  FakeServer& uranus = fake.server("uranus");
  uranus.replica = FakeServer::ReplicaRow("127.0.0.1", 3306, "repl");
  (*uranus.replica)["Slave_IO_Running"] = "No";
  (*uranus.replica)["Slave_SQL_Running"] = "No";
  uranus.files[yml] = old_yml;
  SessionWatch watch;
  bool written_while_held = false;
  watch.before = [&](const std::string& verb) {
    if (verb != "sql: START SLAVE") return;
    std::unique_lock<std::mutex> lock(watch.mu);
    written_while_held =
        watch.cv.wait_for(lock, std::chrono::seconds(10), [&] { return watch.done.count("write: " + yml) > 0; });
  };
  WatchedFactory factory(fake, watch);
  auto executor = MakeLiveExecutor(topology, factory);

  ApplyReport report = Apply(*executor, {Planned("uranus/start-replica", "uranus", StartReplicaArgs{}),
                                         Planned("uranus/rewrite-app-config/shop", "uranus",
                                                 RewriteAppConfigArgs{.app = "shop", .primary = "mercury"})});
  CHECK(RenderApplyReport(report) == "Apply complete: 2 actions done.\n");
  CHECK(written_while_held);
  CHECK(Contains(uranus.files.at(yml), "host: 127.0.0.1\n"));
  CHECK(uranus.replica->at("Slave_IO_Running") == "Yes");

  // Every SQL verb (start-replica's) on one session, every file verb (the rewrite's) on another.
  std::lock_guard<std::mutex> lock(watch.mu);
  CHECK_FALSE(watch.shared_use);
  std::set<int> sql_sessions, file_sessions;
  for (const auto& [session, verb] : watch.verbs) {
    bool file = verb.rfind("read: ", 0) == 0 || verb.rfind("write: ", 0) == 0 || verb == "connect ssh";
    (file ? file_sessions : sql_sessions).insert(session);
  }
  CHECK(sql_sessions.size() == 1);
  CHECK(file_sessions.size() == 1);
  CHECK(sql_sessions != file_sessions);
}

TEST_CASE("change-source on a replica whose STOP SLAVE blocks past the read timeout stops there, and says so") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  uranus.default_read_timeout_ms = 200;  // the connection's read timeout (Connector/C's, on the real one)
  uranus.replica = FakeServer::ReplicaRow("127.0.0.9", 3306, "repl");  // another source: the change is needed
  (*uranus.replica)["Slave_IO_State"] = "Reconnecting after a failed master event read";  // no KILL: plain STOP
  uranus.Freeze("STOP SLAVE", std::chrono::seconds(10));
  auto executor = MakeLiveExecutor(topology, factory);

  const auto start = std::chrono::steady_clock::now();
  ApplyReport report = Apply(
      *executor,
      {Planned("uranus/change-source", "uranus",
               ChangeSourceArgs{.source = "mercury", .mode = ReplicationMode::kGtid, .use_gtid = UseGtid::kSlavePos}),
       Planned("uranus/start-replica", "uranus", StartReplicaArgs{}, {"uranus/change-source"})});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));  // bounded by the timeout, not the freeze

  // Exactly these reached the server: no CHANGE MASTER, no START SLAVE after the blocked STOP.
  CHECK(uranus.statements() == Lines{"SHOW SLAVE STATUS", "SHOW ALL SLAVES STATUS", "STOP SLAVE"});
  CHECK(uranus.replica->at("Master_Host") == "127.0.0.9");

  const ActionOutcome& changed = OutcomeOf(report, "uranus/change-source");
  REQUIRE(changed.state == ActionOutcome::State::kFailed);
  CHECK(changed.status.code() == Status::Code::kUnavailable);
  CHECK(changed.status.sql_errno() == kErrServerLost);
  CHECK(changed.status.message() ==
        "uranus: STOP SLAVE: query failed on 127.0.0.2:3306: Lost connection to server during query (2013)");
  const ActionOutcome& started = OutcomeOf(report, "uranus/start-replica");
  CHECK(started.state == ActionOutcome::State::kNotAttempted);
  CHECK(started.blocked_by == "uranus/change-source");
  CHECK(report.failed() == 1);
  CheckNoSecret(RenderApplyReport(report));
}

TEST_CASE("promote-replica whose RESET SLAVE ALL fails with 1290 never turns read_only off") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  uranus.globals = {{"read_only", "1"}};
  uranus.replica = FakeServer::ReplicaRow("127.0.0.1", 3306, "repl");
  uranus.files[topology.apps.front().DatabaseYmlPath()] = kDatabaseYml;
  uranus.FailNext("RESET SLAVE ALL", 1290);
  auto executor = MakeLiveExecutor(topology, factory);

  ApplyReport report = Apply(
      *executor, {Planned("uranus/promote-replica", "uranus", PromoteReplicaArgs{.source = "mercury"}),
                  Planned("uranus/rewrite-app-config/shop", "uranus",
                          RewriteAppConfigArgs{.app = "shop", .primary = "uranus"}, {"uranus/promote-replica"})});

  CHECK(uranus.log() == Lines{"sql: SHOW SLAVE STATUS", std::string("sql: ") + kIoThreadQuery, "sql: KILL CONNECTION 9",
                              "sql: STOP SLAVE", "sql: RESET SLAVE ALL"});
  CHECK(uranus.globals.at("read_only") == "1");
  CHECK(uranus.replica.has_value());  // the failed RESET left the channel
  CHECK(uranus.files.at(topology.apps.front().DatabaseYmlPath()) == kDatabaseYml);

  const ActionOutcome& promoted = OutcomeOf(report, "uranus/promote-replica");
  REQUIRE(promoted.state == ActionOutcome::State::kFailed);
  CHECK(promoted.status.sql_errno() == 1290);
  CHECK(promoted.status.code() == Status::Code::kInternal);
  CHECK(promoted.status.message() ==
        "uranus: RESET SLAVE ALL: query failed on 127.0.0.2:3306: The MariaDB server is running with the "
        "--read-only option so it cannot execute this statement (1290)");
  const ActionOutcome& rewrite = OutcomeOf(report, "uranus/rewrite-app-config/shop");
  CHECK(rewrite.state == ActionOutcome::State::kNotAttempted);
  CHECK(rewrite.blocked_by == "uranus/promote-replica");
}

// The "third statement of a promotion failing with 1290", and each other statement before
// read_only is turned off: whichever fails, the promotion stops there, nothing after it is asked,
// read_only stays on and the app is not repointed.
TEST_CASE("promote-replica whose n-th statement fails with 1290, for each statement up to RESET SLAVE ALL: it "
          "stops there, read_only stays on, the app untouched") {
  const Lines statements = {"sql: SHOW SLAVE STATUS", std::string("sql: ") + kIoThreadQuery, "sql: KILL CONNECTION 9",
                            "sql: STOP SLAVE", "sql: RESET SLAVE ALL"};
  for (int n = 1; n <= static_cast<int>(statements.size()); ++n) {
    CAPTURE(n);
    Topology topology = FakeTopology();
    FakeSessionFactory factory;
    FakeServer& uranus = factory.server("uranus");
    uranus.globals = {{"read_only", "1"}};
    uranus.replica = FakeServer::ReplicaRow("127.0.0.1", 3306, "repl");
    uranus.files[topology.apps.front().DatabaseYmlPath()] = kDatabaseYml;
    uranus.FailStatement(n, 1290);
    auto executor = MakeLiveExecutor(topology, factory);

    ApplyReport report = Apply(
        *executor, {Planned("uranus/promote-replica", "uranus", PromoteReplicaArgs{.source = "mercury"}),
                    Planned("uranus/rewrite-app-config/shop", "uranus",
                            RewriteAppConfigArgs{.app = "shop", .primary = "uranus"}, {"uranus/promote-replica"})});

    CHECK(uranus.log() == Lines(statements.begin(), statements.begin() + n));
    CHECK(uranus.globals.at("read_only") == "1");
    CHECK(uranus.files.at(topology.apps.front().DatabaseYmlPath()) == kDatabaseYml);
    const ActionOutcome& promoted = OutcomeOf(report, "uranus/promote-replica");
    REQUIRE(promoted.state == ActionOutcome::State::kFailed);
    CHECK_MESSAGE(promoted.status.sql_errno() == 1290, promoted.status.message());
    CHECK(promoted.status.message().find("uranus: ") == 0);
    CHECK(promoted.status.message().find("(1290)") != std::string::npos);
    // A refusal is said as one, not as a STOP that took too long (the 4th statement's wrapper).
    CHECK(promoted.status.message().find("did not end within") == std::string::npos);
    CHECK(OutcomeOf(report, "uranus/rewrite-app-config/shop").state == ActionOutcome::State::kNotAttempted);
  }
}

TEST_CASE("fence-primary: while SET GLOBAL read_only waits behind commits waiting for a semi-sync ACK, another "
          "connection keeps killing the waiters, so the SET gets its lock without a 1 s lock wait and a retry") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& mercury = factory.server("mercury");
  mercury.globals = {{"read_only", "0"}};
  const std::string waiters =
      "SELECT ID AS id, USER AS user FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync "
      "ACK%' AND COMMAND NOT LIKE 'Binlog Dump%' AND ID <> CONNECTION_ID()";
  // A client still writing: at every look, one session waits for an ACK.
  mercury.AnswerPrefix(waiters, {Row{{"id", "17"}, {"user", "pierre"}}});
  // The SET waits 300 ms for its lock (a commit under way), then is answered.
  mercury.Freeze("SET GLOBAL read_only", std::chrono::milliseconds(300));
  auto executor = MakeLiveExecutor(topology, factory);
  std::vector<std::string> progress;
  Action fence;
  fence.id = "mercury/fence-primary";
  fence.host = "mercury";
  fence.SetArgs(FencePrimaryArgs{});
  Status st = executor->Execute(fence, [&](const std::string& line) { progress.push_back(line); });
  REQUIRE_MESSAGE(st.ok(), st.message());

  const Lines asked = mercury.statements();
  const auto set = std::find(asked.begin(), asked.end(), "SET GLOBAL read_only = 1");
  REQUIRE(set != asked.end());
  // Before the SET: the waiters killed once on the step's own session; during its wait, again and
  // again on another connection; the SET sent once, no retry.
  CHECK(std::count(asked.begin(), asked.end(), "SET GLOBAL read_only = 1") == 1);
  CHECK(std::count(asked.begin(), set, std::string("KILL CONNECTION 17")) == 1);
  CHECK(std::count(set, asked.end(), std::string("KILL CONNECTION 17")) >= 2);
  CHECK(mercury.globals.at("read_only") == "1");
  std::string said;
  for (const std::string& line : progress) said += line + "\n";
  CHECK_FALSE(Contains(said, "waited 1 s for a lock"));
  CHECK(Contains(said, "mercury: killed "));
}

// A replica of a frozen primary: its IO thread waits for an event that will not come, and MariaDB's
// STOP SLAVE waits 2 s for it (measured, docs/failover.md); the fake's io_stop_wait is that wait.
void FrozenSourceReplica(FakeServer& server, const std::string& source_address) {
  server.replica = FakeServer::ReplicaRow(source_address, 3306, "repl");
  (*server.replica)["Gtid_IO_Pos"] = "0-1-7";
  server.globals = {{"read_only", "1"}, {"gtid_slave_pos", "0-1-7"}, {"gtid_current_pos", "0-1-7"}};
  server.io_stop_wait = std::chrono::milliseconds(2000);
}

// uranus/change-source to mercury, alone.
ApplyReport ChangeSourceToMercury(ActionExecutor& executor) {
  return Apply(executor, {Planned("uranus/change-source", "uranus",
                                  ChangeSourceArgs{.source = "mercury", .mode = ReplicationMode::kGtid,
                                                   .use_gtid = UseGtid::kSlavePos})});
}

TEST_CASE("a failover's apply-relay-log and promote-replica on a replica of a frozen primary kill its IO thread, "
          "then STOP SLAVE: done well within STOP SLAVE's own 2 s wait") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  FrozenSourceReplica(uranus, "127.0.0.1");
  auto executor = MakeLiveExecutor(topology, factory);

  const auto start = std::chrono::steady_clock::now();
  ApplyReport report = Apply(
      *executor, {Planned("uranus/apply-relay-log", "uranus", ApplyRelayLogArgs{.source = "mercury", .timeout_s = 30}),
                  Planned("uranus/promote-replica", "uranus", PromoteReplicaArgs{.source = "mercury"},
                          {"uranus/apply-relay-log"})});
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(RenderApplyReport(report));
  REQUIRE(report.failed() == 0);
  CHECK(took < std::chrono::milliseconds(1000));  // the old STOP SLAVE IO_THREAD alone: 2 s

  const Lines statements = uranus.statements();
  const Lines apply_part(statements.begin(), statements.begin() + std::min<size_t>(statements.size(), 5));
  CHECK(apply_part ==
        Lines{"SHOW SLAVE STATUS", kIoThreadQuery, "KILL CONNECTION 9", "STOP SLAVE IO_THREAD", "SHOW SLAVE STATUS"});
  // Everything received was applied before the promotion, whose STOP SLAVE finds no IO thread.
  auto at = [&](const std::string& s) { return std::find(statements.begin(), statements.end(), s) - statements.begin(); };
  CHECK(at("SELECT @@GLOBAL.gtid_slave_pos AS s, @@GLOBAL.gtid_current_pos AS c") < at("STOP SLAVE"));
  CHECK(at("STOP SLAVE") < at("RESET SLAVE ALL"));
  CHECK(std::count(statements.begin(), statements.end(), "KILL CONNECTION 9") == 1);
  CHECK_FALSE(uranus.replica.has_value());
  CHECK(uranus.globals.at("read_only") == "0");
}

TEST_CASE("change-source on a replica of a frozen primary kills its IO thread, then STOP SLAVE and CHANGE MASTER") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  FrozenSourceReplica(uranus, "127.0.0.9");  // another source: the change is needed
  auto executor = MakeLiveExecutor(topology, factory);

  const auto start = std::chrono::steady_clock::now();
  ApplyReport report = ChangeSourceToMercury(*executor);
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(RenderApplyReport(report));
  REQUIRE(report.failed() == 0);
  CHECK(took < std::chrono::milliseconds(1000));

  const Lines statements = uranus.statements();
  REQUIRE(statements.size() >= 6);
  CHECK(Lines(statements.begin(), statements.begin() + 5) ==
        Lines{"SHOW SLAVE STATUS", "SHOW ALL SLAVES STATUS", kIoThreadQuery, "KILL CONNECTION 9", "STOP SLAVE"});
  CHECK(std::any_of(statements.begin() + 5, statements.end(),
                    [](const std::string& s) { return s.rfind("CHANGE MASTER TO ", 0) == 0; }));
  CHECK(uranus.replica->at("Master_Host") == "127.0.0.1");
}

TEST_CASE("a KILL of the IO thread refused: apply-relay-log fails naming the server and the statement, nothing after it") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  FrozenSourceReplica(uranus, "127.0.0.1");
  uranus.FailNext("KILL CONNECTION", 1227);
  auto executor = MakeLiveExecutor(topology, factory);

  ApplyReport report = Apply(
      *executor, {Planned("uranus/apply-relay-log", "uranus", ApplyRelayLogArgs{.source = "mercury", .timeout_s = 30}),
                  Planned("uranus/promote-replica", "uranus", PromoteReplicaArgs{.source = "mercury"},
                          {"uranus/apply-relay-log"})});

  CHECK(uranus.statements() == Lines{"SHOW SLAVE STATUS", kIoThreadQuery, "KILL CONNECTION 9"});
  CHECK(uranus.replica->at("Slave_IO_Running") == "Yes");
  const ActionOutcome& applied = OutcomeOf(report, "uranus/apply-relay-log");
  REQUIRE(applied.state == ActionOutcome::State::kFailed);
  CHECK(applied.status.sql_errno() == 1227);
  CHECK(Contains(applied.status.message(),
                 "uranus: KILL CONNECTION 9 (the IO thread, before STOP SLAVE IO_THREAD): query failed on 127.0.0.2:3306: "
                 "Access denied"));
  CHECK(Contains(applied.status.message(), "nothing else was done"));
  CHECK(OutcomeOf(report, "uranus/promote-replica").state == ActionOutcome::State::kNotAttempted);
}

TEST_CASE("a STOP SLAVE that still blocks after the KILL: change-source fails at the bound, naming the server and "
          "the statement, with nothing sent after it") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  FrozenSourceReplica(uranus, "127.0.0.9");
  uranus.Freeze("STOP SLAVE", std::chrono::seconds(5));  // past the bound: the bounded connection gives up
  auto executor = MakeLiveExecutor(topology, factory);

  const auto start = std::chrono::steady_clock::now();
  ApplyReport report = ChangeSourceToMercury(*executor);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= std::chrono::milliseconds(1000));
  CHECK(took < std::chrono::milliseconds(3000));  // the bound, not the freeze nor the step's own 30 s

  CHECK(uranus.statements() ==
        Lines{"SHOW SLAVE STATUS", "SHOW ALL SLAVES STATUS", kIoThreadQuery, "KILL CONNECTION 9", "STOP SLAVE"});
  const ActionOutcome& changed = OutcomeOf(report, "uranus/change-source");
  REQUIRE(changed.state == ActionOutcome::State::kFailed);
  CHECK(changed.status.code() == Status::Code::kUnavailable);
  CHECK(changed.status.message() ==
        "uranus: STOP SLAVE after KILL CONNECTION 9 did not end within 1000 ms (uranus: STOP SLAVE: query failed on "
        "127.0.0.2:3306: Lost connection to server during query (2013)); nothing after it was done (the server may "
        "still be stopping the replica: see SHOW SLAVE STATUS on uranus, then run the action again)");
  CHECK(uranus.replica->at("Master_Host") == "127.0.0.9");
}

TEST_CASE("a connection dropped while database.yml is written leaves the old file, and a rerun converges") {
  Topology topology = FakeTopology();
  const std::string yml = topology.apps.front().DatabaseYmlPath();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  uranus.files[yml] = kDatabaseYml;
  uranus.DropShell("write: " + yml);
  auto executor = MakeLiveExecutor(topology, factory);
  auto rewrite = [&] {
    return Planned("uranus/rewrite-app-config/shop", "uranus", RewriteAppConfigArgs{.app = "shop", .primary = "uranus"});
  };

  ApplyReport report = Apply(*executor, {rewrite(), Planned("uranus/restart-app/shop", "uranus",
                                                            RestartAppArgs{.app = "shop"}, {"uranus/rewrite-app-config/shop"})});

  // Read, the write that dropped, and nothing after it (no restart, no marker).
  CHECK(uranus.log() == Lines{"read: " + yml, "write: " + yml});
  CHECK(uranus.files.at(yml) == kDatabaseYml);
  CHECK(uranus.files.count(yml + ".replplan.restarted") == 0);
  const ActionOutcome& failed = OutcomeOf(report, "uranus/rewrite-app-config/shop");
  REQUIRE(failed.state == ActionOutcome::State::kFailed);
  CHECK(failed.status.code() == Status::Code::kUnavailable);
  CHECK(failed.status.message() ==
        "uranus: " + yml + ": ssh root@127.0.0.2:22: reading command output failed: connection reset by peer");
  CHECK(OutcomeOf(report, "uranus/restart-app/shop").state == ActionOutcome::State::kNotAttempted);
  const std::string rendered = RenderApplyReport(report);
  CHECK(Contains(rendered, "uranus: " + yml));
  CheckNoSecret(rendered);

  // Still down: the next run says it cannot reach the host, and writes nothing.
  uranus.ClearLog();
  Status down = executor->Execute(rewrite().action, nullptr);
  CHECK(down.code() == Status::Code::kUnavailable);
  CHECK(Contains(down.message(), "uranus: cannot open SSH session"));
  CHECK(uranus.log().empty());

  // Back: the rerun writes the new primary once, and a third run finds nothing to do.
  uranus.AllowShellReconnect();
  CHECK(executor->Execute(rewrite().action, nullptr).ok());
  CHECK(Contains(uranus.files.at(yml), "host: 127.0.0.2\n"));
  CHECK(Contains(uranus.files.at(yml), "password: " + std::string(kAppPassword)));
  CHECK(uranus.files.at(yml + ".replplan.bak") == kDatabaseYml);
  uranus.ClearLog();
  CHECK(executor->Execute(rewrite().action, nullptr).ok());
  CHECK(uranus.log() == Lines{"read: " + yml});
}

// --- restart-app on watch's standby shell (providers/standby_shell.h) ---------------------------

namespace {

// The rewrite of shop's database.yml on uranus, then its restart: a failover's path to the app.
struct AppRestart {
  Topology topology = FakeTopology();
  const std::string yml = topology.apps.front().DatabaseYmlPath();
  const std::string marker = topology.apps.front().RestartMarkerPath();
  const std::string command = "trap '' HUP PIPE; touch /srv/shop/tmp/restart.txt";
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  std::unique_ptr<ActionExecutor> executor;

  AppRestart() {
    uranus.files[yml] = kDatabaseYml;
    executor = MakeLiveExecutor(topology, factory);
  }
  static Action Restart() { return Planned("uranus/restart-app/shop", "uranus", RestartAppArgs{.app = "shop"}).action; }
  ApplyReport Apply() {
    return ::replplan::Apply(
        *executor, {Planned("uranus/rewrite-app-config/shop", "uranus", RewriteAppConfigArgs{.app = "shop", .primary = "uranus"}),
                    Planned("uranus/restart-app/shop", "uranus", RestartAppArgs{.app = "shop"},
                            {"uranus/rewrite-app-config/shop"})});
  }
};

constexpr size_t kNonceSize = 45;  // "replplan-ran-" and 32 hex digits

// A standby shell that printed `out` and `err` on starting (a banner, a .bashrc that echoes).
FakeServer::CommandScript Shell(std::string out, std::string err = "") {
  FakeServer::CommandScript script;
  script.out = std::move(out);
  script.err = std::move(err);
  return script;
}

}  // namespace

TEST_CASE("restart-app on a standby shell: one write of a fresh nonce and the command, the banner is not the output, "
          "and the marker goes over the same connection") {
  AppRestart app;
  app.uranus.KeepStandbyShell(Shell("Welcome to uranus\n", "Last backup: today\n"));
  app.uranus.AnswerCommand("trap", ExecResult{.exit_status = 0, .out = "", .err = ""});

  ApplyReport report = app.Apply();

  CHECK(OutcomeOf(report, "uranus/restart-app/shop").state == ActionOutcome::State::kDone);
  CHECK(app.uranus.log() ==
        Lines{"read: " + app.yml, "write: " + app.yml, "take: standby shell", "run: " + app.command, "write: " + app.marker});
  CHECK(app.uranus.files.at(app.marker) == AppRestartDigest(app.uranus.files.at(app.yml)) + "\n");
  const auto started = app.uranus.started();
  REQUIRE(started.size() == 1);
  CHECK(started[0].command == StandbyShellCommand());
  CHECK(started[0].finished);
  const std::string& input = started[0].input;
  REQUIRE(input.size() == kNonceSize + 1 + app.command.size() + 1);
  CHECK(input.rfind("replplan-ran-", 0) == 0);
  CHECK(input.substr(kNonceSize) == std::string(1, '\0') + app.command + std::string(1, '\0'));

  // A rerun finds the marker: the app is not restarted again, and a new standby stays standing by.
  app.uranus.KeepStandbyShell();
  app.uranus.ClearLog();
  CHECK(app.executor->Execute(AppRestart::Restart(), nullptr).ok());
  CHECK(app.uranus.log() == Lines{"read: " + app.yml, "read: " + app.marker});
}

TEST_CASE("restart-app failing on a standby shell reports the command's own stderr, not what the login shell printed") {
  AppRestart app;
  app.uranus.KeepStandbyShell(Shell("Welcome to uranus\n", "Last backup: today\n"));
  app.uranus.AnswerCommand("trap", ExecResult{.exit_status = 1, .out = "", .err = "touch: Permission denied\n"});

  ApplyReport report = app.Apply();

  const ActionOutcome& restart = OutcomeOf(report, "uranus/restart-app/shop");
  REQUIRE(restart.state == ActionOutcome::State::kFailed);
  CHECK(restart.status.message() == "uranus: app shop: restart command failed (exit 1): touch: Permission denied");
  CHECK(app.uranus.log() == Lines{"read: " + app.yml, "write: " + app.yml, "take: standby shell", "run: " + app.command});
  CHECK(app.uranus.files.count(app.marker) == 0);
}

TEST_CASE("a standby shell that never answers: restart-app fails at the command's bound, runs nothing else, writes "
          "no marker") {
  AppRestart app;
  FakeServer::CommandScript silent;
  silent.silent = true;
  app.uranus.KeepStandbyShell(silent);

  ApplyReport report = app.Apply();

  const ActionOutcome& restart = OutcomeOf(report, "uranus/restart-app/shop");
  REQUIRE(restart.state == ActionOutcome::State::kFailed);
  CHECK(restart.status.code() == Status::Code::kUnavailable);
  CHECK(restart.status.message() ==
        "uranus: app shop: restart command: ssh root@127.0.0.2:22: command timed out after 300000 ms");
  // No second run the ordinary way: the shell may have run it.
  CHECK(app.uranus.log() == Lines{"read: " + app.yml, "write: " + app.yml, "take: standby shell"});
  CHECK(app.uranus.files.count(app.marker) == 0);
  REQUIRE(app.uranus.started().size() == 1);
  CHECK(app.uranus.started()[0].abandoned);
  CheckNoSecret(RenderApplyReport(report));
}

TEST_CASE("a standby shell's connection dropped mid-answer: restart-app fails naming the transport, runs nothing "
          "again, and a rerun restarts once the host answers") {
  AppRestart app;
  const std::string banner = "Welcome to uranus\n";
  FakeServer::CommandScript dropping = Shell(banner);
  dropping.drop_after = banner.size() + kNonceSize + 3;  // the banner, the nonce, 3 bytes of the command's output
  app.uranus.KeepStandbyShell(dropping);
  app.uranus.AnswerCommand("trap", ExecResult{.exit_status = 0, .out = "restarting shop\n", .err = ""});

  ApplyReport report = app.Apply();

  const ActionOutcome& restart = OutcomeOf(report, "uranus/restart-app/shop");
  REQUIRE(restart.state == ActionOutcome::State::kFailed);
  CHECK(restart.status.code() == Status::Code::kUnavailable);
  CHECK(restart.status.message() ==
        "uranus: app shop: restart command: ssh root@127.0.0.2:22: reading command output failed: connection reset "
        "by peer");
  // It ran once (the shell read it), and nothing after: no second run, no marker.
  CHECK(app.uranus.log() == Lines{"read: " + app.yml, "write: " + app.yml, "take: standby shell", "run: " + app.command});
  CHECK(app.uranus.files.count(app.marker) == 0);

  // Still down: the rerun finds no marker (over the app lane's connection, still open) but cannot
  // open the restart's session, and runs nothing.
  app.uranus.ClearLog();
  Status down = app.executor->Execute(AppRestart::Restart(), nullptr);
  CHECK(down.code() == Status::Code::kUnavailable);
  CHECK(Contains(down.message(), "uranus: cannot open SSH session"));
  CHECK(app.uranus.log() == Lines{"read: " + app.yml, "read: " + app.marker});
  // Back, the standby used up: the rerun restarts the ordinary way, once, and writes the marker.
  app.uranus.AllowShellReconnect();
  app.uranus.ClearLog();
  CHECK(app.executor->Execute(AppRestart::Restart(), nullptr).ok());
  CHECK(app.uranus.log() ==
        Lines{"read: " + app.yml, "read: " + app.marker, "run: " + app.command, "write: " + app.marker});
  CHECK(app.uranus.files.at(app.marker) == AppRestartDigest(app.uranus.files.at(app.yml)) + "\n");
}

TEST_CASE("a standby shell that answers another nonce ran nothing: restart-app runs the command the ordinary way, "
          "exactly once") {
  AppRestart app;
  FakeServer::CommandScript gone;
  gone.wrong_nonce = true;
  app.uranus.KeepStandbyShell(gone);
  app.uranus.AnswerCommand("trap", ExecResult{.exit_status = 0, .out = "", .err = ""});

  ApplyReport report = app.Apply();

  CHECK(OutcomeOf(report, "uranus/restart-app/shop").state == ActionOutcome::State::kDone);
  CHECK(app.uranus.log() ==
        Lines{"read: " + app.yml, "write: " + app.yml, "take: standby shell", "run: " + app.command, "write: " + app.marker});
  REQUIRE(app.uranus.started().size() == 1);
  CHECK(app.uranus.started()[0].finished);
  CHECK(app.uranus.files.at(app.marker) == AppRestartDigest(app.uranus.files.at(app.yml)) + "\n");
}

}  // namespace replplan
