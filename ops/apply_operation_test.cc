// apply's protocol (ops/apply.h) over fakes: what is refused, when, and what is then executed.
#include "ops/apply.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/fingerprint.h"
#include "engine/planner_fixtures.h"
#include "engine/topology_text_fixture.h"
#include "engine/topology_parser.h"
#include "ops/fake_world.h"

namespace replplan::ops {
namespace {

using replplan::testing::ActionIds;
using replplan::testing::FreshLive;
using replplan::testing::HealthyChannel;
using replplan::testing::InSyncLive;

// The lab's three hosts (examples/lab-3.toml), `primary` as given.
std::string LabToml(const std::string& primary = "mercury") { return replplan::testing::LabTopologyToml(primary); }

Topology Parsed(const std::string& text) {
  TopologyParse parse = ParseTopology(text, "lab.toml");
  REQUIRE(parse.ok());
  return parse.topology;
}

// A fake world whose lab.toml is LabToml(primary) and whose servers answer as `live`.
struct Lab {
  explicit Lab(const std::string& primary = "mercury") {
    fakes.files.files["lab.toml"] = LabToml(primary);
    topology = Parsed(LabToml(primary));
  }
  // The fresh hosts of a new install: a plan of many actions, none destructive.
  Lab& Fresh() {
    fakes.live.state = FreshLive(topology);
    return *this;
  }
  // The plan apply would make now, as `plan --out` saves it, at `path`.
  Plan Save(const std::string& path) {
    auto loaded = LoadTopology(fakes.files, "lab.toml", nullptr);
    REQUIRE(loaded.ok());
    auto plan = PlanLive(world, *loaded, 10, nullptr);
    REQUIRE(plan.ok());
    auto json = PlanJsonText(*plan);
    REQUIRE(json.ok());
    fakes.files.files[path] = *json + "\n";
    return *plan;
  }
  // An interactive apply of `path` that answers `answer` at the prompt and notes what it was shown.
  ApplyRequest Request(const std::string& path = "lab.toml", bool answer = true) {
    ApplyRequest request;
    request.path = path;
    request.parallelism = 1;
    request.owner = "replplan apply by test@here (pid 1)";
    request.show = [this](const Plan& plan) { shown.push_back(plan); };
    request.approve = [this, answer](const Plan& plan) -> Result<bool> {
      asked.push_back(plan);
      if (while_asking) while_asking();
      return answer;
    };
    request.executing = [this](const Plan&) { ++executing; };
    return request;
  }

  testing::FakeWorld fakes;
  World world = fakes.world();
  Topology topology;
  std::vector<Plan> shown, asked;
  std::function<void()> while_asking;  // what changes while the prompt waits
  int executing = 0;
};

void CheckNothingExecuted(const Lab& lab, const ApplyOutcome& outcome) {
  CHECK(lab.fakes.executors.executed.empty());
  CHECK(lab.fakes.executors.made == 0);
  CHECK(lab.executing == 0);
  CHECK(!outcome.report);
  CHECK(lab.fakes.promotions.calls == 0);
  CHECK(lab.fakes.locks.alive == 0);  // whatever was taken is released
}

TEST_CASE("a successful apply shows the plan, asks, locks, and executes exactly the plan's actions in order") {
  Lab lab;
  lab.Fresh();
  ApplyOutcome outcome = Apply(lab.world, lab.Request());

  CHECK(outcome.refusal.ok());
  REQUIRE(outcome.plan);
  REQUIRE(outcome.approved);
  REQUIRE(outcome.plan->actions.size() > 5);
  CHECK(lab.fakes.executors.executed == ActionIds(*outcome.plan));
  CHECK(ActionIds(*outcome.approved) == ActionIds(*outcome.plan));
  REQUIRE(lab.shown.size() == 1);
  CHECK(ActionIds(lab.shown[0]) == ActionIds(*outcome.plan));
  CHECK(lab.asked.size() == 1);
  CHECK(lab.executing == 1);
  // Read once for the prompt and once again under the lock; every action ran under the lock, taken
  // on the primary with the owner line and the clock's time.
  CHECK(lab.fakes.live.reads == 2);
  CHECK(lab.fakes.executors.always_locked);
  CHECK(lab.fakes.locks.taken == std::vector<std::string>{"mercury"});
  CHECK(lab.fakes.locks.owners ==
        std::vector<std::string>{"replplan apply by test@here (pid 1) since 2025-12-06T00:00:00Z"});
  CHECK(lab.fakes.locks.alive == 0);
  CHECK(outcome.plan->created_at == "2025-12-06T00:00:00Z");
  CHECK(outcome.plan->topology_digest == ContentDigest(LabToml()));
  REQUIRE(outcome.report);
  CHECK(outcome.report->done() == static_cast<int>(outcome.plan->actions.size()));
  CHECK(lab.fakes.promotions.calls == 1);
  CHECK(lab.fakes.secrets.checks == 1);
  CHECK(outcome.ok());
}

TEST_CASE("with --yes nothing is asked and the plan shown is the one made under the lock") {
  Lab lab;
  lab.Fresh();
  ApplyRequest request = lab.Request();
  request.yes = true;
  ApplyOutcome outcome = Apply(lab.world, request);
  CHECK(outcome.refusal.ok());
  CHECK(lab.asked.empty());
  CHECK(!outcome.approved);
  REQUIRE(lab.shown.size() == 1);
  REQUIRE(outcome.plan);
  CHECK(ActionIds(lab.shown[0]) == ActionIds(*outcome.plan));
  CHECK(lab.fakes.executors.executed == ActionIds(*outcome.plan));
  CHECK(lab.fakes.executors.always_locked);
  CHECK(outcome.ok());
}

TEST_CASE("a cluster already as the file says is shown, and nothing is asked, locked or executed") {
  Lab lab;
  lab.fakes.live.state = InSyncLive(lab.topology);
  ApplyOutcome outcome = Apply(lab.world, lab.Request());
  CHECK(outcome.refusal.ok());
  REQUIRE(outcome.plan);
  CHECK(!outcome.plan->has_changes());
  CHECK(lab.shown.size() == 1);
  CHECK(lab.asked.empty());
  CHECK(lab.fakes.locks.taken.empty());
  CheckNothingExecuted(lab, outcome);
  CHECK(outcome.ok());
}

TEST_CASE("approval declined executes nothing and takes no lock") {
  Lab lab;
  lab.Fresh();
  ApplyOutcome outcome = Apply(lab.world, lab.Request("lab.toml", false));
  CHECK(outcome.declined);
  CHECK(outcome.refusal.ok());
  CHECK(lab.asked.size() == 1);
  CHECK(lab.fakes.locks.taken.empty());
  CheckNothingExecuted(lab, outcome);
  CHECK(!outcome.ok());
}

TEST_CASE("an approval that cannot be asked (no terminal) refuses with its reason, and nothing executes") {
  Lab lab;
  lab.Fresh();
  ApplyRequest request = lab.Request();
  request.approve = [](const Plan&) -> Result<bool> { return Status::FailedPrecondition("apply needs approval"); };
  ApplyOutcome outcome = Apply(lab.world, request);
  CHECK(outcome.refusal.message() == "apply needs approval");
  CHECK(lab.fakes.locks.taken.empty());
  CheckNothingExecuted(lab, outcome);
}

TEST_CASE("a saved plan whose topology file changed since is refused, and nothing is locked or executed") {
  Lab lab;
  lab.Fresh();
  lab.Save("plan.json");
  lab.fakes.files.files["lab.toml"] += "# edited after the plan was saved\n";
  ApplyOutcome outcome = Apply(lab.world, lab.Request("plan.json"));
  CHECK(outcome.refusal.message() ==
        "plan.json: lab.toml has changed since this plan was saved; run `replplan plan` again");
  CHECK(lab.asked.empty());
  CHECK(lab.fakes.locks.taken.empty());
  CheckNothingExecuted(lab, outcome);
}

TEST_CASE("a saved plan that records no topology digest is refused, and nothing executes") {
  Lab lab;
  lab.Fresh();
  lab.Save("plan.json");
  nlohmann::json json = nlohmann::json::parse(lab.fakes.files.files["plan.json"]);
  REQUIRE(json.contains("topology_digest"));
  json.erase("topology_digest");
  lab.fakes.files.files["plan.json"] = json.dump();
  ApplyOutcome outcome = Apply(lab.world, lab.Request("plan.json"));
  CHECK(outcome.refusal.message() ==
        "plan.json: the plan records no topology_digest; make it with `replplan plan --out` and apply that");
  CheckNothingExecuted(lab, outcome);
}

TEST_CASE("a saved plan still current is approved as saved and executed action by action") {
  Lab lab;
  lab.Fresh();
  Plan saved = lab.Save("plan.json");
  ApplyOutcome outcome = Apply(lab.world, lab.Request("plan.json"));
  CHECK(outcome.refusal.ok());
  REQUIRE(lab.asked.size() == 1);
  CHECK(ActionIds(lab.asked[0]) == ActionIds(saved));
  CHECK(lab.fakes.executors.executed == ActionIds(saved));
  CHECK(lab.fakes.executors.always_locked);
  CHECK(outcome.ok());
}

TEST_CASE("a saved plan edited by hand is refused under the lock: the plan made now is not the saved one") {
  Lab lab;
  lab.Fresh();
  Plan saved = lab.Save("plan.json");
  nlohmann::json json = nlohmann::json::parse(lab.fakes.files.files["plan.json"]);
  // The last action: nothing depends on it, so the edited plan still reads as a plan.
  std::string dropped = json["actions"].back()["id"];
  json["actions"].erase(json["actions"].size() - 1);
  lab.fakes.files.files["plan.json"] = json.dump();
  ApplyOutcome outcome = Apply(lab.world, lab.Request("plan.json"));
  const std::string& message = outcome.refusal.message();
  CHECK(message.rfind("plan.json: the plan computed now under the lock is not the saved one; nothing was changed; "
                      "run `replplan plan` again:\n  ", 0) == 0);
  CHECK(message.find(dropped) != std::string::npos);
  CHECK(lab.fakes.locks.taken == std::vector<std::string>{"mercury"});
  CheckNothingExecuted(lab, outcome);
}

TEST_CASE("servers that change while the prompt waits make the plan under the lock differ: refused, nothing executes") {
  Lab lab;
  lab.Fresh();
  // While the operator reads, venus is set up by someone else: the state read under the lock differs.
  lab.while_asking = [&lab] { lab.fakes.live.state.servers["venus"] = InSyncLive(lab.topology).servers["venus"]; };
  ApplyOutcome outcome = Apply(lab.world, lab.Request());
  REQUIRE(outcome.approved);
  REQUIRE(outcome.plan);
  CHECK(outcome.approved->state_fingerprint != outcome.plan->state_fingerprint);
  CHECK(outcome.refusal.message() == "the live servers changed while the plan waited for approval (state " +
                                         outcome.approved->state_fingerprint + ", now " +
                                         outcome.plan->state_fingerprint + "); nothing was changed; run apply again");
  CheckNothingExecuted(lab, outcome);
}

TEST_CASE("a topology file edited while the prompt waits is refused under the lock, and nothing executes") {
  Lab lab;
  lab.Fresh();
  lab.while_asking = [&lab] { lab.fakes.files.files["lab.toml"] += "# edited while the prompt waited\n"; };
  ApplyOutcome outcome = Apply(lab.world, lab.Request());
  CHECK(outcome.refusal.message() ==
        "lab.toml changed while the plan waited for approval; nothing was changed; run apply again");
  CHECK(lab.fakes.locks.taken == std::vector<std::string>{"mercury"});
  CheckNothingExecuted(lab, outcome);
}

TEST_CASE("a lock held by another apply refuses, naming its holder, and nothing executes") {
  Lab lab;
  lab.Fresh();
  lab.fakes.locks.holder = "replplan apply by alice@ops-1 (pid 4242) since 2025-12-05T23:59:00Z";
  ApplyOutcome outcome = Apply(lab.world, lab.Request());
  CHECK(outcome.refusal.message().find("locked by replplan apply by alice@ops-1 (pid 4242)") != std::string::npos);
  CHECK(lab.asked.size() == 1);  // approval comes before the lock
  CheckNothingExecuted(lab, outcome);
}

// mercury is the primary but still replicates from a server long gone: RESET SLAVE ALL on it, a
// destructive action.
void MakeDestructive(Lab& lab) {
  lab.fakes.live.state = InSyncLive(lab.topology);
  ReplicaChannel stale = HealthyChannel(lab.topology.servers[0]);
  stale.source_host = "192.0.2.10";
  lab.fakes.live.state.servers["mercury"].channels.push_back(stale);
}

TEST_CASE("a destructive plan without allow_destructive is refused before approval, and nothing executes") {
  Lab lab;
  MakeDestructive(lab);
  ApplyOutcome outcome = Apply(lab.world, lab.Request());
  CHECK(outcome.refusal.message().find("--allow-destructive") != std::string::npos);
  CHECK(outcome.refusal.message().find("mercury/reset-replica") != std::string::npos);
  CHECK(lab.shown.size() == 1);  // shown, so the operator sees what would be destroyed
  CHECK(lab.asked.empty());
  CHECK(lab.fakes.locks.taken.empty());
  CheckNothingExecuted(lab, outcome);
}

TEST_CASE("a destructive plan with --yes but without allow_destructive is refused, and nothing executes") {
  Lab lab;
  MakeDestructive(lab);
  ApplyRequest request = lab.Request();
  request.yes = true;
  ApplyOutcome outcome = Apply(lab.world, request);
  CHECK(outcome.refusal.message().find("--allow-destructive") != std::string::npos);
  CheckNothingExecuted(lab, outcome);
}

TEST_CASE("a destructive plan with allow_destructive is asked and executed") {
  Lab lab;
  MakeDestructive(lab);
  ApplyRequest request = lab.Request();
  request.allow_destructive = true;
  ApplyOutcome outcome = Apply(lab.world, request);
  CHECK(outcome.refusal.ok());
  CHECK(lab.asked.size() == 1);
  REQUIRE(outcome.plan);
  CHECK(lab.fakes.executors.executed == ActionIds(*outcome.plan));
  CHECK(lab.fakes.executors.executed == std::vector<std::string>{"mercury/reset-replica"});
}

TEST_CASE("a switchover by an edited file locks the new primary and the live one, then records the promotion") {
  Lab lab("uranus");
  // The servers as they are: mercury the primary, the others replicating from it.
  lab.fakes.live.state = InSyncLive(Parsed(LabToml("mercury")));
  ApplyOutcome outcome = Apply(lab.world, lab.Request());
  CHECK(outcome.refusal.ok());
  REQUIRE(outcome.plan);
  REQUIRE(outcome.plan->primary_change);
  CHECK(outcome.plan->primary_change->kind == "switchover");
  CHECK(lab.fakes.locks.taken == std::vector<std::string>{"uranus", "mercury"});
  CHECK(lab.fakes.executors.executed == ActionIds(*outcome.plan));
  CHECK(lab.fakes.promotions.calls == 1);
  CHECK(outcome.promotion == "epoch recorded\n");
}

TEST_CASE("a file that cannot be read is refused before anything is read or locked") {
  Lab lab;
  ApplyOutcome outcome = Apply(lab.world, lab.Request("missing.toml"));
  CHECK(outcome.refusal.message() == "cannot read missing.toml");
  CHECK(lab.fakes.live.reads == 0);
  CheckNothingExecuted(lab, outcome);
}

// venus's mariadbd is not running (server-down): the plan starts it and cannot plan its SQL side.
LiveState VenusDown(const Topology& topology) {
  LiveState live = InSyncLive(topology);
  replplan::testing::RefusesSql(live, "venus", /*mariadbd_running=*/false);
  return live;
}

TEST_CASE("a host started as its remedy is read again after it, and apply is ok when the cluster is then as the file says") {
  Lab lab;
  lab.fakes.live.state = VenusDown(lab.topology);
  lab.fakes.executors.on_execute = [&lab](const Action& a) {
    if (a.id == "venus/restart-server") lab.fakes.live.state = InSyncLive(lab.topology);
  };
  ApplyOutcome outcome = Apply(lab.world, lab.Request());
  REQUIRE(outcome.plan);
  CHECK(ActionIds(*outcome.plan) == std::vector<std::string>{"venus/restart-server"});
  CHECK(outcome.plan->incomplete());
  CHECK(lab.fakes.live.reads == 3);  // for the prompt, under the lock, after the repair
  REQUIRE(outcome.after_repair);
  CHECK(!outcome.after_repair->has_changes());
  CHECK(!outcome.after_repair_report);
  CHECK(lab.fakes.locks.alive == 0);
  CHECK(outcome.ok());
}

TEST_CASE("what is left after a host was started is carried out under the same lock; a host still unread is not ok") {
  Lab lab;
  lab.fakes.live.state = VenusDown(lab.topology);
  lab.fakes.executors.on_execute = [&lab](const Action& a) {
    if (a.id != "venus/restart-server") return;
    lab.fakes.live.state = InSyncLive(lab.topology);
    lab.fakes.live.state.servers["venus"].channels[0].io_running = "No";  // started with its threads stopped
    lab.fakes.live.state.servers["venus"].channels[0].sql_running = false;
  };
  ApplyOutcome outcome = Apply(lab.world, lab.Request());
  REQUIRE(outcome.after_repair);
  CHECK(ActionIds(*outcome.after_repair) == std::vector<std::string>{"venus/start-replica"});
  CHECK(lab.fakes.executors.executed == std::vector<std::string>{"venus/restart-server", "venus/start-replica"});
  CHECK(lab.fakes.executors.always_locked);
  REQUIRE(outcome.after_repair_report);
  CHECK(outcome.ok());

  // The start did not bring it back: still unread, apply is not ok.
  Lab down;
  down.fakes.live.state = VenusDown(down.topology);
  ApplyOutcome still = Apply(down.world, down.Request());
  REQUIRE(still.after_repair);
  CHECK(still.after_repair->incomplete());
  CHECK(down.fakes.executors.executed == std::vector<std::string>{"venus/restart-server"});
  CHECK_FALSE(still.ok());
}

}  // namespace
}  // namespace replplan::ops
