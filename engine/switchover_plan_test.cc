// The planner when the file moves the primary (switchover, failover), when a former primary comes
// back (rejoin), and when an app does not point at the primary.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/planner.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using testing::GiveApp;
using testing::InSyncLive;
using testing::LabTopology;
using testing::WithApp;

std::vector<std::string> Ids(const Plan& plan) { return testing::ActionIds(plan); }

const PlannedAction& Get(const Plan& plan, const std::string& id) {
  for (const auto& pa : plan.actions) {
    if (pa.action.id == id) return pa;
  }
  FAIL("no action " << id);
  throw 0;
}

bool Has(const Plan& plan, const std::string& id) {
  auto ids = Ids(plan);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool DependsOn(const Plan& plan, const std::string& id, const std::string& before) {
  const auto& deps = Get(plan, id).depends_on;
  return std::find(deps.begin(), deps.end(), before) != deps.end();
}

bool Before(const Plan& plan, const std::string& a, const std::string& b) {
  auto ids = Ids(plan);
  return std::find(ids.begin(), ids.end(), a) < std::find(ids.begin(), ids.end(), b);
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

const HostReport& Host(const Plan& plan, const std::string& name) {
  for (const auto& h : plan.hosts) {
    if (h.name == name) return h;
  }
  FAIL("no host " << name);
  throw 0;
}

// Three servers in sync with mercury as the live primary; the file now names `new_primary`.
struct Moved {
  Topology topology;
  LiveState live;
};
Moved PrimaryMovedTo(const std::string& new_primary, size_t servers = 3) {
  Moved m{LabTopology(servers), {}};
  m.live = InSyncLive(m.topology);
  m.topology.cluster.primary = new_primary;
  return m;
}

Plan MustPlan(const Moved& m, const PlanOptions& options = {}) {
  auto plan = BuildPlan(m.topology, m.live, options);
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  return std::move(plan).value();
}

std::string Refusal(const Moved& m, const PlanOptions& options = {}) {
  auto plan = BuildPlan(m.topology, m.live, options);
  REQUIRE_FALSE(plan.ok());
  return plan.status().message();
}

TEST_CASE("a new primary in the file is a switchover: fence, catch up, promote, then everyone follows it") {
  Moved m = PrimaryMovedTo("uranus");
  Plan plan = MustPlan(m);
  REQUIRE(plan.primary_change.has_value());
  CHECK(plan.primary_change->kind == "switchover");
  CHECK(plan.primary_change->from == "mercury");
  CHECK(plan.primary_change->to == "uranus");
  std::vector<std::string> want = {"mercury/fence-primary",      "uranus/wait-for-catch-up", "uranus/promote-replica",
                                   "mercury/change-source",      "mercury/start-replica",    "venus/change-source",
                                   "venus/start-replica"};
  std::vector<std::string> ids = Ids(plan);
  std::sort(ids.begin(), ids.end());
  std::sort(want.begin(), want.end());
  CHECK(ids == want);
  CHECK(DependsOn(plan, "uranus/wait-for-catch-up", "mercury/fence-primary"));
  CHECK(DependsOn(plan, "uranus/promote-replica", "uranus/wait-for-catch-up"));
  CHECK(DependsOn(plan, "venus/change-source", "uranus/promote-replica"));
  CHECK(DependsOn(plan, "mercury/change-source", "uranus/promote-replica"));
  CHECK(Before(plan, "mercury/fence-primary", "uranus/promote-replica"));
  // The old primary follows from its own binlog: its gtid_slave_pos may be stale from long ago.
  CHECK(RenderParams(Get(plan, "mercury/change-source").action.args).at("position") == "from-binlog");
  CHECK(RenderParams(Get(plan, "venus/change-source").action.args).at("position") == "keep");
  CHECK(RenderParams(Get(plan, "uranus/wait-for-catch-up").action.args).at("source") == "mercury");
  for (const auto& pa : plan.actions) CHECK_FALSE(pa.action.destructive);
}

TEST_CASE("a switchover waits for the new primary's own configuration before it fences the old one") {
  Moved m = PrimaryMovedTo("uranus", 2);
  m.live.servers["uranus"].server_id = 9;  // a SET GLOBAL on the candidate is still needed
  Plan plan = MustPlan(m);
  CHECK(DependsOn(plan, "mercury/fence-primary", "uranus/set-global"));
  // read_only is the promotion's job, not a SET GLOBAL of its own.
  CHECK(RenderParams(Get(plan, "uranus/set-global").action.args).count("read_only") == 0);
}

TEST_CASE("switchover refused when the candidate is not replicating") {
  Moved m = PrimaryMovedTo("uranus");
  m.live.servers["uranus"].channels[0].io_running = "No";
  m.live.servers["uranus"].channels[0].last_io_errno = 1045;
  m.live.servers["uranus"].channels[0].last_io_error = "Access denied";
  std::string why = Refusal(m);
  CHECK(why.find("switchover from mercury to uranus refused") != std::string::npos);
  CHECK(why.find("not replicating") != std::string::npos);
  CHECK(why.find("1045") != std::string::npos);
}

TEST_CASE("switchover refused when the candidate lags beyond switchover_max_lag") {
  Moved m = PrimaryMovedTo("uranus");
  m.topology.replication.switchover_max_lag = 10;
  m.live.servers["uranus"].channels[0].seconds_behind = 120;
  std::string why = Refusal(m);
  CHECK(why.find("120 s behind mercury") != std::string::npos);
  CHECK(why.find("switchover_max_lag = 10") != std::string::npos);
  m.live.servers["uranus"].channels[0].seconds_behind = 10;
  CHECK(BuildPlan(m.topology, m.live).ok());
}

TEST_CASE("switchover refused when the candidate holds transactions the primary lacks (errant GTIDs)") {
  Moved m = PrimaryMovedTo("uranus");
  m.live.servers["uranus"].gtid_binlog_pos = "0-2-43";  // written on uranus itself
  m.live.servers["uranus"].gtid_current_pos = "0-2-43";
  std::string why = Refusal(m);
  CHECK(why.find("errant GTIDs 0-2-43") != std::string::npos);
}

TEST_CASE("a candidate read after the busy primary, already ahead with the primary's own writes, is not errant") {
  Moved m = PrimaryMovedTo("uranus");
  // mercury (server_id 1) was read at 0-1-42; by the time uranus was read it had applied 0-1-45.
  m.live.servers["uranus"].gtid_current_pos = "0-1-45";
  m.live.servers["uranus"].gtid_binlog_pos = "0-1-45";
  auto plan = BuildPlan(m.topology, m.live);
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  CHECK(plan->primary_change.has_value());
}

TEST_CASE("an unreadable live primary is never replaced by plan: it says to run failover") {
  Moved m = PrimaryMovedTo("uranus");
  m.live.servers["mercury"].sql_ok = false;
  m.live.servers["mercury"].sql_error = "cannot connect to 127.0.0.61:3306: Connection refused (2002)";
  std::string why = Refusal(m);
  CHECK(why.find("replplan failover") != std::string::npos);
  CHECK(why.find("Connection refused") != std::string::npos);
}

TEST_CASE("failover (old primary confirmed down): relay log applied, promoted, the others repointed") {
  Moved m = PrimaryMovedTo("uranus");
  m.live.servers["mercury"].sql_ok = false;
  m.live.servers["mercury"].sql_error = "cannot connect";
  m.live.servers["uranus"].channels[0].io_running = "Connecting";
  m.live.servers["uranus"].channels[0].gtid_io_pos = "0-1-45";
  Plan plan = MustPlan(m, PlanOptions{"mercury", ""});
  REQUIRE(plan.primary_change.has_value());
  CHECK(plan.primary_change->kind == "failover");
  CHECK(Has(plan, "uranus/apply-relay-log"));
  CHECK_FALSE(Has(plan, "uranus/wait-for-catch-up"));
  CHECK_FALSE(Has(plan, "mercury/fence-primary"));
  CHECK(DependsOn(plan, "uranus/promote-replica", "uranus/apply-relay-log"));
  CHECK(DependsOn(plan, "venus/change-source", "uranus/promote-replica"));
  CHECK(Get(plan, "uranus/apply-relay-log").action.summary.find("0-1-45") != std::string::npos);
  for (const auto& pa : plan.actions) CHECK(pa.action.host != "mercury");
  CHECK(AnyContains(Host(plan, "mercury").notes, "is down"));
}

// After a failover: uranus is the primary and writable, venus follows it, mercury is back.
LiveState AfterFailover(const Topology& t, const std::string& mercury_binlog, bool mercury_writable) {
  LiveState live = InSyncLive(t);
  ServerState& mercury = live.servers["mercury"];
  mercury.channels.clear();
  mercury.gtid_slave_pos = "";
  mercury.gtid_binlog_pos = mercury_binlog;
  mercury.gtid_current_pos = mercury_binlog;
  mercury.read_only = !mercury_writable;
  for (auto* name : {"uranus", "venus"}) {
    live.servers[name].gtid_binlog_pos = "0-2-50";
    live.servers[name].gtid_current_pos = "0-2-50";
  }
  return live;
}

Topology UranusPrimary(size_t servers = 3) {
  Topology t = LabTopology(servers);
  t.cluster.primary = "uranus";
  return t;
}

TEST_CASE("a former primary whose binlog the new primary holds rejoins by GTID, not destructively") {
  Topology t = UranusPrimary();
  LiveState live = InSyncLive(t);
  ServerState& mercury = live.servers["mercury"];
  mercury.channels.clear();
  mercury.gtid_binlog_pos = "0-1-42";  // all of it replicated before the failover
  mercury.gtid_current_pos = "0-1-42";
  mercury.read_only = true;
  live.servers["uranus"].gtid_binlog_pos = "";  // seeded, promoted, no write since: an empty binlog
  live.servers["uranus"].gtid_current_pos = "";
  live.servers["uranus"].gtid_slave_pos = "";
  live.servers["uranus"].gtid_current_pos = "0-1-42";
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  REQUIRE(Has(*plan, "mercury/change-source"));
  CHECK(RenderParams(Get(*plan, "mercury/change-source").action.args).at("position") == "from-binlog");
  CHECK(Has(*plan, "mercury/start-replica"));
  CHECK_FALSE(Has(*plan, "mercury/seed-replica"));
  CHECK_FALSE(plan->primary_change.has_value());
}

TEST_CASE("a former primary with transactions the new primary lacks is reseeded, destructively, naming them, when "
          "the file says errant_transactions = reseed") {
  Topology t = UranusPrimary();
  t.cluster.errant_transactions = ErrantRemedy::kReseed;  // the default refuses (errant_plan_test)
  LiveState live = AfterFailover(t, "0-1-55", false);
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  REQUIRE(Has(*plan, "mercury/seed-replica"));
  CHECK(Get(*plan, "mercury/seed-replica").action.destructive);
  CHECK(AnyContains(Get(*plan, "mercury/seed-replica").action.reasons, "0-1-51..0-1-55"));
  CHECK(AnyContains(Host(*plan, "mercury").notes, "holds errant transactions 0-1-51..0-1-55"));
}

TEST_CASE("a former primary that came back writable is fenced before anything else happens to it") {
  Topology t = UranusPrimary();
  LiveState live = AfterFailover(t, "0-1-42", true);
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  REQUIRE(Has(*plan, "mercury/fence-primary"));
  CHECK(DependsOn(*plan, "mercury/change-source", "mercury/fence-primary"));
  // The fence sets read_only; no second SET GLOBAL read_only for it.
  if (Has(*plan, "mercury/set-global")) {
    CHECK(RenderParams(Get(*plan, "mercury/set-global").action.args).count("read_only") == 0);
  }
}

TEST_CASE("switching back to a seeded replica whose own binlog is empty is no errant transaction") {
  Moved m = PrimaryMovedTo("uranus", 2);
  m.live.servers["uranus"].gtid_binlog_pos = "";  // restored from a dump with sql_log_bin=0, no write since
  m.live.servers["uranus"].gtid_current_pos = "0-1-42";
  auto plan = BuildPlan(m.topology, m.live);
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  CHECK(plan->primary_change.has_value());
}

TEST_CASE("a fresh writable server is not mistaken for a former primary") {
  Topology t = LabTopology(2);
  LiveState live = testing::FreshLive(t);
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  CHECK_FALSE(Has(*plan, "uranus/fence-primary"));
  CHECK(Has(*plan, "uranus/seed-replica"));
}

// --- apps ---------------------------------------------------------------------------------------

constexpr const char* kDatabaseYml =
    "# Secondhand\n"
    "default: &default\n"
    "  adapter: mysql2\n"
    "  encoding: utf8mb4\n"
    "  username: pierre\n"
    "  password: <%= ENV[\"SECONDHAND_DB_PASSWORD\"] %>\n"
    "\n"
    "development:\n"
    "  <<: *default\n"
    "  database: secondhand_development\n"
    "\n"
    "production:\n"
    "  <<: *default\n"
    "  host: 127.0.0.61\n"
    "  port: 3306\n"
    "  database: secondhand_production\n";

TEST_CASE("an app pointing at the primary needs nothing") {
  Topology t = WithApp(LabTopology(2), {"mercury", "uranus"}, "http://127.0.0.61:3000/up");
  LiveState live = InSyncLive(t);
  GiveApp(live, "mercury", kDatabaseYml);
  GiveApp(live, "uranus", kDatabaseYml);
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  CHECK(plan->actions.empty());
}

TEST_CASE("on a switchover every app host is rewritten and restarted after the promotion, then checked once") {
  Moved m = PrimaryMovedTo("uranus");
  m.topology = WithApp(m.topology, {"mercury", "uranus"}, "http://127.0.0.61:3000/up");
  GiveApp(m.live, "mercury", kDatabaseYml);
  GiveApp(m.live, "uranus", kDatabaseYml);
  Plan plan = MustPlan(m);
  for (const char* host : {"mercury", "uranus"}) {
    std::string rewrite = std::string(host) + "/rewrite-app-config/secondhand";
    std::string restart = std::string(host) + "/restart-app/secondhand";
    REQUIRE(Has(plan, rewrite));
    CHECK(DependsOn(plan, rewrite, "uranus/promote-replica"));
    CHECK(DependsOn(plan, restart, rewrite));
    CHECK(DependsOn(plan, "mercury/check-health/secondhand", restart));
    const Action& a = Get(plan, rewrite).action;
    CHECK(RenderParams(a.args).at("primary") == "uranus");
    REQUIRE(a.changes.size() == 1);  // the port is right already
    CHECK(a.changes[0].key == "host");
    CHECK(a.changes[0].from == "127.0.0.61");
    CHECK(a.changes[0].to == "127.0.0.66");
  }
}

TEST_CASE("an app whose host is ERB is left alone with a note; an unreadable one is a note too") {
  Topology t = WithApp(UranusPrimary(2), {"mercury", "uranus"}, "");
  LiveState live = InSyncLive(t);
  std::string erb = kDatabaseYml;
  erb.replace(erb.find("host: 127.0.0.61"), 16, "host: <%= ENV[\"DB_HOST\"] %>");
  GiveApp(live, "mercury", erb);
  LiveAppConfig unreadable;
  unreadable.app = "secondhand";
  unreadable.error = "Permission denied";
  live.servers["uranus"].app_configs.push_back(unreadable);
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  CHECK_FALSE(Has(*plan, "mercury/rewrite-app-config/secondhand"));
  CHECK(AnyContains(Host(*plan, "mercury").notes, "is ERB"));
  CHECK(AnyContains(Host(*plan, "uranus").notes, "Permission denied"));
}

TEST_CASE("a database.yml whose merges replplan cannot bound is a note, not a rewrite") {
  Topology t = WithApp(UranusPrimary(2), {"mercury"}, "");
  LiveState live = InSyncLive(t);
  std::string deep = "s0: &s0\n  adapter: mysql2\n";
  for (int k = 1; k < 70; ++k) {
    deep += "s" + std::to_string(k) + ": &s" + std::to_string(k) + "\n  <<: *s" + std::to_string(k - 1) + "\n";
  }
  GiveApp(live, "mercury", deep + "production:\n  <<: *s69\n");
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  CHECK_FALSE(Has(*plan, "mercury/rewrite-app-config/secondhand"));
  CHECK(AnyContains(Host(*plan, "mercury").notes,
                    "app secondhand: database.yml: the '<<' merges at 's6' (line 13) nest more than 64 sections "
                    "deep; replplan stops reading there: merge each anchor once, a few levels deep; not repointed"));
}

TEST_CASE("an app naming a database or user the topology does not declare gets a note") {
  Topology t = WithApp(LabTopology(2), {"mercury"}, "");
  LiveState live = InSyncLive(t);
  std::string other = kDatabaseYml;
  other.replace(other.find("database: secondhand_production"), 32, "database: shop_production");
  GiveApp(live, "mercury", other);
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  CHECK(AnyContains(Host(*plan, "mercury").notes, "database shop_production is not a [[database]]"));
}

}  // namespace
}  // namespace replplan
