// Saved plans read back: the golden plan round-trips byte for byte, and every way a plan file can
// be wrong is refused with the exact JSON path and reason.
#include "engine/plan.h"

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/planner.h"
#include "engine/plan_check.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using nlohmann::json;

json Golden() {
  std::ifstream in(std::string(REPLPLAN_SOURCE_DIR) + "/examples/lab-fresh.plan.json");
  std::ostringstream text;
  text << in.rdbuf();
  REQUIRE_FALSE(text.str().empty());
  return json::parse(text.str());
}

// The message PlanFromJson refuses `doc` with; fails the test when it accepts it.
std::string ErrorOf(const json& doc) {
  Result<Plan> plan = PlanFromJson(doc);
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().code() == Status::Code::kInvalidArgument);
  return plan.status().message();
}

Plan MustRead(const json& doc) {
  Result<Plan> plan = PlanFromJson(doc);
  INFO(plan.status().message());
  REQUIRE(plan.ok());
  return std::move(plan).value();
}

// The plan made for `live` as JSON, checked to read back as written into `back`.
json RoundTrip(const Topology& t, const LiveState& live, Plan& back) {
  Result<Plan> built = BuildPlan(t, live);
  REQUIRE(built.ok());
  json j = PlanToJson(*built);
  back = MustRead(j);
  CHECK(PlanToJson(back) == j);
  return j;
}

TEST_CASE("every action kind name parses back to its kind") {
  for (int k = static_cast<int>(ActionKind::kEditConfig); k <= static_cast<int>(kLastActionKind); ++k) {
    ActionKind kind = static_cast<ActionKind>(k);
    CAPTURE(ToString(kind));
    CHECK(ActionKindFromString(ToString(kind)) == kind);
  }
  CHECK_FALSE(ActionKindFromString("frobnicate").has_value());
  CHECK_FALSE(ActionKindFromString("").has_value());
  CHECK_FALSE(ActionKindFromString("Seed-Replica").has_value());
}

TEST_CASE("the golden plan (examples/lab-fresh.plan.json) round-trips exactly") {
  json golden = Golden();
  Plan plan = MustRead(golden);
  CHECK(PlanToJson(plan) == golden);
  CHECK(PlanToJson(plan).dump(2) == golden.dump(2));

  // And it holds what apply needs, not only the same bytes.
  CHECK(plan.cluster == "lab");
  CHECK(plan.primary == "mercury");
  CHECK(plan.replication_mode == "gtid");
  REQUIRE(plan.actions.size() == 12);
  const PlannedAction& seed = plan.actions[9];
  CHECK(seed.action.id == "uranus/seed-replica");
  CHECK(seed.action.kind == ActionKind::kSeedReplica);
  CHECK(seed.action.host == "uranus");
  CHECK(RenderParams(seed.action.args).at("source") == "mercury");
  CHECK(seed.depends_on.size() == 6);
  CHECK(plan.topology_digest.empty());
  CHECK(plan.created_at.empty());
}

TEST_CASE("plans from the planner round-trip, an unreadable host and a destructive action included") {
  using namespace testing;
  Topology t = LabTopology(3);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].channels.clear();  // re-seed over data: destructive
  live.servers["uranus"].gtid_binlog_pos = "";
  live.servers["uranus"].gtid_current_pos = "";
  live.servers["uranus"].gtid_slave_pos = "";
  live.servers["venus"].sql_ok = false;
  live.servers["venus"].sql_error = "cannot connect";
  Result<Plan> built = BuildPlan(t, live);
  REQUIRE(built.ok());
  Plan plan = std::move(built).value();
  plan.topology_digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  plan.created_at = "2024-05-01T12:34:56Z";
  json j = PlanToJson(plan);
  CHECK(j["topology_digest"] == "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  CHECK(j["created_at"] == "2024-05-01T12:34:56Z");
  CHECK(j["complete"] == false);
  CHECK(j["summary"]["destructive"] == 1);

  Plan back = MustRead(j);
  CHECK(PlanToJson(back) == j);
  CHECK(back.topology_digest == plan.topology_digest);
  CHECK(back.created_at == plan.created_at);
  CHECK(back.incomplete());
  REQUIRE(back.actions.size() == plan.actions.size());
  for (size_t i = 0; i < plan.actions.size(); ++i) {
    CHECK(back.actions[i].action.kind == plan.actions[i].action.kind);
    CHECK(back.actions[i].action.destructive == plan.actions[i].action.destructive);
    CHECK(back.actions[i].depends_on == plan.actions[i].depends_on);
  }
}

TEST_CASE("the plan's conditions read back as written; a plan without them (older replplan) reads as none") {
  using namespace testing;
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].channels[0].io_running = "No";
  live.servers["uranus"].channels[0].sql_running = false;
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  REQUIRE(plan->conditions.size() == 1);
  json j = PlanToJson(*plan);
  REQUIRE(j["conditions"].size() == 1);
  CHECK(j["conditions"][0]["type"] == "replica-stopped");
  CHECK(j["conditions"][0]["severity"] == "degraded");
  CHECK(j["conditions"][0]["host"] == "uranus");
  CHECK(j["conditions"][0]["error_number"] == 0);
  Plan back = MustRead(j);
  REQUIRE(back.conditions.size() == 1);
  CHECK(back.conditions[0].type == "replica-stopped");
  CHECK(back.conditions[0].severity == Severity::kDegraded);
  CHECK(back.conditions[0].evidence == plan->conditions[0].evidence);
  CHECK(PlanToJson(back) == j);

  json older = j;
  older.erase("conditions");
  CHECK(MustRead(older).conditions.empty());

  json bad = j;
  bad["conditions"][0]["severity"] = "fatal";
  CHECK(ErrorOf(bad).find("conditions[0].severity: 'fatal' is not one of degraded, broken") != std::string::npos);
  bad = j;
  bad["conditions"][0]["host"] = "pluto";
  CHECK(ErrorOf(bad) == "conditions[0].host: 'pluto' is not among hosts");
}

TEST_CASE("topology_digest and created_at are left out of the JSON until the CLI sets them") {
  json golden = Golden();
  CHECK_FALSE(golden.contains("topology_digest"));
  CHECK_FALSE(golden.contains("created_at"));
  json schema = json::parse(std::ifstream(std::string(REPLPLAN_SOURCE_DIR) + "/schemas/plan.schema.json"));
  for (std::string key : {"topology_digest", "created_at"}) {
    CAPTURE(key);
    CHECK(schema["properties"].contains(key));
    CHECK(std::find(schema["required"].begin(), schema["required"].end(), key) == schema["required"].end());
  }
}

TEST_CASE("sensitive changes stay (sensitive): the plan carries no secret to read") {
  json golden = Golden();
  Plan plan = MustRead(golden);
  const Action& create_user = plan.actions[5].action;
  REQUIRE(create_user.id == "mercury/create-user/pierre@%");
  int sensitive = 0;
  for (const PlannedAction& pa : plan.actions) {
    for (const Change& c : pa.action.changes) {
      if (!c.sensitive) continue;
      ++sensitive;
      CHECK(c.from.empty());
      CHECK(c.to.empty());
    }
  }
  CHECK(sensitive == 4);
  std::string rendered = PlanToJson(plan).dump();
  CHECK(rendered.find("\"from\":\"(sensitive)\",\"key\":\"password\"") != std::string::npos);
}

TEST_CASE("a sensitive change holding a value is refused without echoing it") {
  json doc = Golden();
  doc["actions"][3]["changes"][1]["to"] = "hunter2";
  REQUIRE(doc["actions"][3]["changes"][1]["sensitive"] == true);
  std::string error = ErrorOf(doc);
  CHECK(error ==
        "actions[3].changes[1]: a sensitive change must read \"(sensitive)\" in from and to (a plan never holds a "
        "secret)");
  CHECK(error.find("hunter2") == std::string::npos);
}

TEST_CASE("params are decoded into the kind's typed args: a value out of range names the key and the action") {
  json doc = Golden();
  doc["actions"][2]["params"]["server_id"] = "0";
  CHECK(ErrorOf(doc) == "actions[2].params.server_id: '0' is not a whole number in 1..4294967295 (in mercury/set-global)");
  doc = Golden();
  doc["actions"][2]["params"]["read_only"] = "ON; DROP DATABASE mysql";
  CHECK(ErrorOf(doc) ==
        "actions[2].params.read_only: 'ON; DROP DATABASE mysql' is not ON or OFF (in mercury/set-global)");
  doc = Golden();
  doc["actions"][2]["params"]["sql_mode"] = "";
  CHECK(ErrorOf(doc) == "actions[2].params.sql_mode: unknown key");
  doc = Golden();
  doc["actions"][2]["params"]["read_onyl"] = "ON";
  CHECK(ErrorOf(doc) == "actions[2].params.read_onyl: unknown key (did you mean 'read_only'?)");
  doc = Golden();
  doc["actions"][1]["params"]["settings"] = "log_bin,datadir";
  CHECK(ErrorOf(doc) ==
        "actions[1].params.settings: 'datadir' is not a static setting replplan restarts for (log_bin, bind_address, "
        "log_slave_updates, report_host) (in mercury/restart-server)");
  doc = Golden();
  doc["actions"][0]["params"]["section"] = "client";
  CHECK(ErrorOf(doc) == "actions[0].params.section: 'client' is not one of mysqld (in mercury/edit-config)");
  doc = Golden();
  doc["actions"][10]["params"]["use_gtid"] = "slave_pso";
  CHECK(ErrorOf(doc) == "actions[10].params.use_gtid: 'slave_pso' is not one of slave_pos, current_pos, no (did you "
                        "mean 'slave_pos'?) (in uranus/change-source)");
  doc = Golden();
  doc["actions"][10]["params"].erase("position");
  CHECK(ErrorOf(doc) == "actions[10].params.position: missing; expected a string");
  doc = Golden();
  doc["actions"][9]["params"]["mode"] = "row";
  CHECK(ErrorOf(doc) == "actions[9].params.mode: 'row' is not one of gtid, file (in uranus/seed-replica)");
  doc = Golden();
  doc["actions"][11]["params"]["source"] = "mercury";
  CHECK(ErrorOf(doc) == "actions[11].params.source: unknown key");
  doc = Golden();
  doc["actions"][9]["params"]["drops"] = "";
  CHECK(ErrorOf(doc) == "actions[9].params.drops: empty; leave the key out (in uranus/seed-replica)");
  doc = Golden();
  doc["actions"][3]["params"]["binlog"] = "on";
  CHECK(ErrorOf(doc) == "actions[3].params.binlog: 'on' is not one of off (in mercury/create-replication-user)");
}

TEST_CASE("change-source at binlog coordinates (file/position 1201) round-trips; a bad position is refused") {
  using namespace testing;
  Topology t = LabTopology(2);
  t.replication.mode = ReplicationMode::kFile;
  LiveState live = InSyncLive(t);
  ReplicaChannel& c = StoppedFileChannel(live, "uranus");
  c.last_io_errno = 1201;
  c.relay_source_log_file = "mysql-bin.000003";
  c.exec_source_log_pos = 4567;
  Plan back;
  json j = RoundTrip(t, live, back);
  const auto& args = back.actions[1].action.Args<ChangeSourceArgs>();
  CHECK(args.position == StartPosition::kAt);
  CHECK(args.log_file == "mysql-bin.000003");
  CHECK(args.log_pos == 4567);
  j["actions"][1]["params"]["log_pos"] = "0";
  CHECK(ErrorOf(j) == "actions[1].params.log_pos: '0' is not a binlog position (a whole number from 1) (in "
                      "uranus/change-source)");
  j["actions"][1]["params"]["log_pos"] = "4567";
  j["actions"][1]["params"]["log_file"] = "x'; DROP TABLE t; --";
  Plan edited = MustRead(j);
  CHECK_FALSE(CheckPlanAgainstTopology(edited, t).ok());
}

TEST_CASE("skip-transaction round-trips with its GTID; a value that is not one GTID is refused") {
  using namespace testing;
  Topology t = LabTopology(2);
  t.cluster.on_data_error = DataErrorRemedy::kSkip;
  LiveState live = InSyncLive(t);
  live.servers["uranus"].gtid_slave_pos = "0-1-6";
  live.servers["uranus"].failed_gtid = "0-1-7";
  ReplicaChannel& c = live.servers["uranus"].channels[0];
  c.sql_running = false;
  c.last_sql_errno = 1062;
  Plan back;
  json j = RoundTrip(t, live, back);
  CHECK(back.actions[0].action.Args<SkipTransactionArgs>().gtid == "0-1-7");
  j["actions"][0]["params"]["gtid"] = "0-1-7,1-1-1";
  CHECK(ErrorOf(j) == "actions[0].params.gtid: '0-1-7,1-1-1' is not one GTID (domain-server_id-seq) (in "
                      "uranus/skip-transaction/0-1-7)");
}

TEST_CASE("a saved plan reads back into typed args: grants as a list, server names, the start position") {
  Plan plan = MustRead(Golden());
  const auto& user = plan.actions[5].action.Args<CreateUserArgs>();
  CHECK(user.user == "pierre");
  CHECK(user.grants == std::vector<std::string>{"ALL PRIVILEGES ON `secondhand_production`.*"});
  CHECK(plan.actions[1].action.Args<RestartServerArgs>().settings ==
        std::vector<std::string>{"log_bin", "log_slave_updates", "report_host"});
  CHECK(plan.actions[2].action.Args<SetGlobalArgs>().read_only == false);
  CHECK_FALSE(plan.actions[2].action.Args<SetGlobalArgs>().server_id.has_value());
  const auto& change = plan.actions[10].action.Args<ChangeSourceArgs>();
  CHECK(change.source == "mercury");
  CHECK(change.use_gtid == UseGtid::kSlavePos);
  CHECK(change.position == StartPosition::kFromSeed);
}

TEST_CASE("a missing field is named by its path") {
  json doc = Golden();
  doc["actions"][1].erase("summary");
  CHECK(ErrorOf(doc) == "actions[1].summary: missing; expected a string");

  doc = Golden();
  doc.erase("state_fingerprint");
  CHECK(ErrorOf(doc) == "state_fingerprint: missing; expected a string");

  doc = Golden();
  doc["hosts"][1].erase("ssh_ok");
  CHECK(ErrorOf(doc) == "hosts[1].ssh_ok: missing; expected a boolean");
}

TEST_CASE("a wrong type is named with what was expected and what was found") {
  json doc = Golden();
  doc["actions"][0]["destructive"] = "no";
  CHECK(ErrorOf(doc) == "actions[0].destructive: expected a boolean, got a string");

  doc = Golden();
  doc["actions"][0]["params"]["section"] = 3;
  CHECK(ErrorOf(doc) == "actions[0].params.section: expected a string, got an integer");

  doc = Golden();
  doc["actions"][2]["depends_on"] = "mercury/restart-server";
  CHECK(ErrorOf(doc) == "actions[2].depends_on: expected an array, got a string");

  doc = Golden();
  doc["actions"][2]["reasons"][0] = nullptr;
  CHECK(ErrorOf(doc) == "actions[2].reasons[0]: expected a string, got null");

  doc = Golden();
  doc["actions"][4] = json::array();
  CHECK(ErrorOf(doc) == "actions[4]: expected an object, got an array");

  CHECK(ErrorOf(json::array()) == "(document): expected an object, got an array");
}

TEST_CASE("an unknown action kind is refused, with a suggestion when it is a typo") {
  json doc = Golden();
  doc["actions"][3]["kind"] = "frobnicate";
  CHECK(ErrorOf(doc) == "actions[3].kind: unknown action kind 'frobnicate'");

  doc["actions"][3]["kind"] = "seed-replcia";
  CHECK(ErrorOf(doc) == "actions[3].kind: unknown action kind 'seed-replcia' (did you mean 'seed-replica'?)");

  // Every kind is a candidate, the failover ones too (the suggestions once knew only the first 11).
  doc["actions"][3]["kind"] = "promote-replcia";
  CHECK(ErrorOf(doc) == "actions[3].kind: unknown action kind 'promote-replcia' (did you mean 'promote-replica'?)");
  doc["actions"][3]["kind"] = "check-helth";
  CHECK(ErrorOf(doc) == "actions[3].kind: unknown action kind 'check-helth' (did you mean 'check-health'?)");
}

TEST_CASE("a dependency must name an earlier action") {
  json doc = Golden();
  doc["actions"][11]["depends_on"][0] = "uranus/frobnicate";
  CHECK(ErrorOf(doc) == "actions[11].depends_on[0]: unknown action id 'uranus/frobnicate'");

  doc = Golden();
  doc["actions"][11]["depends_on"][0] = "uranus/change-sourc";
  CHECK(ErrorOf(doc) ==
        "actions[11].depends_on[0]: unknown action id 'uranus/change-sourc' (did you mean 'uranus/change-source'?)");

  // Out of order (or a cycle): apply would wait for something that has not run yet.
  doc = Golden();
  doc["actions"][6]["depends_on"].push_back("uranus/start-replica");
  CHECK(ErrorOf(doc) ==
        "actions[6].depends_on[0]: 'uranus/start-replica' does not come before actions[6] (an action must come "
        "after everything it depends on)");

  doc = Golden();
  doc["actions"][6]["depends_on"].push_back("uranus/edit-config");
  CHECK(ErrorOf(doc).find("actions[6].depends_on[0]: 'uranus/edit-config' does not come before") == 0);
}

TEST_CASE("ids are unique and hosts are known") {
  json doc = Golden();
  doc["actions"][7]["id"] = "uranus/edit-config";
  CHECK(ErrorOf(doc) == "actions[7].id: duplicate action id 'uranus/edit-config'");

  doc = Golden();
  doc["actions"][7]["host"] = "uranu";
  CHECK(ErrorOf(doc) == "actions[7].host: 'uranu' is not among hosts (did you mean 'uranus'?)");

  doc = Golden();
  doc["hosts"][1]["name"] = "mercury";
  CHECK(ErrorOf(doc) == "hosts[1].name: duplicate host 'mercury'");

  doc = Golden();
  doc["primary"] = "pluto";
  CHECK(ErrorOf(doc) == "primary: 'pluto' is not among hosts");
}

TEST_CASE("only format_version 1 is read") {
  json doc = Golden();
  doc["format_version"] = 2;
  doc["something_new"] = true;  // the version is reported, not the field it brought
  CHECK(ErrorOf(doc) ==
        "format_version: 2 is not supported: this replplan reads format_version 1 (make the plan again with this "
        "version)");

  doc = Golden();
  doc.erase("format_version");
  CHECK(ErrorOf(doc) == "format_version: missing; expected an integer");

  doc = Golden();
  doc["format_version"] = "1";
  CHECK(ErrorOf(doc) == "format_version: expected an integer, got a string");
}

TEST_CASE("a key outside the format is refused, with a suggestion for a typo") {
  json doc = Golden();
  doc["actions"][0]["depend_on"] = json::array();
  CHECK(ErrorOf(doc) == "actions[0].depend_on: unknown key (did you mean 'depends_on'?)");

  doc = Golden();
  doc["comment"] = "reviewed by ana";
  CHECK(ErrorOf(doc) == "comment: unknown key");
}

TEST_CASE("enumerations and digests are checked") {
  json doc = Golden();
  doc["flavor"] = "mariadbb";
  CHECK(ErrorOf(doc) == "flavor: 'mariadbb' is not one of mariadb, mysql (did you mean 'mariadb'?)");

  doc = Golden();
  doc["hosts"][0]["role"] = "leader";
  CHECK(ErrorOf(doc) == "hosts[0].role: 'leader' is not one of primary, replica");

  doc = Golden();
  doc["state_fingerprint"] = "2FE546EB42B54076";
  CHECK(ErrorOf(doc) == "state_fingerprint: '2FE546EB42B54076' is not a digest (64 lower-case hex digits, SHA-256)");

  doc = Golden();
  doc["topology_digest"] = "abc";
  CHECK(ErrorOf(doc) == "topology_digest: 'abc' is not a digest (64 lower-case hex digits, SHA-256)");
}

}  // namespace
}  // namespace replplan
