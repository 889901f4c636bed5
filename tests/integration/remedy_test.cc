// Issue 14's remedies on the real lab, one broken state per case: the plan names the condition
// (text and JSON) and plans the least destructive remedy, apply carries it out, then every server
// holds the same rows (read back) and `plan --detailed-exitcode` exits 0.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "integration/lab_client.h"

namespace {

const std::vector<std::string> kHosts = {"mercury", "uranus", "venus"};

// The probe table's ids on `host`, in order.
std::string Rows(const std::string& host) {
  return lab::SqlValue(host, "SELECT IFNULL(GROUP_CONCAT(id ORDER BY id), '') FROM secondhand_production.remedy_probe");
}

// A row written on the primary; every server then holds the same rows.
void CheckSameRowsEverywhere(int id) {
  lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (" + std::to_string(id) + ")");
  const std::string want = Rows("mercury");
  CHECK(want.find(std::to_string(id)) != std::string::npos);
  for (const std::string& host : kHosts) {
    CHECK_MESSAGE(lab::WaitFor([&] { return Rows(host) == want; }, std::chrono::seconds(10)),
                  (host + " holds " + Rows(host) + ", mercury " + want));
  }
}

// The plan's conditions on `host`, from `plan --json`.
std::vector<nlohmann::json> PlanConditionsOn(const std::string& host, std::string& text) {
  auto plain = lab::Replplan({"plan", lab::TopologyPath()});
  text = plain.out + plain.err;
  auto json = lab::Replplan({"plan", "--json", lab::TopologyPath()});
  nlohmann::json plan = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE_MESSAGE(!plan.is_discarded(), (json.out + json.err));
  std::vector<nlohmann::json> found;
  for (const auto& c : plan["conditions"]) {
    if (c["host"] == host) found.push_back(c);
  }
  return found;
}

std::vector<std::string> PlannedKinds(const std::string& host) {
  auto json = lab::Replplan({"plan", "--json", lab::TopologyPath()});
  nlohmann::json plan = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE(!plan.is_discarded());
  std::vector<std::string> kinds;
  for (const auto& a : plan["actions"]) {
    if (a["host"] == host) kinds.push_back(a["kind"]);
  }
  return kinds;
}

// `exit_code`: apply of a plan made while a host could not be read exits 1 even when every
// action succeeded (the plan was incomplete); the repair is then judged by what follows.
void ApplyAndCheckConverged(int id, int exit_code = 0) {
  auto applied = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == exit_code, (applied.out + applied.err));
  CHECK_MESSAGE(applied.out.find("Apply complete") != std::string::npos, (applied.out + applied.err));
  CheckSameRowsEverywhere(id);
  auto again = lab::Replplan({"plan", "--detailed-exitcode", lab::TopologyPath()});
  CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
}

}  // namespace

TEST_CASE("remedies: each broken state is named in the plan and repaired without a reseed") {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.remedy_probe (id INT PRIMARY KEY)");
  CheckSameRowsEverywhere(1);

  SUBCASE("1201 family: venus's relay log lost over a restart: RESET SLAVE ALL, CHANGE MASTER at its GTID position") {
    lab::LoseRelayLogOverRestart("venus");
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");  // venus misses it for now

    std::string text;
    auto on_venus = PlanConditionsOn("venus", text);
    REQUIRE_MESSAGE(on_venus.size() == 1, text);
    CHECK(on_venus[0]["type"] == "channel-metadata-broken");
    CHECK(on_venus[0]["reason"] == "relay-log-missing");
    CHECK_MESSAGE(text.find("condition: channel-metadata-broken (broken)") != std::string::npos, text);
    CHECK(PlannedKinds("venus") == std::vector<std::string>{"reset-replica", "change-source", "start-replica"});
    CHECK_MESSAGE(text.find("DESTRUCTIVE") == std::string::npos, text);

    ApplyAndCheckConverged(3);
  }

  SUBCASE("2003: venus runs but listens on another address (bind-address): config edit and restart") {
    const std::string cnf_path = lab::Dir() + "/hosts/venus/my.cnf";
    REQUIRE(lab::Lab({"stop", "venus"}).exit_code == 0);
    const std::string moved = lab::WithBindAddress(lab::ReadFile(cnf_path), lab::Net() + ".99");
    std::ofstream(cnf_path, std::ios::trunc) << moved;
    lab::StartMariadbdWithoutWaiting("venus");

    std::string text;
    auto on_venus = PlanConditionsOn("venus", text);
    REQUIRE_MESSAGE(on_venus.size() == 1, text);
    CHECK(on_venus[0]["type"] == "listening-elsewhere");
    CHECK_MESSAGE(text.find("condition: listening-elsewhere (broken, error 200") != std::string::npos, text);
    CHECK(PlannedKinds("venus") == std::vector<std::string>{"edit-config", "restart-server"});

    ApplyAndCheckConverged(3, /*exit_code=*/1);  // venus could not be read when planned
  }

  SUBCASE("1133: a GRANT replicated for the declared account pierre, which uranus lacks: created there, no reseed") {
    lab::Sql("uranus", "SET SESSION sql_log_bin = 0; DROP USER 'pierre'@'%'");
    lab::Sql("mercury", "GRANT SELECT ON secondhand_production.* TO 'pierre'@'%'");
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");  // uranus misses it for now
    REQUIRE(lab::WaitFor([] { return Rows("uranus").find('2') == std::string::npos &&
                                     lab::Replplan({"status", "--json", lab::TopologyPath()}).out.find("missing-account") !=
                                         std::string::npos; },
                         std::chrono::seconds(10)));

    std::string text;
    auto on_uranus = PlanConditionsOn("uranus", text);
    REQUIRE_MESSAGE(on_uranus.size() == 1, text);
    CHECK(on_uranus[0]["type"] == "missing-account");
    CHECK(on_uranus[0]["error_number"] == 1133);
    CHECK_MESSAGE(text.find("condition: missing-account (broken, error 1133)") != std::string::npos, text);
    CHECK(PlannedKinds("uranus") == std::vector<std::string>{"create-user", "start-replica"});
    CHECK_MESSAGE(text.find("DESTRUCTIVE") == std::string::npos, text);
    CHECK_MESSAGE(text.find("seed-replica") == std::string::npos, text);

    ApplyAndCheckConverged(3);
    CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM mysql.user WHERE user = 'pierre'") == "1");
  }
}
