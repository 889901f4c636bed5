// Golden plan text in tests/golden/plans/ and the golden JSON in examples/lab-fresh.plan.json.
// After an intended change of format: REPLPLAN_UPDATE_GOLDEN=1 ./plan_render_test, then review the
// diff of the golden files like any other code change.
#include "engine/plan.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/planner.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using testing::FreshLive;
using testing::InSyncLive;
using testing::LabTopology;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Compares with the golden file, or rewrites it when REPLPLAN_UPDATE_GOLDEN is set.
void CheckGolden(const std::string& relative, const std::string& actual) {
  std::string path = std::string(REPLPLAN_SOURCE_DIR) + "/" + relative;
  if (std::getenv("REPLPLAN_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    MESSAGE("updated " << path);
    return;
  }
  std::string expected = ReadFile(path);
  INFO("golden file: " << path);
  REQUIRE_FALSE(expected.empty());
  CHECK(actual == expected);
}

Plan MustPlan(const Topology& t, const LiveState& live) {
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  return std::move(plan).value();
}

void CheckGoldenPlan(const std::string& name, const Topology& t, const LiveState& live) {
  CheckGolden("tests/golden/plans/" + name + ".txt", RenderPlanText(MustPlan(t, live)));
}

TEST_CASE("golden: a fresh pair") {
  Topology t = LabTopology(2);
  CheckGoldenPlan("fresh-2-hosts", t, FreshLive(t));
}

TEST_CASE("golden: three fresh hosts") {
  Topology t = LabTopology(3);
  CheckGoldenPlan("fresh-3-hosts", t, FreshLive(t));
}

TEST_CASE("golden: a pair in sync has no changes") {
  Topology t = LabTopology(2);
  std::string text = RenderPlanText(MustPlan(t, InSyncLive(t)));
  CHECK(text.find("No changes. The live servers match lab.toml.") != std::string::npos);
  CheckGoldenPlan("in-sync-pair", t, InSyncLive(t));
}

TEST_CASE("golden: an unreachable replica") {
  Topology t = LabTopology(3);
  LiveState live = FreshLive(t);
  ServerState& venus = live.servers["venus"];
  venus.sql_ok = false;
  venus.sql_errno = 2002;
  venus.sql_error = "cannot connect to 127.0.0.67:3306: Can't connect to server on '127.0.0.67' (115) (2002)";
  venus.ssh_ok = false;
  venus.ssh_error = "ssh 127.0.0.67:2222: connection refused";
  venus.config.clear();
  CheckGoldenPlan("unreachable-replica", t, live);
}

TEST_CASE("golden: a replica whose source lost the binlog (1236)") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  auto& c = live.servers["uranus"].channels[0];
  c.io_running = "No";
  c.last_io_errno = 1236;
  c.last_io_error =
      "Got fatal error 1236 from master when reading data from binary log: 'Could not find GTID state "
      "requested by slave in any binlog files. Probably the slave state is too old and required binlog files "
      "have been purged.'";
  CheckGoldenPlan("replica-1236", t, live);
}

TEST_CASE("golden: a pending restart") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  ServerState& uranus = live.servers["uranus"];
  uranus.log_bin = false;
  uranus.log_bin_basename.clear();
  uranus.report_host.clear();
  CheckGoldenPlan("pending-restart", t, live);
}

TEST_CASE("golden: ssh unknown on a fresh replica") {
  Topology t = LabTopology(2);
  LiveState live = FreshLive(t);
  ServerState& uranus = live.servers["uranus"];
  uranus.ssh_ok = false;
  uranus.ssh_error = "ssh root@127.0.0.66:2222: host key verification failed (known_hosts /LAB/client/known_hosts)";
  uranus.config.clear();
  CheckGoldenPlan("ssh-unknown", t, live);
}

TEST_CASE("destructive actions are marked with ! and DESTRUCTIVE, and counted in the summary") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].channels.clear();
  live.servers["uranus"].gtid_binlog_pos = "";  // no binlog to rejoin from: a reseed
  live.servers["uranus"].gtid_current_pos = "";
  live.servers["uranus"].gtid_slave_pos = "";
  std::string text = RenderPlanText(MustPlan(t, live));
  CHECK(text.find("  ! seed-replica (DESTRUCTIVE): seed uranus from mercury") != std::string::npos);
  CHECK(text.find("Plan: 3 to change on 1 host. 1 DESTRUCTIVE.") != std::string::npos);
}

// The bytes of `text` a terminal would act on rather than show: C0 controls but the line feed, DEL,
// and the C1 controls as UTF-8 (U+0080..U+009F, "\xC2\x80".."\xC2\x9F").
std::string ActiveControls(const std::string& text) {
  std::string found;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F &&
                    static_cast<unsigned char>(text[i + 1]) >= 0x80;
    if ((c < 0x20 && c != '\n') || c == 0x7F || c1) found += std::to_string(c) + "@" + std::to_string(i) + " ";
  }
  return found;
}

TEST_CASE("a database name or a server's error holding escape sequences cannot hide a DESTRUCTIVE line") {
  Topology t = LabTopology(2);
  // Valid in the file (a TOML string may hold "\u001b"): cursor up, erase the line, carriage return.
  const std::string hiding = "\x1b[1A\x1b[2K\r";
  t.databases.push_back({"shop" + hiding, "utf8mb4", "", {}});
  LiveState live = InSyncLive(t);
  live.servers["uranus"].channels.clear();
  live.servers["uranus"].gtid_binlog_pos = "";  // no binlog to rejoin from: a reseed (DESTRUCTIVE)
  live.servers["uranus"].gtid_current_pos = "";
  live.servers["uranus"].gtid_slave_pos = "";
  live.servers["uranus"].ssh_ok = false;
  live.servers["uranus"].ssh_error = "ssh: banner \xC2\x9B" "1A\xC2\x9B" "2K\n  note: nothing to see\r";
  const Plan plan = MustPlan(t, live);
  const std::string text = RenderPlanText(plan);
  CHECK(ActiveControls(text) == "");
  CHECK(text.find("  ! seed-replica (DESTRUCTIVE): seed uranus from mercury") != std::string::npos);
  CHECK(text.find("shop\\x1b[1A\\x1b[2K\\r") != std::string::npos);
  CHECK(text.find("  ssh: ssh: banner \\u009b1A\\u009b2K\\n  note: nothing to see\\r\n") != std::string::npos);
  // Every line break is the renderer's own: one line per host heading, action, change, reason, note.
  CHECK(text.find("\n  note: nothing to see") == std::string::npos);
  // The JSON escapes them too, C1 included (ensure_ascii), and reads back to the same names.
  auto json = PlanJsonText(plan);
  REQUIRE(json.ok());
  CHECK(ActiveControls(*json) == "");
  CHECK(json->find("shop\\u001b[1A\\u001b[2K\\r") != std::string::npos);
  CHECK(json->find("\\u009b") != std::string::npos);
  auto back = PlanFromJson(nlohmann::json::parse(*json));
  REQUIRE(back.ok());
  CHECK(back->hosts[1].ssh_error == live.servers["uranus"].ssh_error);
}

TEST_CASE("a plan holding text that is not UTF-8 is refused as JSON, not written with it replaced") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].ssh_ok = false;
  live.servers["uranus"].ssh_error = "ssh: caf\xE9";
  const Plan plan = MustPlan(t, live);
  auto json = PlanJsonText(plan);
  REQUIRE_FALSE(json.ok());
  CHECK(json.status().message().starts_with(
      "the plan cannot be written as JSON: a name or message read from a server is not UTF-8 ("));
  CHECK(RenderPlanText(plan).find("  ssh: ssh: caf\\xe9\n") != std::string::npos);
}

TEST_CASE("no secret can reach the text or the JSON: passwords render as (sensitive)") {
  Topology t = LabTopology(2);
  Plan plan = MustPlan(t, FreshLive(t));
  // Even if a bug put a value into a sensitive change, the renderers must not print it.
  for (auto& pa : plan.actions) {
    for (auto& c : pa.action.changes) {
      if (c.sensitive) c.to = "hunter2-leaked";
    }
  }
  std::string text = RenderPlanText(plan);
  std::string json = PlanToJson(plan).dump();
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(json.find("hunter2") == std::string::npos);
  CHECK(text.find("password: (sensitive)") != std::string::npos);
  CHECK(json.find("\"(sensitive)\"") != std::string::npos);
}

TEST_CASE("the JSON has every documented key") {
  Topology t = LabTopology(3);
  LiveState live = FreshLive(t);
  live.servers["venus"].sql_ok = false;
  live.servers["venus"].sql_error = "cannot connect";
  nlohmann::json j = PlanToJson(MustPlan(t, live));
  for (const char* key : {"format_version", "topology_file", "cluster", "primary", "complete", "state_fingerprint",
                          "summary", "hosts", "conditions", "actions"}) {
    CHECK_MESSAGE(j.contains(key), key);
  }
  REQUIRE_FALSE(j["conditions"].empty());
  bool venus_unreachable = false;
  for (const auto& c : j["conditions"]) {
    for (const char* key : {"type", "severity", "host", "error_number", "reason", "evidence", "cause"}) {
      CHECK_MESSAGE(c.contains(key), key);
    }
    venus_unreachable = venus_unreachable || (c["host"] == "venus" && c["type"] == "unreachable");
  }
  CHECK(venus_unreachable);
  CHECK(j["format_version"] == 1);
  CHECK(j["complete"] == false);
  for (const char* key : {"actions", "hosts_changed", "hosts_unreadable", "destructive"}) {
    CHECK_MESSAGE(j["summary"].contains(key), key);
  }
  CHECK(j["summary"]["hosts_unreadable"] == 1);
  for (const auto& h : j["hosts"]) {
    for (const char* key : {"name", "address", "role", "sql_ok", "sql_error", "ssh_ok", "ssh_error", "notes"}) {
      CHECK_MESSAGE(h.contains(key), key);
    }
  }
  REQUIRE_FALSE(j["actions"].empty());
  for (const auto& a : j["actions"]) {
    for (const char* key : {"id", "kind", "host", "summary", "reasons", "changes", "destructive", "params",
                            "depends_on"}) {
      CHECK_MESSAGE(a.contains(key), key);
    }
    for (const auto& c : a["changes"]) {
      for (const char* key : {"key", "from", "to", "sensitive"}) CHECK_MESSAGE(c.contains(key), key);
    }
  }
}

TEST_CASE("golden JSON: the fresh lab pair (examples/lab-fresh.plan.json) has the schema's required keys") {
  Topology t = LabTopology(2);
  nlohmann::json j = PlanToJson(MustPlan(t, FreshLive(t)));
  CheckGolden("examples/lab-fresh.plan.json", j.dump(2) + "\n");
  nlohmann::json schema = nlohmann::json::parse(ReadFile(std::string(REPLPLAN_SOURCE_DIR) + "/schemas/plan.schema.json"));
  for (const auto& key : schema["required"]) CHECK_MESSAGE(j.contains(key.get<std::string>()), key);
  for (const auto& key : schema["$defs"]["action"]["required"]) {
    CHECK_MESSAGE(j["actions"][0].contains(key.get<std::string>()), key);
  }
  for (const auto& key : schema["$defs"]["host"]["required"]) {
    CHECK_MESSAGE(j["hosts"][0].contains(key.get<std::string>()), key);
  }
}


// The file names uranus; mercury is the live primary and uranus replicates from it.
Plan SwitchoverPlan() {
  Topology t = LabTopology(3);
  LiveState live = InSyncLive(t);
  t.cluster.primary = "uranus";
  return MustPlan(t, live);
}

TEST_CASE("golden: a switchover (text), announced above the hosts") {
  Plan plan = SwitchoverPlan();
  CheckGolden("tests/golden/plans/switchover.txt", RenderPlanText(plan));
  CHECK(RenderPlanText(plan).find("SWITCHOVER: mercury -> uranus") != std::string::npos);
}

TEST_CASE("golden JSON: a switchover (examples/lab-switchover.plan.json) carries primary_change and reads back") {
  Plan plan = SwitchoverPlan();
  nlohmann::json j = PlanToJson(plan);
  CheckGolden("examples/lab-switchover.plan.json", j.dump(2) + "\n");
  REQUIRE(j.contains("primary_change"));
  CHECK(j["primary_change"]["kind"] == "switchover");
  auto back = PlanFromJson(j);
  REQUIRE(back.ok());
  REQUIRE(back->primary_change.has_value());
  CHECK(back->primary_change->from == "mercury");
  CHECK(back->primary_change->to == "uranus");
}

}  // namespace
}  // namespace replplan
