// The watchers' coordination (ops/coordination.h) over an in-memory etcd (FakeKvStore): several
// Coordinations share one store as several machines share one etcd, each with its own copy of the
// topology file, ticked by hand. What each may change, and what the journal holds, is read back
// from the store.
#include "ops/coordination.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <thread>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/topology_edit.h"
#include "engine/topology_parser.h"
#include "ops/fake_lab.h"
#include "providers/testing/fake_kv_store.h"

namespace replplan::ops {
namespace {

using testing::Contains;
using replplan::testing::FakeKvStore;

const char kPrefix[] = "/replplan/lab/";

// A watcher's options over the fake lab's file, "lab.toml".
CoordinationOptions OptionsFor(const std::string& id) {
  CoordinationOptions options;
  options.prefix = kPrefix;
  options.id = id;
  options.ttl_seconds = 2;
  options.topology_path = "lab.toml";
  return options;
}

struct Watcher {
  Watcher(FakeKvStore& store, const std::string& id) {
    files.files["lab.toml"] = testing::LabText();
    CoordinationOptions options = OptionsFor(id);
    options.log = [this](const std::string& line) { log += line + "\n"; };
    c = std::make_unique<Coordination>(store, files, options, /*background=*/false);
  }
  ClusterSpec Cluster() { return ParseTopology(files.files.at("lab.toml"), "lab.toml").topology.cluster; }
  testing::MemoryFiles files;
  std::string log;
  std::unique_ptr<Coordination> c;
};

std::vector<std::string> Keys(FakeKvStore& store, const std::string& under) {
  std::vector<std::string> out;
  for (const auto& [key, kv] : store.Snapshot()) {
    if (key.rfind(under, 0) == 0) out.push_back(key.substr(std::string(kPrefix).size()));
  }
  return out;
}

// A failover's outcome as Failover returns it when the promotion is done.
MoveOutcome Promoted(const std::string& to, int64_t epoch) {
  MoveOutcome o;
  o.kind = "failover";
  o.from = "mercury";
  o.to = to;
  o.promoted = true;
  o.epoch = epoch;
  return o;
}

// Each watcher's probe lost mercury (epoch 0), published; the first one leads.
void SeeMercuryDown(std::initializer_list<Watcher*> watchers) {
  for (Watcher* w : watchers) {
    w->c->Observed("mercury", 0, false);
    w->c->Tick();
  }
}

// The leader's failover of mercury up to uranus promoted, journaled as the guarded executor does.
void PromoteUranus(Watcher& leader) {
  REQUIRE(leader.c->MayFailOver("mercury", 0).ok());
  REQUIRE(leader.c->Step("start uranus/promote-replica").ok());
  REQUIRE(leader.c->Step("done uranus/promote-replica").ok());
}

int64_t LeaseOf(FakeKvStore& store, const std::string& id) {
  auto kvs = store.Get(std::string(kPrefix) + "seen/" + id, false);
  REQUIRE((kvs.ok() && !kvs->empty()));
  return kvs->front().lease;
}

}  // namespace

TEST_CASE("one leader: the first watcher to campaign leads, the others stand by and may not fail over") {
  FakeKvStore store;
  Watcher a(store, "a"), b(store, "b"), c(store, "c");
  for (Watcher* w : {&a, &b, &c}) w->c->Tick();
  CHECK(a.c->Leading());
  CHECK_FALSE(b.c->Leading());
  CHECK_FALSE(c.c->Leading());
  CHECK(store.Value(std::string(kPrefix) + "leader") == "a");
  CHECK(Contains(b.log, "standing by: a leads the watchers"));
  for (Watcher* w : {&a, &b, &c}) w->c->Observed("mercury", 0, false);
  Status may = b.c->MayFailOver("mercury", 0);
  CHECK(may.code() == Status::Code::kFailedPrecondition);
  CHECK(Contains(may.message(), "a leads the watchers; this one stands by"));
  CHECK(b.c->Step("start uranus/promote-replica").code() == Status::Code::kFailedPrecondition);
  CHECK(Keys(store, std::string(kPrefix) + "failover").empty());
}

TEST_CASE("a majority of the watchers must see the primary down: one watcher cut off alone never fails over") {
  FakeKvStore store;
  Watcher a(store, "a"), b(store, "b"), c(store, "c");
  a.c->Observed("mercury", 0, false);  // the leader alone is cut off from mercury
  b.c->Observed("mercury", 0, true);
  c.c->Observed("mercury", 0, true);
  for (Watcher* w : {&a, &b, &c}) w->c->Tick();
  REQUIRE(a.c->Leading());
  Status may = a.c->MayFailOver("mercury", 0);
  CHECK(may.code() == Status::Code::kFailedPrecondition);
  CHECK(may.message() == "1 of 3 watchers see mercury down: a majority is needed");
  // A view of another primary (a file not yet rewritten) is no vote for this one's loss.
  b.c->Observed("uranus", 0, false);
  b.c->Tick();
  CHECK(!a.c->MayFailOver("mercury", 0).ok());
  b.c->Observed("mercury", 0, false);
  b.c->Tick();
  CHECK(a.c->MayFailOver("mercury", 0).ok());
}

TEST_CASE("one failover per loss: journaled step by step under the leader's term, then the primary of record; "
          "not again, by this leader or the next; every watcher's file follows once") {
  FakeKvStore store;
  Watcher a(store, "a"), b(store, "b");
  SeeMercuryDown({&a, &b});
  PromoteUranus(a);
  a.files.files["lab.toml"] = *SetEpochInTopology(*SetPrimaryInTopology(a.files.files.at("lab.toml"), "lab.toml",
                                                                          "uranus"), "lab.toml", 1);  // as Failover does
  a.c->FailoverEnded(Promoted("uranus", 1));
  const std::string journal = std::string(kPrefix) + "failover/000000000000";
  CHECK(Contains(store.Value(journal), "\"state\":\"done\""));
  CHECK(Contains(store.Value(journal), "\"to\":\"uranus\""));
  CHECK(Keys(store, journal).size() == 3);  // the head and its two steps
  CHECK(store.Value(std::string(kPrefix) + "primary") == "{\"epoch\":1,\"primary\":\"uranus\"}");
  Status again = a.c->MayFailOver("mercury", 0);
  CHECK(Contains(again.message(), "was failed over already (to uranus, by a): not again"));

  // b's copy of the file follows etcd, once.
  b.c->Tick();
  CHECK(b.Cluster().primary == "uranus");
  CHECK(b.Cluster().epoch == 1);
  CHECK(b.files.written.size() == 1);
  b.c->Tick();
  CHECK(b.files.written.size() == 1);
  CHECK(a.files.written.empty());  // the leader's own file was rewritten by its failover, not again

  // a goes (its lease expires); b leads, and does not fail over the same loss again.
  store.Expire(LeaseOf(store, "a"));
  b.c->Tick();
  REQUIRE(b.c->Leading());
  CHECK(Contains(b.c->MayFailOver("mercury", 0).message(), "failed over already"));
}

TEST_CASE("a deposed leader changes nothing: its lease gone (killed, frozen past its TTL), every step is refused "
          "by etcd even before it learns it") {
  FakeKvStore store;
  Watcher a(store, "a"), b(store, "b");
  SeeMercuryDown({&a, &b});
  REQUIRE(a.c->MayFailOver("mercury", 0).ok());
  // a freezes here; its lease expires; b leads.
  store.Expire(LeaseOf(store, "a"));
  b.c->Tick();
  REQUIRE(b.c->Leading());
  const int puts = store.puts;
  // a wakes, not yet having ticked: it still believes it leads, but etcd refuses.
  Status step = a.c->Step("start uranus/promote-replica");
  CHECK(step.code() == Status::Code::kFailedPrecondition);
  CHECK(Contains(step.message(), "etcd refused the journal entry"));
  a.c->FailoverEnded(Promoted("uranus", 1));
  CHECK(store.puts == puts);
  CHECK(Keys(store, std::string(kPrefix) + "failover").empty());
  CHECK(store.Value(std::string(kPrefix) + "primary") == "{\"epoch\":0,\"primary\":\"mercury\"}");
  a.c->Tick();
  CHECK_FALSE(a.c->Leading());
  CHECK(Contains(a.log, "leads no more: b leads"));
}

TEST_CASE("a leader that dies after the promotion: the next leader finishes that failover under its own term; "
          "no other server is promoted, the end is journaled once with the promoted server") {
  FakeKvStore store;
  Watcher a(store, "a"), b(store, "b");
  SeeMercuryDown({&a, &b});
  PromoteUranus(a);
  store.Expire(LeaseOf(store, "a"));  // killed before FailoverEnded
  b.c->Tick();
  REQUIRE(b.c->Leading());
  REQUIRE(b.c->MayFailOver("mercury", 0).ok());
  CHECK(Contains(b.log, "begun by a was left unfinished after uranus was promoted: this leader finishes it"));
  Status second = b.c->Step("start venus/promote-replica");
  CHECK(second.code() == Status::Code::kFailedPrecondition);
  CHECK(Contains(second.message(), "uranus was promoted by a in this failover already: venus/promote-replica is not"));
  CHECK(b.c->Step("start venus/change-primary").ok());
  CHECK(Contains(store.Value(std::string(kPrefix) + "failover/000000000000"), "\"by\":\"b\""));
  b.c->FailoverEnded(Promoted("uranus", 1));
  CHECK(store.Value(std::string(kPrefix) + "primary") == "{\"epoch\":1,\"primary\":\"uranus\"}");
  const std::string end = store.Value(std::string(kPrefix) + "failover/000000000000");
  CHECK(Contains(end, "\"finished_for\":\"a\""));
  CHECK(Contains(end, "\"state\":\"done\""));
  CHECK(Contains(end, "\"to\":\"uranus\""));
  CHECK(!b.c->MayFailOver("mercury", 0).ok());  // done: not again
  b.c->Tick();
  CHECK(b.Cluster().primary == "uranus");
}

TEST_CASE("a leader that dies before any promotion: the next leader carries the failover out under its own term; "
          "the old one's late steps are refused") {
  FakeKvStore store;
  Watcher a(store, "a"), b(store, "b");
  SeeMercuryDown({&a, &b});
  REQUIRE(a.c->MayFailOver("mercury", 0).ok());
  REQUIRE(a.c->Step("start uranus/stop-replica").ok());
  store.Expire(LeaseOf(store, "a"));
  b.c->Tick();
  REQUIRE(b.c->MayFailOver("mercury", 0).ok());
  CHECK(Contains(b.log, "begun by a was left unfinished before any promotion: this leader carries it out"));
  CHECK(b.c->Step("start venus/promote-replica").ok());
  CHECK(!a.c->Step("start uranus/promote-replica").ok());
  CHECK(Contains(store.Value(std::string(kPrefix) + "failover/000000000000"), "\"by\":\"b\""));
}

TEST_CASE("etcd unreachable: no one leads, nothing is started, the log says why; etcd back: leading resumes") {
  FakeKvStore store;
  Watcher a(store, "a");
  a.c->Observed("mercury", 0, false);
  a.c->Tick();
  REQUIRE(a.c->Leading());
  store.down = true;
  a.c->Tick();
  CHECK_FALSE(a.c->Leading());
  Status may = a.c->MayFailOver("mercury", 0);
  CHECK(Contains(may.message(), "etcd unreachable (the fake etcd does not answer): no failover and no fencing"));
  CHECK(!a.c->Step("start mercury/fence-primary").ok());
  CHECK(Contains(a.log, "etcd unreachable (the fake etcd does not answer): no failover and no fencing is started"));
  store.down = false;
  a.c->Tick();
  CHECK(a.c->Leading());
  CHECK(Contains(a.log, "etcd answers again"));
  CHECK(a.c->MayFailOver("mercury", 0).ok());
}

TEST_CASE("the guarded World: a standby's executor and cluster lock refuse, the inner ones are never reached") {
  FakeKvStore store;
  Watcher a(store, "a"), b(store, "b");
  a.c->Tick();
  b.c->Tick();
  testing::FakeWorld fakes;
  World guarded = b.c->Guard(fakes.world());
  Action fence;
  fence.id = "mercury/fence-primary";
  fence.SetArgs(FencePrimaryArgs{});
  fence.host = "mercury";
  auto executor = guarded.executors->Make(ParseTopology(testing::LabText(), "lab.toml").topology);
  Status st = executor->Execute(fence, [](const std::string&) {});
  CHECK(st.code() == Status::Code::kFailedPrecondition);
  CHECK(fakes.executors.executed.empty());
  ClusterLocks held;
  CHECK(!guarded.locks->Acquire(held, {}, "test").ok());
  CHECK(fakes.locks.taken.empty());
  // The leader's fence is journaled, then carried out.
  World leading = a.c->Guard(fakes.world());
  CHECK(leading.executors->Make(ParseTopology(testing::LabText(), "lab.toml").topology)
            ->Execute(fence, [](const std::string&) {})
            .ok());
  CHECK(fakes.executors.executed == std::vector<std::string>{"mercury/fence-primary"});
  CHECK(Keys(store, std::string(kPrefix) + "fence/").size() == 1);
}

}  // namespace replplan::ops

namespace replplan::ops {

TEST_CASE("a leader killed inside the promotion (begun, not journaled done): the next leader asks the server; "
          "writable, it was promoted and the failover is finished to it; read-only, the failover is carried out again") {
  for (const char* read_only : {"0", "1"}) {
    CAPTURE(read_only);
    FakeKvStore store;
    Watcher a(store, "a"), b(store, "b");
    SeeMercuryDown({&a, &b});
    REQUIRE(a.c->MayFailOver("mercury", 0).ok());
    REQUIRE(a.c->Step("start uranus/promote-replica").ok());
    store.Expire(LeaseOf(store, "a"));
    testing::FakeWorld fakes;
    fakes.sessions.server("uranus").globals["read_only"] = read_only;
    (void)b.c->Guard(fakes.world());
    b.c->Tick();
    REQUIRE(b.c->Leading());
    Status may = b.c->MayFailOver("mercury", 0);
    REQUIRE(may.ok());
    CHECK(store.Value(std::string(kPrefix) + "primary") == "{\"epoch\":0,\"primary\":\"mercury\"}");
    // Writable: uranus was promoted, and no other server may be now; read-only: any candidate may.
    CHECK(b.c->Step("start venus/promote-replica").ok() == (std::string(read_only) == "1"));
    CHECK(Contains(b.log, "left unfinished after uranus was promoted") == (std::string(read_only) == "0"));
  }
}

}  // namespace replplan::ops

namespace replplan::ops {

TEST_CASE("the plan's first actions on two hosts at once: both journaled, neither refuses the other") {
  FakeKvStore store;
  Watcher a(store, "a"), b(store, "b");
  SeeMercuryDown({&a, &b});
  REQUIRE(a.c->MayFailOver("mercury", 0).ok());
  store.txn_delay = std::chrono::milliseconds(30);
  auto other = std::async(std::launch::async, [&] { return a.c->Step("start uranus/set-global"); });
  Status mine = a.c->Step("start venus/apply-relay-log");
  Status theirs = other.get();
  CHECK_MESSAGE(mine.ok(), mine.message());
  CHECK_MESSAGE(theirs.ok(), theirs.message());
  CHECK(Keys(store, std::string(kPrefix) + "failover/").size() == 3);
}

namespace {

// The fake etcd, with the transactions that write a key containing `held` kept waiting until
// Open(): another host's journal entry still in flight.
class HoldingStore : public KvStore {
 public:
  HoldingStore(FakeKvStore& store, std::string held) : store_(store), held_(std::move(held)) {}
  Result<int64_t> GrantLease(int ttl) override { return store_.GrantLease(ttl); }
  Result<int64_t> KeepAlive(int64_t lease) override { return store_.KeepAlive(lease); }
  Status RevokeLease(int64_t lease) override { return store_.RevokeLease(lease); }
  Result<std::vector<KeyValue>> Get(const std::string& key, bool prefix) override { return store_.Get(key, prefix); }
  Result<bool> Txn(const std::vector<KvCompare>& when, const std::vector<KvPut>& then) override {
    bool hold = false;
    for (const KvPut& p : then) hold = hold || p.value.find(held_) != std::string::npos;
    if (hold) {
      std::unique_lock<std::mutex> lock(mutex_);
      entered_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return open_; });
    }
    return store_.Txn(when, then);
  }
  std::string Describe() const override { return "the fake etcd, holding " + held_; }
  bool WaitEntered() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [this] { return entered_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  FakeKvStore& store_;
  const std::string held_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false, open_ = false;
};

}  // namespace

TEST_CASE("once the journal is begun, an action's entry does not wait behind another host's entry in flight") {
  FakeKvStore fake;
  HoldingStore store(fake, "venus/change-source");
  testing::MemoryFiles files;
  files.files["lab.toml"] = testing::LabText();
  CoordinationOptions options = OptionsFor("a");
  Coordination a(store, files, options, /*background=*/false);
  Watcher b(fake, "b");
  a.Observed("mercury", 0, false);
  a.Tick();
  b.c->Observed("mercury", 0, false);
  b.c->Tick();
  REQUIRE(a.MayFailOver("mercury", 0).ok());
  REQUIRE(a.Step("start uranus/promote-replica").ok());  // the journal's first entry
  auto venus = std::async(std::launch::async, [&] { return a.Step("start venus/change-source"); });
  REQUIRE(store.WaitEntered());
  auto app = std::async(std::launch::async, [&] { return a.Step("start mercury/rewrite-app-config/secondhand"); });
  const bool app_done = app.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  store.Open();  // whatever happened, nothing is left waiting
  CHECK_MESSAGE(app_done, "the app's entry waited behind venus's");
  Status app_step = app.get();
  Status venus_step = venus.get();
  CHECK_MESSAGE(app_step.ok(), app_step.message());
  CHECK_MESSAGE(venus_step.ok(), venus_step.message());
  CHECK(Keys(fake, std::string(kPrefix) + "failover/").size() == 4);  // the journal and its three entries
}

}  // namespace replplan::ops

namespace replplan::ops {

TEST_CASE("etcd away with an observation left to publish: the background ticks keep their pace, no busy loop") {
  FakeKvStore store;
  testing::MemoryFiles files;
  files.files["lab.toml"] = testing::LabText();
  CoordinationOptions options = OptionsFor("a");
  options.tick = std::chrono::milliseconds(50);
  store.down = true;
  {
    Coordination c(store, files, options, /*background=*/true);
    c.Observed("mercury", 0, false);  // cannot be published while etcd is away
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // About 10 ticks in 500 ms, each a few calls: far from the thousands of a loop that never waits.
  CHECK(store.calls < 200);
}

}  // namespace replplan::ops

namespace replplan::ops {

// The whole of it over the fake lab: a dies right after promoting uranus (venus still replicates from
// the dead mercury); b, leading next, carries the failover out again over its guarded World. The
// failover resumes (uranus is writable and replicates from nobody): nothing is promoted, venus is
// repointed to uranus, every change journaled under b's term; the file names uranus at epoch 1, and
// so does etcd's primary.
TEST_CASE("the leader killed after the promotion, before the replicas are repointed: the next leader's failover "
          "promotes no one, repoints the replica left to the promoted server, and the cluster converges") {
  FakeKvStore store;
  Watcher a(store, "a");
  a.c->Observed("mercury", 0, false);
  a.c->Tick();
  PromoteUranus(a);
  store.Expire(LeaseOf(store, "a"));

  testing::Lab lab;
  testing::FailoverServers(lab, /*replicas_lost=*/true);
  // uranus as a's promotion left it: writable, no replication channel.
  FakeServer& uranus = lab.fakes.sessions.server("uranus");
  uranus.AnswerPrefix(testing::kPositionQuery,
                      {Row{{"cur", "0-1-42"}, {"bin", "0-1-42"}, {"log_bin", "1"}, {"lsu", "1"}, {"ro", "0"}}});
  uranus.replica.reset();
  uranus.globals["read_only"] = "0";
  ServerState& promoted = lab.fakes.live.state.servers["uranus"];
  promoted.channels.clear();
  promoted.read_only = false;
  promoted.gtid_slave_pos.clear();

  CoordinationOptions options = OptionsFor("b");
  std::string log;
  options.log = [&log](const std::string& line) { log += line + "\n"; };
  Coordination b(store, lab.fakes.files, options, /*background=*/false);
  World guarded = b.Guard(lab.world);
  b.Observed("mercury", 0, false);
  b.Tick();
  REQUIRE(b.Leading());
  REQUIRE(b.MayFailOver("mercury", 0).ok());
  MoveRequest request = lab.Request("failover");
  request.primary_silent = "silent: no answer within 300 ms (the watcher's probe)";
  MoveOutcome outcome = Failover(guarded, request);
  b.FailoverEnded(outcome);
  INFO(RenderMoveReport(outcome));
  INFO(log);
  REQUIRE(outcome.decision.has_value());
  CHECK(outcome.decision->resumed);
  CHECK(outcome.to == "uranus");
  CHECK(outcome.status.ok());
  const std::vector<std::string>& executed = lab.fakes.executors.executed;
  CHECK(std::none_of(executed.begin(), executed.end(),
                     [](const std::string& id) { return Contains(id, "promote-replica"); }));
  CHECK(std::any_of(executed.begin(), executed.end(), [](const std::string& id) { return id.rfind("venus/", 0) == 0; }));
  CHECK(ParseTopology(lab.fakes.files.files.at("lab.toml"), "lab.toml").topology.cluster.primary == "uranus");
  CHECK(ParseTopology(lab.fakes.files.files.at("lab.toml"), "lab.toml").topology.cluster.epoch == 1);
  CHECK(store.Value(std::string(kPrefix) + "primary") == "{\"epoch\":1,\"primary\":\"uranus\"}");
  // Every action b carried out is a journal step of this failover under b's term, after a's.
  size_t by_b = 0;
  for (const auto& [key, kv] : store.Snapshot()) {
    if (key.rfind(std::string(kPrefix) + "failover/000000000000/", 0) == 0 && Contains(kv.value, "\"by\":\"b\"")) ++by_b;
  }
  CHECK(by_b >= executed.size());
  CHECK(by_b >= 1);
  const std::string end = store.Value(std::string(kPrefix) + "failover/000000000000");
  CHECK(Contains(end, "\"state\":\"done\""));
  CHECK(Contains(end, "\"finished_for\":\"a\""));
}

}  // namespace replplan::ops

namespace replplan::ops {

// The promotion's "done" entry is what a next leader rolls forward from, but nothing waits for it:
// the actions after the promotion (the app's among them) must not wait for a round trip of its own.
TEST_CASE("the promotion's done entry goes to etcd with the next entry, not on its own; with the failover's end "
          "when no entry follows") {
  for (bool next_step : {true, false}) {
    CAPTURE(next_step);
    FakeKvStore store;
    Watcher a(store, "a");
    a.c->Observed("mercury", 0, false);
    a.c->Tick();
    REQUIRE(a.c->MayFailOver("mercury", 0).ok());
    testing::FakeWorld fakes;
    World guarded = a.c->Guard(fakes.world());
    auto executor = guarded.executors->Make(ParseTopology(testing::LabText(), "lab.toml").topology);
    Action promote;
    promote.id = "uranus/promote-replica";
    promote.host = "uranus";
    promote.SetArgs(PromoteReplicaArgs{});
    const int before = store.calls;
    REQUIRE(executor->Execute(promote, [](const std::string&) {}).ok());
    CHECK(store.calls - before == 1);  // the start entry, a compare-and-swap on the leader key
    const std::string journal = std::string(kPrefix) + "failover/000000000000";
    auto steps = [&] {
      std::vector<std::string> out;
      for (const auto& [key, kv] : store.Snapshot()) {
        if (key.rfind(journal + "/", 0) == 0) out.push_back(kv.value);
      }
      return out;
    };
    REQUIRE(steps().size() == 1);
    CHECK(Contains(steps()[0], "\"step\":\"start uranus/promote-replica\""));
    if (next_step) {
      Action repoint;
      repoint.id = "venus/change-source";
      repoint.host = "venus";
      repoint.SetArgs(ChangeSourceArgs{});
      REQUIRE(executor->Execute(repoint, [](const std::string&) {}).ok());
    } else {
      a.c->FailoverEnded(Promoted("uranus", 1));
    }
    // In key order: start, done, then the next step.
    auto now = steps();
    REQUIRE(now.size() == (next_step ? 3u : 2u));
    CHECK(Contains(now[1], "\"step\":\"done uranus/promote-replica\""));
    if (next_step) CHECK(Contains(now[2], "\"step\":\"start venus/change-source\""));
    CHECK(fakes.executors.executed.size() == (next_step ? 2u : 1u));
  }
}

// A new observation is published at once, alone: at the loss every watcher's probe fails together
// and the leader's failover is asking etcd, so the lease, the leader key and the file wait for the
// round that is due.
TEST_CASE("a new observation between two rounds: published at once, and nothing else asked of etcd") {
  FakeKvStore store;
  testing::MemoryFiles files;
  files.files["lab.toml"] = testing::LabText();
  CoordinationOptions options = OptionsFor("a");
  options.tick = std::chrono::seconds(30);
  Coordination c(store, files, options, /*background=*/true);
  const std::string seen = std::string(kPrefix) + "seen/a";
  auto wait_for = [&](const std::string& text) {
    for (int i = 0; i < 500; ++i) {
      if (Contains(store.Value(seen), text)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  c.Observed("mercury", 0, true);
  REQUIRE(wait_for("\"answers\":true"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the first round's last calls
  const int before = store.calls;
  c.Observed("mercury", 0, false);
  REQUIRE(wait_for("\"answers\":false"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(store.calls - before == 1);
}

}  // namespace replplan::ops
