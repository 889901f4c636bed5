// The list of action kinds exists once (ActionKindNames): every kind round-trips through its name,
// and schemas/plan.schema.json's enum of kinds is exactly that list, in the same order.
#include "engine/action.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
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
