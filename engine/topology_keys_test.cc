// The parser's key lists (engine/topology_keys.h) and schemas/topology.schema.json describe the
// same file: a key the parser accepts but the schema lacks makes the schema reject a valid file
// (editors and check_schemas.py flag it), and a key the schema names but the parser rejects is a
// documented setting that cannot be used.
#include "engine/topology_keys.h"
#include "engine/topology_parser.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace replplan {
namespace {

using topology_keys::Keys;

nlohmann::json LoadSchema() {
  std::ifstream in(std::string(REPLPLAN_SOURCE_DIR) + "/schemas/topology.schema.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::set<std::string> Sorted(const Keys& keys) {
  std::set<std::string> out(keys.begin(), keys.end());
  REQUIRE(out.size() == keys.size());  // a key listed twice is a mistake of its own
  return out;
}

// The keys of the object schema at `pointer`; for a oneOf, the union of its alternatives' keys.
std::set<std::string> SchemaKeys(const nlohmann::json& schema, const std::string& pointer) {
  const nlohmann::json& node = schema.at(nlohmann::json::json_pointer(pointer));
  std::set<std::string> out;
  if (node.contains("oneOf")) {
    for (const nlohmann::json& alternative : node.at("oneOf")) {
      for (const auto& [key, value] : alternative.at("properties").items()) out.insert(key);
    }
    return out;
  }
  for (const auto& [key, value] : node.at("properties").items()) out.insert(key);
  return out;
}

struct Table {
  const char* label;
  const Keys& keys;
  const char* pointer;  // where the schema describes that table (for a oneOf: the oneOf's owner)
};

std::vector<Table> Tables() {
  using namespace topology_keys;
  return {
      {"top level", TopLevelKeys(), ""},
      {"[cluster]", ClusterKeys(), "/properties/cluster"},
      {"[replication]", ReplicationKeys(), "/properties/replication"},
      {"[watch]", WatchKeys(), "/properties/watch"},
      {"[defaults]", DefaultsKeys(), "/properties/defaults"},
      {"ssh", SshKeys(), "/$defs/ssh"},
      {"mysql", MysqlKeys(), "/$defs/mysql"},
      {"[[server]]", ServerKeys(), "/properties/server/items"},
      {"[[database]]", DatabaseKeys(), "/properties/database/items"},
      {"[[user]]", UserKeys(), "/properties/user/items"},
      {"[[app]]", AppKeys(), "/properties/app/items"},
      {"secret", SecretKeys(), "/$defs/secret"},
  };
}

// Every place in the schema that lists properties, as a JSON pointer to the object that owns them
// (a oneOf's alternatives are reported as the oneOf's owner).
void CollectObjects(const nlohmann::json& node, const std::string& pointer, std::set<std::string>* out) {
  if (!node.is_object()) return;
  if (node.contains("properties")) out->insert(pointer);
  for (const auto& [key, child] : node.items()) {
    if (key == "oneOf" && child.is_array()) {
      for (const nlohmann::json& alternative : child) {
        if (alternative.is_object() && alternative.contains("properties")) out->insert(pointer);
      }
      continue;
    }
    if (key == "properties" || key == "$defs") {
      for (const auto& [name, sub] : child.items()) CollectObjects(sub, pointer + "/" + key + "/" + name, out);
    } else if (child.is_object()) {
      CollectObjects(child, pointer + "/" + key, out);
    }
  }
}

TEST_CASE("every table's keys are the same in the parser and in schemas/topology.schema.json") {
  const nlohmann::json schema = LoadSchema();
  for (const Table& table : Tables()) {
    CAPTURE(table.label);
    const std::set<std::string> parser = Sorted(table.keys);
    const std::set<std::string> documented = SchemaKeys(schema, table.pointer);
    for (const std::string& key : parser) {
      CAPTURE(key);
      CHECK_MESSAGE(documented.count(key) == 1, "the parser accepts '", key, "' in ", table.label,
                    " but the schema does not name it");
    }
    for (const std::string& key : documented) {
      CAPTURE(key);
      CHECK_MESSAGE(parser.count(key) == 1, "the schema names '", key, "' in ", table.label,
                    " but the parser rejects it");
    }
  }
}

TEST_CASE("the schema describes no table the parser's key lists do not cover") {
  const nlohmann::json schema = LoadSchema();
  std::set<std::string> objects;
  CollectObjects(schema, "", &objects);
  std::set<std::string> covered;
  for (const Table& table : Tables()) covered.insert(table.pointer);
  for (const std::string& pointer : objects) {
    CAPTURE(pointer);
    CHECK(covered.count(pointer) == 1);
  }
  CHECK(objects.size() == covered.size());
}

TEST_CASE("every table rejects keys it does not name, in the schema as in the parser") {
  // The parser rejects unknown keys in every table (RejectUnknownKeys); the schema must too, or an
  // editor validating against it would accept a typo the parser refuses.
  const nlohmann::json schema = LoadSchema();
  for (const Table& table : Tables()) {
    CAPTURE(table.label);
    const nlohmann::json& node = schema.at(nlohmann::json::json_pointer(table.pointer));
    if (node.contains("oneOf")) {
      for (const nlohmann::json& alternative : node.at("oneOf")) CHECK(alternative.value("additionalProperties", true) == false);
    } else {
      CHECK(node.value("additionalProperties", true) == false);
    }
  }
}

TEST_CASE("log_bin: the schema's pattern and the parser take the same values (relative to the datadir too)") {
  const nlohmann::json schema = LoadSchema();
  const nlohmann::json& log_bin = schema.at(nlohmann::json::json_pointer("/properties/server/items/properties/log_bin"));
  // JSON Schema patterns are ECMA-262 and match anywhere (a search), as std::regex_search does.
  const std::regex pattern(log_bin.at("pattern").get<std::string>(), std::regex::ECMAScript);
  const std::string head =
      "[cluster]\nname = \"t\"\nprimary = \"a\"\n[replication]\nuser = \"repl\"\npassword = { env = \"R\" }\n"
      "[[server]]\nname = \"a\"\naddress = \"10.0.0.1\"\nserver_id = 1\n"
      "mysql = { user = \"root\", password = { env = \"A\" } }\nlog_bin = ";
  for (const char* value : {"mysql-bin", "mysql-bin.log", "binlog/mysql-bin", "/var/log/mysql/mysql-bin.log", "binlog/", "/"}) {
    CAPTURE(value);
    const bool parser = ParseTopology(head + "\"" + value + "\"\n", "t.toml").ok();
    CHECK(parser == std::regex_search(std::string(value), pattern));
    CHECK(parser == (std::string(value).back() != '/'));
  }
}

}  // namespace
}  // namespace replplan
