// Switchover and failover (ops/move.h) over fakes: a primary that stops answering part-way, and a
// cluster lock holder that never answers. Each asserts what reached each server, who was promoted,
// whether the topology file was rewritten, and what the outcome and the report say.
#include "ops/move.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "engine/topology_parser.h"
#include "ops/fake_lab.h"

namespace replplan::ops {
namespace {

using testing::FailoverServers;
using testing::Has;
using testing::Contains;
using testing::kFactsAsked;
using testing::Lab;

TEST_CASE("a primary that freezes while it is fenced (the live executor over fake servers): nobody is promoted, "
          "the file is not rewritten, the report says which action failed") {
  Lab lab;
  SessionExecutors executors(lab.fakes.sessions);
  lab.world.executors = &executors;
  FakeServer& mercury = lab.fakes.sessions.server("mercury");
  FakeServer& uranus = lab.fakes.sessions.server("uranus");
  FakeServer& venus = lab.fakes.sessions.server("venus");
  mercury.globals["read_only"] = "0";
  mercury.AnswerPrefix("SELECT ID AS id, USER AS user FROM information_schema.PROCESSLIST", {});
  mercury.default_read_timeout_ms = 300;
  // It accepts the statement that fences it, and never answers.
  mercury.Freeze("SET GLOBAL read_only", std::chrono::seconds(10));
  for (FakeServer* replica : {&uranus, &venus}) {
    replica->globals["read_only"] = "1";
    replica->replica = FakeServer::ReplicaRow("127.0.0.61", 3306, "repl");
  }

  auto start = std::chrono::steady_clock::now();
  MoveOutcome outcome = Switchover(lab.world, lab.Request("switchover"), "uranus");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));  // bounded by the read timeout

  REQUIRE(outcome.plan);
  // mercury was asked to fence, in this order, and froze on the SET; nothing was asked after it but
  // the list of semi-sync ACK waiters to kill, on another connection, while the SET waited.
  const std::string waiters =
      "SELECT ID AS id, USER AS user FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync "
      "ACK%' AND COMMAND NOT LIKE 'Binlog Dump%' AND ID <> CONNECTION_ID()";
  const std::vector<std::string> fence = {waiters, "SELECT @@GLOBAL.read_only AS ro",
                                          "SET SESSION lock_wait_timeout = 1", "SET GLOBAL read_only = 1"};
  const std::vector<std::string> asked = mercury.statements();
  REQUIRE(!asked.empty());
  CHECK(asked.front() == waiters);
  std::vector<std::string> others{waiters};  // the step's own, less the killer's looks (any order)
  for (size_t i = 1; i < asked.size(); ++i) {
    if (asked[i] != waiters) others.push_back(asked[i]);
  }
  CHECK(others == fence);
  CHECK(std::count(asked.begin(), asked.end(), waiters) >= 2);
  CHECK(mercury.globals["read_only"] == "0");  // the frozen statement changed nothing
  // The candidate and the other replica were never asked anything: uranus stays a read-only replica.
  CHECK(uranus.statements().empty());
  CHECK(venus.statements().empty());
  CHECK(uranus.globals["read_only"] == "1");
  CHECK(uranus.replica.has_value());
  CHECK_FALSE(outcome.promoted);
  CHECK_FALSE(outcome.file_rewritten);
  lab.CheckFileUntouched();
  CHECK(lab.fakes.records.epochs.empty());  // no epoch for a promotion that did not happen
  CHECK(lab.fakes.locks.alive == 0);        // the locks were released
  CHECK(lab.fakes.locks.taken == std::vector<std::string>{"mercury", "uranus"});

  REQUIRE_FALSE(outcome.status.ok());
  CHECK(Contains(outcome.status.message(), "1 action(s) failed, "));
  REQUIRE(outcome.report);
  CHECK(outcome.report->failed() == 1);
  CHECK(outcome.report->not_attempted() > 0);
  bool promote_attempted = false;
  for (const ActionOutcome& o : outcome.report->outcomes) {
    if (o.id == "mercury/fence-primary") {
      CHECK(o.state == ActionOutcome::State::kFailed);
      CHECK(Contains(o.status.message(), "(2013)"));
    }
    promote_attempted |= o.id == "uranus/promote-replica" && o.state != ActionOutcome::State::kNotAttempted;
  }
  CHECK_FALSE(promote_attempted);
  const std::string report = RenderMoveReport(outcome);
  CHECK(Contains(report, "switchover report: mercury -> uranus\n"));
  CHECK(Contains(report, "  result: 1 action(s) failed, "));
  CHECK_FALSE(Contains(report, "the topology file now says"));
  CHECK_FALSE(Contains(report, "NOT rewritten"));  // nothing to rewrite: the primary did not move
}

TEST_CASE("a primary that answers the first facts and then freezes: the first failover is refused, the next "
          "one confirms it down within the read timeout and promotes") {
  Lab lab;
  FailoverServers(lab, /*replicas_lost=*/true);
  FakeServer& mercury = lab.fakes.sessions.server("mercury");

  // It answers: whatever the replicas say, this is no failover.
  MoveOutcome first = Failover(lab.world, lab.Request("failover"));
  REQUIRE(first.facts);
  CHECK(first.facts->primary_reachable);
  REQUIRE(first.decision);
  CHECK_FALSE(first.decision->proceed);
  CHECK(mercury.statements() == std::vector<std::string>{"SELECT 1"});
  CHECK(lab.fakes.sessions.server("uranus").statements() == kFactsAsked);
  CHECK(lab.fakes.sessions.server("venus").statements() == kFactsAsked);
  CHECK(lab.fakes.executors.made == 0);
  CHECK(lab.fakes.executors.executed.empty());
  CHECK(lab.fakes.locks.taken.empty());
  CHECK_FALSE(first.promoted);
  lab.CheckFileUntouched();
  CHECK(Contains(first.status.message(), "failover refused: the primary answers from here"));
  CHECK(Contains(RenderMoveReport(first), "failover report: mercury -> (none)\n"));

  // Then it freezes: the connect is accepted, the statement never answered.
  mercury.Freeze("SELECT 1", std::chrono::seconds(10));
  SessionExecutors executors(lab.fakes.sessions);  // the live executor, over the fake servers
  lab.world.executors = &executors;
  auto start = std::chrono::steady_clock::now();
  MoveOutcome second = Failover(lab.world, lab.Request("failover"));
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(second.facts);
  CHECK_FALSE(second.facts->primary_reachable);
  CHECK(Contains(second.facts->primary_error, "(2013)"));
  CHECK(took < std::chrono::seconds(3));  // bounded by mercury's read timeout (300 ms), not its freeze
  CHECK(mercury.statements() == std::vector<std::string>{"SELECT 1", "SELECT 1"});
  REQUIRE(second.decision);
  REQUIRE_MESSAGE(second.decision->proceed, second.decision->refusal);
  CHECK(second.to == "uranus");
  CHECK(second.promoted);
  // The live executor promoted uranus: IO thread stopped, relay log applied, then the channel reset
  // and read_only off, in that order; venus follows it; mercury was asked nothing more.
  FakeServer& uranus = lab.fakes.sessions.server("uranus");
  const std::vector<std::string> asked = uranus.statements();
  auto at = [&](const std::string& statement) { return std::find(asked.begin(), asked.end(), statement) - asked.begin(); };
  CHECK(at("STOP SLAVE IO_THREAD") < at("RESET SLAVE ALL"));
  CHECK(at("RESET SLAVE ALL") < at("SET GLOBAL read_only = 0"));
  CHECK(at("SET GLOBAL read_only = 0") < static_cast<long>(asked.size()));
  CHECK(uranus.globals["read_only"] == "0");
  CHECK_FALSE(uranus.replica.has_value());
  const FakeServer& venus = lab.fakes.sessions.server("venus");
  REQUIRE(venus.replica.has_value());
  CHECK(venus.replica->at("Master_Host") == "127.0.0.66");
  CHECK(venus.replica->at("Slave_IO_Running") == "Yes");
  CHECK(mercury.log() == std::vector<std::string>{"sql: SELECT 1", "sql: SELECT 1"});
  CHECK(second.file_rewritten);
  CHECK(lab.fakes.files.written == std::vector<std::string>{"lab.toml"});
  CHECK(Contains(lab.fakes.files.files.at("lab.toml"), "primary = \"uranus\""));
  CHECK(lab.fakes.records.epochs.size() == 1);
  CHECK(lab.fakes.records.binlogs_read == std::vector<std::string>{"mercury"});
  CHECK(lab.fakes.locks.taken == std::vector<std::string>{"uranus"});
  std::string failures;
  if (second.report) {
    for (const ActionOutcome& o : second.report->outcomes) {
      if (o.state == ActionOutcome::State::kFailed) failures += o.id + ": " + o.status.message() + "\n";
    }
  }
  CHECK_MESSAGE(second.status.ok(), failures);
  CHECK(Contains(RenderMoveReport(second), "  the topology file now says primary = \"uranus\""));
}

TEST_CASE("a primary that froze while the replicas still receive from it: failover refused, nobody promoted, "
          "the file not rewritten") {
  Lab lab;
  FailoverServers(lab, /*replicas_lost=*/false);
  lab.fakes.sessions.server("mercury").Freeze("SELECT 1", std::chrono::seconds(10));
  MoveOutcome outcome = Failover(lab.world, lab.Request("failover"));

  REQUIRE(outcome.facts);
  CHECK_FALSE(outcome.facts->primary_reachable);
  REQUIRE(outcome.decision);
  CHECK_FALSE(outcome.decision->proceed);
  CHECK(lab.fakes.sessions.server("uranus").statements() == kFactsAsked);
  CHECK(lab.fakes.sessions.server("venus").statements() == kFactsAsked);
  CHECK(lab.fakes.executors.made == 0);
  CHECK(lab.fakes.executors.executed.empty());
  CHECK(lab.fakes.locks.taken.empty());
  CHECK_FALSE(outcome.promoted);
  lab.CheckFileUntouched();
  CHECK(lab.fakes.records.epochs.empty());
  const std::string report = RenderMoveReport(outcome);
  CHECK(Contains(report, "  result: failover refused: "));
  CHECK_FALSE(Contains(report, "the topology file now says"));
}

// What watch's probe hands a failover once the primary gave it no answer (ops/watch.cc).
const char kSilent[] = "silent: no answer from mercury within 300 ms (the watcher's probe)";

// Runs `move` on a thread; true when it returned within `bound` (then `outcome` holds its result).
// A move that waits on a frozen server returns only when the freeze ends, after the bound.
bool ReturnsWithin(std::chrono::milliseconds bound, const std::function<MoveOutcome()>& move, MoveOutcome& outcome) {
  auto running = std::async(std::launch::async, move);
  bool in_time = running.wait_for(bound) == std::future_status::ready;
  outcome = running.get();
  return in_time;
}

// mercury frozen (asked anything, it holds the caller for the whole freeze: 8 s), and the request
// of a watcher whose probe found it silent.
MoveRequest SilentPrimaryRequest(Lab& lab, bool replicas_lost) {
  FailoverServers(lab, replicas_lost);
  FakeServer& mercury = lab.fakes.sessions.server("mercury");
  mercury.default_read_timeout_ms = 60000;
  mercury.Freeze("SELECT 1", std::chrono::seconds(8));
  MoveRequest request = lab.Request("failover");
  request.primary_silent = kSilent;
  return request;
}

TEST_CASE("a primary the watcher found silent, frozen for good: the failover asks it nothing, neither to confirm "
          "nor in the live state, promotes on the replicas' testimony and says what it could not learn") {
  Lab lab;
  MoveRequest request = SilentPrimaryRequest(lab, /*replicas_lost=*/true);
  const FakeServer& mercury = lab.fakes.sessions.server("mercury");
  SessionExecutors executors(lab.fakes.sessions);
  lab.world.executors = &executors;

  MoveOutcome outcome;
  CHECK(ReturnsWithin(std::chrono::seconds(6), [&] { return Failover(lab.world, request); }, outcome));  // < the freeze
  CHECK(mercury.log().empty());
  CHECK(mercury.sql_connects() == 0);
  REQUIRE(outcome.facts);
  CHECK_FALSE(outcome.facts->primary_reachable);
  CHECK(outcome.facts->primary_error == kSilent);
  CHECK(lab.fakes.sessions.server("uranus").statements().size() > kFactsAsked.size());  // facts, then promoted
  REQUIRE(outcome.decision);
  REQUIRE_MESSAGE(outcome.decision->proceed, outcome.decision->refusal);
  CHECK(outcome.to == "uranus");
  CHECK(outcome.promoted);
  CHECK(outcome.file_rewritten);
  // Every live-state read (the plan's, under the lock) was of the replicas only.
  REQUIRE(lab.fakes.live.reads >= 1);
  for (const auto& asked : lab.fakes.live.asked) CHECK(asked == std::vector<std::string>{"uranus", "venus"});
  bool skipped_step = false;
  for (const MoveStep& step : outcome.steps) {
    skipped_step |= Contains(step.name, "read the live state (mercury not read (silent)");
  }
  CHECK(skipped_step);
  REQUIRE(outcome.plan);
  for (const PlannedAction& pa : outcome.plan->actions) CHECK(pa.action.host != "mercury");
  // Its binlog could not be read: the report says lost transactions are unknown, not "nothing".
  const std::string report = RenderMoveReport(outcome);
  CHECK(Contains(report, "  lost: unknown: cannot reach mercury over SSH to read its binlog: (fake). Nothing that any "
                         "reachable replica had received is lost (uranus applied up to 0-1-42)"));
  CHECK_FALSE(Contains(report, "lost: nothing"));
  CHECK(Contains(report, "  result: done\n"));
}

TEST_CASE("a primary the watcher found silent with an app on its host: the failover asks it nothing over SQL, "
          "reads that host's files over SSH only (beside the replicas' read) and repoints the app there") {
  Lab lab;
  MoveRequest request = SilentPrimaryRequest(lab, /*replicas_lost=*/true);
  request.topology_text += "\n[[app]]\nname = \"secondhand\"\nkind = \"rails\"\nhosts = [\"mercury\"]\n"
                           "root = \"/var/www/secondhand\"\nenvironment = \"production\"\n"
                           "restart = \"touch /var/www/secondhand/tmp/restart.txt\"\n";
  TopologyParse parse = ParseTopology(request.topology_text, "lab.toml");
  REQUIRE(parse.ok());
  request.topology = parse.topology;
  lab.fakes.files.files["lab.toml"] = request.topology_text;
  replplan::testing::GiveApp(lab.fakes.live.state, "mercury",
                             "production:\n  adapter: mysql2\n  host: 127.0.0.61\n  port: 3306\n  database: secondhand_production\n");
  const FakeServer& mercury = lab.fakes.sessions.server("mercury");
  SessionExecutors executors(lab.fakes.sessions);
  lab.world.executors = &executors;

  MoveOutcome outcome;
  CHECK(ReturnsWithin(std::chrono::seconds(6), [&] { return Failover(lab.world, request); }, outcome));  // < the freeze
  CHECK(mercury.sql_connects() == 0);  // asked nothing over SQL: it would hold the read for its whole timeout
  REQUIRE(outcome.decision);
  REQUIRE_MESSAGE(outcome.decision->proceed, outcome.decision->refusal);
  CHECK(outcome.to == "uranus");
  // The live-state reads were of the replicas; mercury's files were read on their own.
  for (const auto& asked : lab.fakes.live.asked) CHECK(asked == std::vector<std::string>{"uranus", "venus"});
  CHECK(lab.fakes.live.files_read == std::vector<std::string>{"mercury"});
  bool files_step = false;
  for (const MoveStep& step : outcome.steps) files_step |= Contains(step.name, "mercury files only");
  CHECK(files_step);
  // The app on mercury follows the promoted server, and nothing else is done on mercury.
  REQUIRE(outcome.plan);
  std::vector<std::string> on_mercury;
  for (const PlannedAction& pa : outcome.plan->actions) {
    if (pa.action.host == "mercury") on_mercury.push_back(ToString(pa.action.kind));
  }
  CHECK(Has(on_mercury, "rewrite-app-config"));
  for (const std::string& kind : on_mercury) CHECK_MESSAGE(Contains(kind, "app"), kind);
}

TEST_CASE("a primary the watcher found silent while the replicas still receive from it (a stall): refused at once, "
          "the primary asked nothing, nobody promoted") {
  Lab lab;
  MoveRequest request = SilentPrimaryRequest(lab, /*replicas_lost=*/false);
  const FakeServer& mercury = lab.fakes.sessions.server("mercury");

  MoveOutcome outcome;
  CHECK(ReturnsWithin(std::chrono::seconds(6), [&] { return Failover(lab.world, request); }, outcome));
  CHECK(mercury.log().empty());
  REQUIRE(outcome.decision);
  CHECK_FALSE(outcome.decision->proceed);
  CHECK(Contains(outcome.status.message(), "failover refused: "));
  CHECK(lab.fakes.sessions.server("uranus").statements() == kFactsAsked);
  CHECK(lab.fakes.sessions.server("venus").statements() == kFactsAsked);
  CHECK(lab.fakes.live.reads == 0);
  CHECK(lab.fakes.executors.made == 0);
  CHECK(lab.fakes.locks.taken.empty());
  CHECK_FALSE(outcome.promoted);
  lab.CheckFileUntouched();
}

// The lock routine of providers/cluster_lock.h, for real, its holders commands started on the fake
// servers (ServerSession::StartCommand), scripted as each test says.
struct LockedLab : Lab {
  LockedLab() { world.locks = &locks; }
  // How the holders on `server` answer.
  void Holders(const std::string& server, FakeServer::CommandScript script) {
    fakes.sessions.server(server).ScriptCommand("IFS= read -r owner", std::move(script));
  }
  static FakeServer::CommandScript Locked() {
    FakeServer::CommandScript locked;
    locked.out = "LOCKED\n";
    locked.until_stdin_eof = true;  // it holds until its stdin closes
    return locked;
  }
  static FakeServer::CommandScript Silent() {
    FakeServer::CommandScript silent;
    silent.silent = true;
    return silent;
  }
  SessionClusterLocks locks{fakes.sessions, LockBounds{/*answer_timeout_ms=*/300, /*standby_answer_ms=*/100}};
};

// Runs `move` with a bound; past it the holders' connections drop (so a broken bound fails here,
// never hangs).
MoveOutcome Bounded(LockedLab& lab, const std::function<MoveOutcome()>& move, std::chrono::milliseconds& took) {
  auto start = std::chrono::steady_clock::now();
  auto running = std::async(std::launch::async, move);
  if (running.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    FAIL_CHECK("the lock did not give up within 5 s");
    for (const char* server : {"mercury", "uranus", "venus"}) lab.fakes.sessions.server(server).DropStreams();
  }
  MoveOutcome outcome = running.get();
  took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return outcome;
}

TEST_CASE("a cluster lock holder that never answers: the switchover gives up within the bound, names the server, "
          "and nothing was executed") {
  LockedLab lab;
  lab.Holders("mercury", LockedLab::Silent());
  std::chrono::milliseconds took{0};
  MoveOutcome outcome =
      Bounded(lab, [&] { return Switchover(lab.world, lab.Request("switchover"), "uranus"); }, took);

  CHECK(took >= std::chrono::milliseconds(250));  // it waited for the answer (300 ms, to the millisecond)
  CHECK(took < std::chrono::seconds(3));
  CHECK(outcome.status.code() == Status::Code::kUnavailable);
  CHECK(outcome.status.message() == "cannot lock cluster lab: no answer from /LAB/cluster.lock on mercury");
  // One holder, on the old primary, was told who asks, and abandoned (its channel closed, no EOF
  // that could let it lock); nothing more was asked of any server.
  const auto started = lab.fakes.sessions.server("mercury").started();
  REQUIRE(started.size() == 1);
  CHECK(started[0].command.rfind("IFS= read -r owner", 0) == 0);
  CHECK(started[0].input == "replplan switchover by test@here (pid 1)\n");
  CHECK(started[0].abandoned);
  CHECK_FALSE(started[0].stdin_closed);
  CHECK(lab.fakes.sessions.server("mercury").log() == std::vector<std::string>{"start: " + started[0].command});
  CHECK(lab.fakes.sessions.server("uranus").log().empty());
  CHECK(lab.fakes.executors.made == 0);
  CHECK(lab.fakes.executors.executed.empty());
  CHECK_FALSE(outcome.plan);
  CHECK_FALSE(outcome.promoted);
  lab.CheckFileUntouched();
  CHECK(Contains(RenderMoveReport(outcome),
                 "  result: cannot lock cluster lab: no answer from /LAB/cluster.lock on mercury\n"));
}

TEST_CASE("a cluster lock holder on the new primary that never answers: the failover gives up, names it, and "
          "promotes nobody") {
  LockedLab lab;
  FailoverServers(lab, /*replicas_lost=*/true);
  lab.fakes.sessions.Refuse("mercury");
  lab.Holders("uranus", LockedLab::Silent());
  std::chrono::milliseconds took{0};
  MoveOutcome outcome = Bounded(lab, [&] { return Failover(lab.world, lab.Request("failover")); }, took);

  REQUIRE(outcome.decision);
  CHECK(outcome.decision->proceed);  // the replicas confirmed: only the lock stops it
  CHECK(took < std::chrono::seconds(3));
  CHECK(outcome.status.message() == "cannot lock cluster lab: no answer from /LAB/cluster.lock on uranus");
  REQUIRE(lab.fakes.sessions.server("uranus").started().size() == 1);
  CHECK(lab.fakes.sessions.server("uranus").started()[0].abandoned);
  CHECK(lab.fakes.executors.executed.empty());
  CHECK_FALSE(outcome.promoted);
  lab.CheckFileUntouched();
  CHECK(lab.fakes.records.epochs.empty());
}

TEST_CASE("a cluster lock holder whose connection drops before it answers: the switchover names the transport "
          "failure and executes nothing") {
  LockedLab lab;
  FakeServer::CommandScript locked = LockedLab::Locked();
  lab.Holders("mercury", locked);
  lab.fakes.sessions.server("mercury").DropStreamAfter("start: IFS= read -r owner", 3);  // "LOC", then gone
  MoveOutcome outcome = Switchover(lab.world, lab.Request("switchover"), "uranus");
  CHECK(outcome.status.code() == Status::Code::kUnavailable);
  CHECK(outcome.status.message() ==
        "cannot lock cluster lab: ssh root@127.0.0.61:2222: reading command output failed: connection reset by peer");
  CHECK(lab.fakes.executors.executed.empty());
  lab.CheckFileUntouched();
}

TEST_CASE("the same lock routine over holders that answer: LOCKED is held while the plan runs and released; BUSY "
          "names the holder") {
  LockedLab lab;
  SUBCASE("locked") {
    lab.Holders("mercury", LockedLab::Locked());
    lab.Holders("uranus", LockedLab::Locked());
    MoveOutcome outcome = Switchover(lab.world, lab.Request("switchover"), "uranus");
    CHECK_MESSAGE(outcome.status.ok(), outcome.status.message());
    // mercury, then uranus; each told who holds it, then released: EOF on its stdin, its exit read.
    for (const char* server : {"mercury", "uranus"}) {
      const auto started = lab.fakes.sessions.server(server).started();
      REQUIRE(started.size() == 1);
      CHECK(started[0].input == "replplan switchover by test@here (pid 1)\n");
      CHECK(started[0].stdin_closed);
      CHECK(started[0].finished);
      CHECK_FALSE(started[0].abandoned);
    }
    CHECK(Has(lab.fakes.executors.executed, "uranus/promote-replica"));
    CHECK(outcome.file_rewritten);
  }
  SUBCASE("busy") {
    FakeServer::CommandScript busy;
    busy.out = "BUSY\nreplplan apply by someone@elsewhere (pid 1)\n";
    busy.exit_status = 75;
    lab.Holders("mercury", busy);
    MoveOutcome outcome = Switchover(lab.world, lab.Request("switchover"), "uranus");
    CHECK(outcome.status.message() == "cluster lab is locked by replplan apply by someone@elsewhere (pid 1) "
                                      "(/LAB/cluster.lock on mercury); wait for it to finish");
    CHECK(lab.fakes.executors.executed.empty());
    lab.CheckFileUntouched();
  }
}

}  // namespace
}  // namespace replplan::ops
