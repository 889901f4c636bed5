// `replplan status` on the real lab: a healthy cluster exits 0, a replica stopped by hand 1 with
// replica-stopped, a replica whose source refuses its replication login 2 with the 1045 evidence;
// repaired, 0 again. The read stays under a second for three hosts, and no secret is printed.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/text.h"
#include "integration/lab_client.h"

namespace {

std::string Secret(const std::string& name) {
  return std::string(replplan::TrimEnd(lab::ReadFile(lab::Dir() + "/secrets/" + name)));
}

void CheckNoSecretIn(const std::string& text) {
  for (const char* name : {"admin.pw", "repl.pw", "app.pw"}) {
    std::string secret = Secret(name);
    REQUIRE(secret.size() >= 8);  // a short secret could match by accident and prove nothing
    CHECK_MESSAGE(text.find(secret) == std::string::npos, (std::string("the secret ") + name + " leaked into status output"));
  }
}

// A report as schemas/status.schema.json describes it (Python's jsonschema, as tests/check_schemas.py).
void CheckAgainstSchema(const std::string& json) {
  auto checked = lab::Run({"python3", "-c",
                           "import json, sys, jsonschema\n"
                           "jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1])))",
                           std::string(REPLPLAN_SOURCE_DIR) + "/schemas/status.schema.json"},
                          json);
  CHECK_MESSAGE(checked.exit_code == 0, (checked.err + json));
}

struct StatusRun {
  int exit_code = -1;
  std::string text;
  nlohmann::json json;
};

// `status` as text and as JSON; both must agree on the exit code.
StatusRun Status() {
  StatusRun run;
  auto text = lab::Replplan({"status", lab::TopologyPath()});
  auto json = lab::Replplan({"status", lab::TopologyPath(), "--json"});
  CheckNoSecretIn(text.out + text.err + json.out + json.err);
  CHECK_MESSAGE(text.exit_code == json.exit_code, (text.out + json.out));
  run.exit_code = json.exit_code;
  run.text = text.out + text.err;
  run.json = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE_MESSAGE(!run.json.is_discarded(), (json.out + json.err));
  CheckAgainstSchema(json.out);
  return run;
}

// The conditions of `host` in a status JSON.
std::vector<nlohmann::json> ConditionsOn(const nlohmann::json& status, const std::string& host) {
  std::vector<nlohmann::json> found;
  for (const auto& c : status["conditions"]) {
    if (c["host"] == host) found.push_back(c);
  }
  return found;
}

// A row written on the primary is read back from `replica`.
void CheckReplicates(const std::string& replica, int id) {
  lab::Sql("mercury", "CREATE TABLE IF NOT EXISTS secondhand_production.status_probe (id INT PRIMARY KEY); "
                      "INSERT INTO secondhand_production.status_probe VALUES (" + std::to_string(id) + ");");
  CHECK(lab::WaitFor([&] {
    return lab::SqlValue(replica, "SELECT COUNT(*) FROM secondhand_production.status_probe WHERE id = " +
                                      std::to_string(id)) == "1";
  }, std::chrono::seconds(10)));
}

}  // namespace

TEST_CASE("status: healthy 0, a replica stopped by hand 1, its source refusing the login 2, repaired 0") {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));

  // The whole process, best of three (the machine is shared: one run may wait for a core).
  auto best = std::chrono::milliseconds::max();
  for (int i = 0; i < 3; ++i) {
    auto started = std::chrono::steady_clock::now();
    auto once = lab::Replplan({"status", lab::TopologyPath()});
    best = std::min(best, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started));
    CHECK_MESSAGE(once.exit_code == 0, (once.out + once.err));
  }
  MESSAGE("replplan status on 3 lab hosts took " << best.count() << " ms (whole process, best of 3)");
  CHECK(best < std::chrono::seconds(1));

  StatusRun healthy = Status();
  CHECK(healthy.exit_code == 0);
  CHECK(healthy.json["health"] == "healthy");
  CHECK(healthy.json["conditions"].empty());
  CHECK(healthy.json["read_ms"].get<int>() < 1000);
  REQUIRE(healthy.json["servers"].size() == 3);
  CHECK(healthy.json["servers"][1]["io_running"] == "Yes");
  CHECK(healthy.text.find("HEALTHY") != std::string::npos);

  SUBCASE("--watch reads again every interval and stops on SIGTERM with the last health") {
    lab::Background watch({"status", lab::TopologyPath(), "--watch", "--interval-ms", "200"});
    CHECK(lab::WaitFor([&] {
      std::string out = watch.Output();
      size_t first = out.find("HEALTHY");
      return first != std::string::npos && out.find("HEALTHY", first + 1) != std::string::npos;
    }, std::chrono::seconds(10)));
    CHECK(watch.Terminate() == 0);
    CheckNoSecretIn(watch.Output());
  }

  SUBCASE("--watch --json: a replica stopped while watching has since, and began_after the read before it") {
    lab::Background watch({"status", lab::TopologyPath(), "--watch", "--json", "--interval-ms", "200"});
    REQUIRE(lab::WaitFor([&] { return watch.Output().find("\"health\":\"healthy\"") != std::string::npos; },
                         std::chrono::seconds(10)));
    lab::Sql("uranus", "STOP SLAVE");
    nlohmann::json stopped;
    auto seen = [&] {
      std::istringstream lines(watch.Output());
      for (std::string line; std::getline(lines, line);) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || j["conditions"].empty()) continue;
        stopped = j;  // the last report with the condition
      }
      return !stopped.is_null();
    };
    CHECK(lab::WaitFor(seen, std::chrono::seconds(10)));
    CHECK(watch.Terminate() == 1);  // degraded at the last read
    REQUIRE_FALSE(stopped.is_null());
    const nlohmann::json& c = stopped["conditions"][0];
    CHECK(c["type"] == "replica-stopped");
    REQUIRE(c["since"].is_string());
    REQUIRE(c["began_after"].is_string());
    CHECK(c["began_after"].get<std::string>() <= c["since"].get<std::string>());
    CHECK(c["since"].get<std::string>() <= stopped["read_at"].get<std::string>());
    lab::Sql("uranus", "START SLAVE");
  }

  SUBCASE("venus listening on another address: listening-elsewhere, then server-down once stopped") {
    const std::string cnf_path = lab::Dir() + "/hosts/venus/my.cnf";
    const std::string cnf = lab::ReadFile(cnf_path);
    const std::string elsewhere = lab::Net() + ".99";
    REQUIRE(lab::Lab({"stop", "venus"}).exit_code == 0);
    std::ofstream(cnf_path, std::ios::trunc) << lab::WithBindAddress(cnf, elsewhere);
    lab::StartMariadbdWithoutWaiting("venus");
    const std::string pid = std::string(replplan::TrimEnd(lab::ReadFile(lab::Dir() + "/hosts/venus/mysqld.pid")));

    StatusRun moved = Status();
    CHECK_MESSAGE(moved.exit_code == 2, moved.text);
    auto on_venus = ConditionsOn(moved.json, "venus");
    REQUIRE_MESSAGE(on_venus.size() == 1, moved.text);
    CHECK(on_venus[0]["type"] == "listening-elsewhere");
    CHECK(on_venus[0]["reason"] == "running-not-listening");
    const std::string evidence = on_venus[0]["evidence"].dump();
    CHECK(evidence.find("mariadbd runs (pid " + pid + " from ") != std::string::npos);
    CHECK(evidence.find("listening on " + elsewhere + ":3306") != std::string::npos);
    CHECK(evidence.find("bind-address = " + elsewhere + " (the file wants " + lab::Address("venus") + ")") !=
          std::string::npos);

    REQUIRE(lab::Lab({"stop", "venus"}).exit_code == 0);
    StatusRun down = Status();
    CHECK(down.exit_code == 2);
    on_venus = ConditionsOn(down.json, "venus");
    REQUIRE_MESSAGE(on_venus.size() == 1, down.text);
    CHECK(on_venus[0]["type"] == "server-down");

    std::ofstream(cnf_path, std::ios::trunc) << cnf;
    REQUIRE(lab::Lab({"start", "venus"}).exit_code == 0);
    CheckReplicates("venus", 3);
    CHECK(Status().exit_code == 0);
  }

  SUBCASE("venus's relay log lost over a restart: channel-metadata-broken, START SLAVE fails 1201, RESET SLAVE repairs") {
    lab::LoseRelayLogOverRestart("venus");

    StatusRun lost = Status();
    CHECK_MESSAGE(lost.exit_code == 2, lost.text);
    auto on_venus = ConditionsOn(lost.json, "venus");
    REQUIRE_MESSAGE(on_venus.size() == 1, lost.text);
    CHECK(on_venus[0]["type"] == "channel-metadata-broken");
    CHECK(on_venus[0]["reason"] == "relay-log-missing");
    CHECK(on_venus[0]["evidence"].dump().find("is not on disk") != std::string::npos);
    // What the condition says would happen does.
    std::string start_error;
    try {
      lab::Sql("venus", "START SLAVE");
    } catch (const std::runtime_error& e) {
      start_error = e.what();
    }
    CHECK_MESSAGE(start_error.find("1201") != std::string::npos, start_error);

    lab::Sql("venus", "RESET SLAVE; START SLAVE;");
    CheckReplicates("venus", 4);
    CHECK(Status().exit_code == 0);
  }

  SUBCASE("stopped by hand: degraded, then apply starts it") {
    lab::Sql("uranus", "STOP SLAVE");
    StatusRun stopped = Status();
    CHECK_MESSAGE(stopped.exit_code == 1, stopped.text);
    auto on_uranus = ConditionsOn(stopped.json, "uranus");
    REQUIRE(on_uranus.size() == 1);
    CHECK(on_uranus[0]["type"] == "replica-stopped");
    CHECK(on_uranus[0]["status"] == "degraded");
    CHECK(on_uranus[0]["since"].is_null());  // one read cannot tell when it began
    CHECK(on_uranus[0]["began_after"].is_null());
    CHECK(stopped.text.find("replica-stopped (degraded) on uranus") != std::string::npos);

    auto repaired = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
    CHECK_MESSAGE(repaired.exit_code == 0, (repaired.out + repaired.err));
    CheckReplicates("uranus", 1);
    CHECK(Status().exit_code == 0);
  }

  SUBCASE("its source refuses the replication login: broken with the 1045 evidence; repaired by hand") {
    const std::string wrong = "not-the-replication-password-7";
    lab::Sql("uranus", "STOP SLAVE; CHANGE MASTER TO MASTER_PASSWORD='" + wrong + "'; START SLAVE;");
    StatusRun refused;
    CHECK(lab::WaitFor([&] {
      refused = Status();
      return refused.exit_code == 2;
    }, std::chrono::seconds(10)));
    CHECK(refused.text.find(wrong) == std::string::npos);
    auto on_uranus = ConditionsOn(refused.json, "uranus");
    REQUIRE_MESSAGE(on_uranus.size() == 1, refused.text);
    CHECK(on_uranus[0]["type"] == "wrong-password");
    CHECK(on_uranus[0]["status"] == "broken");
    CHECK(on_uranus[0]["error_number"] == 1045);
    CHECK(on_uranus[0]["evidence"].dump().find("Last_IO_Errno: 1045") != std::string::npos);
    CHECK(on_uranus[0]["evidence"].dump().find("Access denied for user 'repl'") != std::string::npos);
    CHECK(refused.text.find("wrong-password (broken) on uranus, error 1045") != std::string::npos);

    lab::Sql("uranus", "STOP SLAVE; CHANGE MASTER TO MASTER_PASSWORD='" + Secret("repl.pw") + "'; START SLAVE;");
    CheckReplicates("uranus", 2);
    StatusRun again = Status();
    CHECK_MESSAGE(again.exit_code == 0, again.text);
  }
}
