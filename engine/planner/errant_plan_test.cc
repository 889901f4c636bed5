// Errant transactions in the plan (engine/planner/errant.cc): what each cluster.errant_transactions
// remedy plans for a replica that wrote transactions of its own (venus, server_id 3, wrote 0-3-43
// while the primary mercury stands at 0-1-42), and what it holds back.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/plan.h"
#include "engine/plan_check.h"
#include "engine/planner.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

struct Errant {
  Topology t = testing::LabTopology(3);
  LiveState live = testing::InSyncLive(t);
  Errant() {
    live.servers["venus"].gtid_binlog_pos = "0-3-43";
    live.servers["venus"].gtid_current_pos = "0-3-43";
  }
  Plan Planned() const {
    auto plan = BuildPlan(t, live, {});
    REQUIRE_MESSAGE(plan.ok(), plan.status().message());
    return *plan;
  }
};

const HostReport& Host(const Plan& plan, const std::string& name) {
  for (const HostReport& h : plan.hosts) {
    if (h.name == name) return h;
  }
  FAIL("no host " << name);
  return plan.hosts.front();
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

const Action* Find(const Plan& plan, const std::string& id) {
  for (const PlannedAction& pa : plan.actions) {
    if (pa.action.id == id) return &pa.action;
  }
  return nullptr;
}

// Whether `id` waits for `before` directly.
bool Waits(const Plan& plan, const std::string& id, const std::string& before) {
  for (const PlannedAction& pa : plan.actions) {
    if (pa.action.id == id) return std::find(pa.depends_on.begin(), pa.depends_on.end(), before) != pa.depends_on.end();
  }
  return false;
}

// venus with NO channel, writable, that wrote 0-3-43 after it last applied mercury's 0-1-42 (a
// replica whose channel was reset, or a former primary): PlanRejoin finds the errant GTID and the
// file's errant_transactions decides.
struct Channelless : Errant {
  Channelless() {
    ServerState& venus = live.servers["venus"];
    venus.channels.clear();
    venus.read_only = false;
    venus.gtid_slave_pos = "0-1-42";
  }
};

bool HasCondition(const Plan& plan, const std::string& host, const std::string& type, const std::string& evidence) {
  for (const Condition& c : plan.conditions) {
    if (c.host == host && c.type == type && AnyContains(c.evidence, evidence)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("errant transactions, refuse (the default): named, both remedies explained, nothing planned, incomplete") {
  Errant e;
  e.live.servers["mercury"].databases.clear();  // a replicated create-database would collide with 0-3-43
  Plan plan = e.Planned();
  CHECK(plan.incomplete());
  const HostReport& venus = Host(plan, "venus");
  REQUIRE(venus.unresolved.size() == 1);
  CHECK(venus.unresolved[0] ==
        "errant transactions 0-3-43 on venus: cluster.errant_transactions = refuse in lab.toml (also when unset): "
        "choose a remedy there");
  CHECK(AnyContains(venus.notes, "errant_transactions = \"inject-empty\""));
  CHECK(AnyContains(venus.notes, "errant_transactions = \"reseed\" (DESTRUCTIVE"));
  CHECK(AnyContains(venus.notes, "mariadb-binlog on venus"));
  for (const PlannedAction& pa : plan.actions) {
    CHECK_MESSAGE(pa.action.host != "venus", pa.action.id);
    CHECK_MESSAGE(pa.action.kind != ActionKind::kCreateDatabase, pa.action.id);
    CHECK_MESSAGE(pa.action.kind != ActionKind::kInjectEmptyTransactions, pa.action.id);
  }
  CHECK(AnyContains(Host(plan, "mercury").notes, "no replicated statement"));
  const std::string text = RenderPlanText(plan);
  CHECK(text.find("  unresolved: errant transactions 0-3-43 on venus") != std::string::npos);
  CHECK(text.find("Unresolved on venus") != std::string::npos);
  CHECK(text.find("No changes. The live servers match") == std::string::npos);
  // A saved plan keeps it: apply of it is incomplete too.
  auto back = PlanFromJson(PlanToJson(plan));
  REQUIRE(back.ok());
  CHECK(back->incomplete());
  CHECK(Host(*back, "venus").unresolved == venus.unresolved);
}

TEST_CASE("errant transactions, inject-empty: one action on the primary with the GTIDs, before replicated statements") {
  Errant e;
  e.t.cluster.errant_transactions = ErrantRemedy::kInjectEmpty;
  e.live.servers["venus"].gtid_binlog_pos = "0-3-45,7-3-2";
  e.live.servers["venus"].gtid_current_pos = "0-3-45,7-3-2";
  e.live.servers["mercury"].databases.clear();
  Plan plan = e.Planned();
  CHECK_FALSE(plan.incomplete());
  const Action* inject = Find(plan, "mercury/inject-empty-transactions/venus");
  REQUIRE(inject != nullptr);
  const auto& args = inject->Args<InjectEmptyTransactionsArgs>();
  CHECK(args.replica == "venus");
  CHECK(args.gtids == std::vector<GtidRange>{{0, 3, 43, 45}, {7, 3, 1, 2}});
  CHECK(RenderParams(inject->args) == std::map<std::string, std::string>{{"replica", "venus"},
                                                                           {"gtids", "0-3-43..0-3-45,7-3-1..7-3-2"}});
  CHECK_FALSE(inject->destructive);
  // The create-database would take 0-1-43 and collide: it waits for the injection.
  bool waits = false;
  for (const PlannedAction& pa : plan.actions) {
    if (pa.action.kind == ActionKind::kCreateDatabase) {
      waits = std::find(pa.depends_on.begin(), pa.depends_on.end(), inject->id) != pa.depends_on.end();
    }
  }
  CHECK(waits);
  CHECK(AnyContains(Host(plan, "venus").notes, "the rows venus wrote stay on venus alone"));
  Status fits = CheckPlanAgainstTopology(plan, e.t);
  CHECK_MESSAGE(fits.ok(), fits.message());
  // The saved plan reads back to the same args; a file that chose otherwise since makes it stale.
  auto back = PlanFromJson(PlanToJson(plan));
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  const Action* read = Find(*back, inject->id);
  REQUIRE(read != nullptr);
  CHECK(std::get<InjectEmptyTransactionsArgs>(read->args) == args);
  Topology refuse = e.t;
  refuse.cluster.errant_transactions = ErrantRemedy::kRefuse;
  CHECK(CheckPlanAgainstTopology(plan, refuse).message().find("sets cluster.errant_transactions = refuse") !=
        std::string::npos);
}

TEST_CASE("errant transactions, inject-empty cannot reconcile a conflict: unresolved, the reseed named") {
  Errant e;
  e.t.cluster.errant_transactions = ErrantRemedy::kInjectEmpty;
  e.live.servers["venus"].gtid_binlog_pos = "0-3-42";
  e.live.servers["venus"].gtid_current_pos = "0-3-42";
  Plan plan = e.Planned();
  CHECK(plan.incomplete());
  CHECK(Find(plan, "mercury/inject-empty-transactions/venus") == nullptr);
  REQUIRE(Host(plan, "venus").unresolved.size() == 1);
  CHECK(Host(plan, "venus").unresolved[0].find("cannot reconcile 0-3-42 vs 0-1-42") != std::string::npos);
}

namespace {

// venus reseeded for its errant 0-3-43 (DESTRUCTIVE), then replicating from the seed's position.
void CheckReseeded(const Plan& plan) {
  CHECK_FALSE(plan.incomplete());
  const Action* seed = Find(plan, "venus/seed-replica");
  REQUIRE(seed != nullptr);
  CHECK(seed->destructive);
  CHECK(AnyContains(seed->reasons, "holds transactions mercury lacks (0-3-43)"));
  REQUIRE(Find(plan, "venus/change-source") != nullptr);
  CHECK(RenderParams(Find(plan, "venus/change-source")->args).at("position") == "from-seed");
  CHECK(Find(plan, "venus/start-replica") != nullptr);
  CHECK(Find(plan, "uranus/seed-replica") == nullptr);
  CHECK(Find(plan, "mercury/inject-empty-transactions/venus") == nullptr);
}

}  // namespace

TEST_CASE("errant transactions, reseed: the replica is reseeded (DESTRUCTIVE), nothing unresolved") {
  Errant e;
  e.t.cluster.errant_transactions = ErrantRemedy::kReseed;
  CheckReseeded(e.Planned());
}

TEST_CASE("no errant transactions: no note, nothing unresolved, whatever the setting") {
  for (ErrantRemedy remedy : {ErrantRemedy::kRefuse, ErrantRemedy::kInjectEmpty, ErrantRemedy::kReseed}) {
    Errant e;
    e.t.cluster.errant_transactions = remedy;
    e.live.servers["venus"].gtid_binlog_pos = "0-1-42";
    e.live.servers["venus"].gtid_current_pos = "0-1-42";
    Plan plan = e.Planned();
    CHECK_FALSE(plan.incomplete());
    CHECK_FALSE(plan.has_changes());
    CHECK(Host(plan, "venus").notes.empty());
  }
}

TEST_CASE("split brain: the writable replica is fenced with the reason named, the primary untouched") {
  Errant e;
  e.live.servers["venus"].read_only = false;
  Plan plan = e.Planned();
  const Action* fence = Find(plan, "venus/set-global");
  REQUIRE(fence != nullptr);
  CHECK(fence->Args<SetGlobalArgs>().read_only == true);
  CHECK(AnyContains(fence->reasons, "split brain: mercury accepts writes too; only venus is fenced"));
  CHECK(AnyContains(fence->reasons, "READ ONLY ADMIN"));
  for (const PlannedAction& pa : plan.actions) CHECK_MESSAGE(pa.action.host != "mercury", pa.action.id);
  bool named = false;
  for (const Condition& c : plan.conditions) {
    if (c.type != "split-brain") continue;
    named = true;
    CHECK(c.host == "venus");
    CHECK(std::find(c.evidence.begin(), c.evidence.end(), "venus has, mercury lacks: 0-3-43") != c.evidence.end());
    CHECK(std::find(c.evidence.begin(), c.evidence.end(), "mercury has, venus lacks: nothing") != c.evidence.end());
    CHECK(c.cause.find("fences venus (read_only=ON) and never touches mercury's data") != std::string::npos);
  }
  CHECK(named);
}

TEST_CASE("errant transactions on a server with no channel, refuse (the default): named, unresolved, only fenced") {
  Channelless e;
  Plan plan = e.Planned();
  CHECK(plan.incomplete());
  CHECK(HasCondition(plan, "venus", "errant-transactions", "errant GTIDs: 0-3-43"));
  const HostReport& venus = Host(plan, "venus");
  REQUIRE(venus.unresolved.size() == 1);
  CHECK(venus.unresolved[0] ==
        "errant transactions 0-3-43 on venus: cluster.errant_transactions = refuse in lab.toml (also when unset): "
        "choose a remedy there");
  CHECK(AnyContains(venus.notes, "errant_transactions = \"reseed\" (DESTRUCTIVE"));
  // It stops taking writes (not destructive); nothing else is done to it or for it.
  CHECK(Find(plan, "venus/fence-primary") != nullptr);
  for (const PlannedAction& pa : plan.actions) {
    CHECK_FALSE_MESSAGE(pa.action.destructive, pa.action.id);
    if (pa.action.host == "venus") CHECK_MESSAGE(pa.action.kind == ActionKind::kFencePrimary, pa.action.id);
    CHECK_MESSAGE(pa.action.kind != ActionKind::kInjectEmptyTransactions, pa.action.id);
  }
}

TEST_CASE("errant transactions on a server with no channel, inject-empty: the primary injects, then it rejoins by GTID") {
  Channelless e;
  e.t.cluster.errant_transactions = ErrantRemedy::kInjectEmpty;
  Plan plan = e.Planned();
  CHECK_FALSE(plan.incomplete());
  const Action* inject = Find(plan, "mercury/inject-empty-transactions/venus");
  REQUIRE(inject != nullptr);
  CHECK(inject->Args<InjectEmptyTransactionsArgs>().gtids == std::vector<GtidRange>{{0, 3, 43, 43}});
  const Action* change = Find(plan, "venus/change-source");
  REQUIRE(change != nullptr);
  CHECK(RenderParams(change->args).at("position") == "from-binlog");
  CHECK(Waits(plan, "venus/change-source", inject->id));
  CHECK(Waits(plan, "venus/change-source", "venus/fence-primary"));
  CHECK(Find(plan, "venus/start-replica") != nullptr);
  CHECK(Find(plan, "venus/seed-replica") == nullptr);
  for (const PlannedAction& pa : plan.actions) CHECK_FALSE_MESSAGE(pa.action.destructive, pa.action.id);
  CHECK(AnyContains(Host(plan, "venus").notes, "the rows venus wrote stay on venus alone"));
  Status fits = CheckPlanAgainstTopology(plan, e.t);
  CHECK_MESSAGE(fits.ok(), fits.message());
}

TEST_CASE("inject-empty for a server with no channel: refused when the primary may hold writes it lacks") {
  Channelless e;
  e.t.cluster.errant_transactions = ErrantRemedy::kInjectEmpty;
  SUBCASE("it applied an older transaction of the primary's last") { e.live.servers["venus"].gtid_slave_pos = "0-1-41"; }
  SUBCASE("it never applied anything: a former primary, the new one wrote 0-1-42 since") {
    e.live.servers["venus"].gtid_slave_pos = "";
  }
  Plan plan = e.Planned();
  CHECK(plan.incomplete());
  CHECK(Find(plan, "mercury/inject-empty-transactions/venus") == nullptr);
  CHECK(Find(plan, "venus/change-source") == nullptr);
  CHECK(Find(plan, "venus/seed-replica") == nullptr);
  REQUIRE(Host(plan, "venus").unresolved.size() == 1);
  CHECK(Host(plan, "venus").unresolved[0].find("mercury's last transaction of that domain, 0-1-42, is not known to be "
                                               "on venus") != std::string::npos);
}

TEST_CASE("inject-empty for a former primary whose writes the new primary never followed with its own") {
  Topology t = testing::LabTopology(3);
  t.cluster.primary = "uranus";
  t.cluster.errant_transactions = ErrantRemedy::kInjectEmpty;
  LiveState live = testing::InSyncLive(t);
  ServerState& mercury = live.servers["mercury"];  // server_id 1: wrote up to 0-1-45, uranus got 0-1-42
  mercury.channels.clear();
  mercury.gtid_slave_pos = "";
  mercury.gtid_binlog_pos = mercury.gtid_current_pos = "0-1-45";
  mercury.read_only = true;
  for (const char* name : {"uranus", "venus"}) {
    live.servers[name].gtid_binlog_pos = live.servers[name].gtid_current_pos = "0-1-42";
  }
  auto plan = BuildPlan(t, live, {});
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  CHECK_FALSE(plan->incomplete());
  const Action* inject = Find(*plan, "uranus/inject-empty-transactions/mercury");
  REQUIRE(inject != nullptr);
  CHECK(inject->Args<InjectEmptyTransactionsArgs>().gtids == std::vector<GtidRange>{{0, 1, 43, 45}});
  CHECK(Waits(*plan, "mercury/change-source", inject->id));
  CHECK(Find(*plan, "mercury/seed-replica") == nullptr);
}

TEST_CASE("errant transactions on a server with no channel, reseed: seeded (DESTRUCTIVE), then it replicates") {
  Channelless e;
  e.t.cluster.errant_transactions = ErrantRemedy::kReseed;
  CheckReseeded(e.Planned());
}

}  // namespace replplan

namespace replplan {
namespace {

// The not-replicating condition's cause on `host` ("" when there is none).
std::string NotReplicatingCause(const Plan& plan, const std::string& host) {
  for (const Condition& c : plan.conditions) {
    if (c.host == host && c.type == "not-replicating") return c.cause;
  }
  return "";
}

}  // namespace

// What the cause says `replplan apply` does is what the plan beside it does: a seed only for a
// server with nothing of its own, a rejoin at its own GTID position for one whose whole position the
// primary holds, and cluster.errant_transactions' remedy for one holding transactions it lacks.
TEST_CASE("not-replicating: the cause says what apply does for a server with no channel (seed, rejoin, errant)") {
  SUBCASE("it holds no GTID: seeded") {
    Channelless e;
    e.live.servers["venus"].gtid_binlog_pos = e.live.servers["venus"].gtid_current_pos = "";
    e.live.servers["venus"].gtid_slave_pos = "";
    Plan plan = e.Planned();
    CHECK(NotReplicatingCause(plan, "venus") == "venus does not replicate from anyone: `replplan apply` seeds it");
    CHECK(Find(plan, "venus/seed-replica") != nullptr);
  }
  SUBCASE("file/position replication: seeded, whatever it holds") {
    Channelless e;
    e.t.replication.mode = ReplicationMode::kFile;
    e.live.servers["venus"].gtid_binlog_pos = e.live.servers["venus"].gtid_current_pos = "0-1-42";
    Plan plan = e.Planned();
    CHECK(NotReplicatingCause(plan, "venus") == "venus does not replicate from anyone: `replplan apply` seeds it");
    CHECK(Find(plan, "venus/seed-replica") != nullptr);
  }
  SUBCASE("everything it holds is on the primary: it rejoins at its own position, no seed") {
    Channelless e;
    e.live.servers["venus"].gtid_binlog_pos = e.live.servers["venus"].gtid_current_pos = "0-1-42";
    Plan plan = e.Planned();
    CHECK(NotReplicatingCause(plan, "venus") ==
          "venus does not replicate from anyone; everything it holds (0-1-42) is on mercury: `replplan apply` rejoins "
          "it by GTID at its own position, without a seed");
    CHECK(Find(plan, "venus/seed-replica") == nullptr);
    REQUIRE(Find(plan, "venus/change-source") != nullptr);
    CHECK(RenderParams(Find(plan, "venus/change-source")->args).at("position") == "from-binlog");
  }
  SUBCASE("errant, refuse: nothing changes its replication") {
    Channelless e;
    Plan plan = e.Planned();
    CHECK(NotReplicatingCause(plan, "venus") ==
          "venus does not replicate from anyone and holds transactions mercury lacks (errant-transactions): "
          "`replplan apply` changes nothing on it while cluster.errant_transactions = refuse");
    CHECK(Find(plan, "venus/change-source") == nullptr);
    CHECK(Find(plan, "venus/seed-replica") == nullptr);
  }
  SUBCASE("errant, inject-empty: the primary injects, it rejoins at its own position") {
    Channelless e;
    e.t.cluster.errant_transactions = ErrantRemedy::kInjectEmpty;
    Plan plan = e.Planned();
    CHECK(NotReplicatingCause(plan, "venus").find("holds transactions mercury lacks (errant-transactions): mercury "
                                                  "commits them as empty transactions and `replplan apply` rejoins it "
                                                  "by GTID at its own position") != std::string::npos);
    CHECK(Find(plan, "mercury/inject-empty-transactions/venus") != nullptr);
    CHECK(Find(plan, "venus/seed-replica") == nullptr);
  }
  SUBCASE("errant, reseed: reseeded") {
    Channelless e;
    e.t.cluster.errant_transactions = ErrantRemedy::kReseed;
    Plan plan = e.Planned();
    CHECK(NotReplicatingCause(plan, "venus").find("`replplan apply` reseeds it (cluster.errant_transactions = reseed") !=
          std::string::npos);
    CHECK(Find(plan, "venus/seed-replica") != nullptr);
  }
  SUBCASE("the primary cannot be read: decided once it can") {
    Channelless e;
    e.live.servers["venus"].gtid_binlog_pos = e.live.servers["venus"].gtid_current_pos = "0-1-42";
    testing::RefusesSql(e.live, "mercury", true);
    Plan plan = e.Planned();
    CHECK(NotReplicatingCause(plan, "venus") ==
          "venus does not replicate from anyone and holds 0-1-42: `replplan apply` rejoins it by GTID at that "
          "position if mercury holds all of it, else does what cluster.errant_transactions says; which is decided "
          "once mercury's position can be read");
    CHECK(Find(plan, "venus/seed-replica") == nullptr);
    CHECK(Find(plan, "venus/change-source") == nullptr);
  }
}

}  // namespace replplan
