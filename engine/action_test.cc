// The list of action kinds exists once (ActionKindNames): every kind round-trips through its name,
// and schemas/plan.schema.json's enum of kinds is exactly that list, in the same order.
#include "engine/action.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <variant>
#include <set>
#include <string>
#include <vector>

namespace replplan {
namespace {

TEST_CASE("every ActionKind has one name, and the name reads back as that kind") {
  std::set<std::string> names;
  for (int k = 0; k <= static_cast<int>(kLastActionKind); ++k) {
    const ActionKind kind = static_cast<ActionKind>(k);
    const std::string name = ToString(kind);
    CAPTURE(name);
    CHECK(name != "unknown");
    CHECK(names.insert(name).second);  // no two kinds share a name
    CHECK(ActionKindFromString(name) == kind);
  }
  CHECK(ActionKindNames().size() == names.size());
  CHECK_FALSE(ActionKindFromString("unknown").has_value());
  CHECK_FALSE(ActionKindFromString("Seed-Replica").has_value());
}

TEST_CASE("set-global's settings come in name order, as text, typed, and are what its params render") {
  SetGlobalArgs args;
  args.server_id = 7;
  args.binlog_format = "ROW";
  args.read_only = false;
  args.rpl_semi_sync_master_timeout = 2000;
  std::vector<GlobalSetting> settings = GlobalSettings(args);
  REQUIRE(settings.size() == 4);
  CHECK(settings[0].name == "binlog_format");
  CHECK(settings[0].text == "ROW");
  CHECK(settings[0].type == GlobalSetting::Type::kWord);
  CHECK(settings[1].name == "read_only");
  CHECK(settings[1].text == "OFF");
  CHECK(settings[1].type == GlobalSetting::Type::kFlag);
  CHECK(settings[2].name == "rpl_semi_sync_master_timeout");
  CHECK(settings[2].text == "2000");
  CHECK(settings[2].type == GlobalSetting::Type::kNumber);
  CHECK(settings[3].name == "server_id");
  CHECK(settings[3].text == "7");
  std::map<std::string, std::string> rendered;
  for (const GlobalSetting& s : settings) rendered[s.name] = s.text;
  CHECK(rendered == RenderParams(args));
  CHECK(GlobalSettings(SetGlobalArgs{}).empty());
}

TEST_CASE("an app's steps, and only they, run in the app lane of their host") {
  std::set<std::string> app;
  for (const ActionKindName& entry : ActionKindNames()) {
    if (LaneOf(entry.kind) == ActionLane::kApp) app.insert(entry.name);
  }
  CHECK(app == std::set<std::string>{"rewrite-app-config", "restart-app", "check-health"});
}

TEST_CASE("each kind has its own args: the default args of a kind are of that kind and render its keys") {
  for (const ActionKindName& entry : ActionKindNames()) {
    CAPTURE(entry.name);
    ActionArgs args = DefaultArgs(entry.kind);
    CHECK(KindOf(args) == entry.kind);
    Action a;
    a.SetArgs(args);
    CHECK(a.kind == entry.kind);
    CHECK(a.args == args);
  }
  Action seed;
  seed.SetArgs(SeedReplicaArgs{"mercury", ReplicationMode::kFile, ""});
  CHECK(seed.kind == ActionKind::kSeedReplica);
  CHECK(RenderParams(seed.args) == std::map<std::string, std::string>{{"mode", "file"}, {"source", "mercury"}});
  CHECK(seed.Args<SeedReplicaArgs>().source == "mercury");
  CHECK_THROWS_AS(static_cast<void>(seed.Args<ChangeSourceArgs>()), std::bad_variant_access);
}

TEST_CASE("set-global values are read from their text once, in range, and rendered back the same") {
  SetGlobalArgs args;
  CHECK(SetGlobalFromText(args, "server_id", "4294967295").empty());
  CHECK(SetGlobalFromText(args, "read_only", "OFF").empty());
  CHECK(SetGlobalFromText(args, "binlog_format", "MIXED").empty());
  CHECK(SetGlobalFromText(args, "rpl_semi_sync_master_wait_point", "AFTER_SYNC").empty());
  CHECK(args.server_id == 4294967295U);
  CHECK(args.read_only == false);
  CHECK(RenderParams(args) == std::map<std::string, std::string>{{"binlog_format", "MIXED"},
                                                                  {"read_only", "OFF"},
                                                                  {"rpl_semi_sync_master_wait_point", "AFTER_SYNC"},
                                                                  {"server_id", "4294967295"}});
  CHECK(SetGlobalFromText(args, "server_id", "0") == "'0' is not a whole number in 1..4294967295");
  CHECK(SetGlobalFromText(args, "server_id", "4294967296") == "'4294967296' is not a whole number in 1..4294967295");
  CHECK(SetGlobalFromText(args, "server_id", "-1") == "'-1' is not a whole number in 1..4294967295");
  CHECK(SetGlobalFromText(args, "slave_net_timeout", "31536001") == "'31536001' is not a whole number in 1..31536000");
  CHECK(SetGlobalFromText(args, "read_only", "ON; DROP DATABASE mysql") == "'ON; DROP DATABASE mysql' is not ON or OFF");
  CHECK(SetGlobalFromText(args, "binlog_format", "ROW'") == "'ROW'' is not one of ROW, MIXED, STATEMENT");
  CHECK(SetGlobalFromText(args, "sql_mode", "") == "not a variable replplan sets at runtime");
  CHECK(args.server_id == 4294967295U);  // a refused value changes nothing
  CHECK(GlobalVariableNames().size() == 9);
}

TEST_CASE("schemas/plan.schema.json names exactly the action kinds, in enum order") {
  std::ifstream in(std::string(REPLPLAN_SOURCE_DIR) + "/schemas/plan.schema.json");
  REQUIRE(in.good());
  const nlohmann::json schema = nlohmann::json::parse(in);
  const std::vector<std::string> documented =
      schema.at(nlohmann::json::json_pointer("/$defs/action/properties/kind/enum")).get<std::vector<std::string>>();
  std::vector<std::string> listed;
  for (const ActionKindName& entry : ActionKindNames()) listed.push_back(entry.name);
  CHECK(documented == listed);
}

}  // namespace
}  // namespace replplan
