// `replplan apply` end to end on the real lab: fresh servers become a replicating cluster, a second
// apply does nothing, a server added to the file joins without touching the others, saved plans go
// stale, applies exclude each other, and an apply killed at any moment converges when run again.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/lab_client.h"

namespace {

using namespace std::chrono_literals;

using lab::Background;

// Waits for an apply's timeline line "<time>  <host>  <action id>  started".
bool WaitForStart(const Background& apply, const std::string& action_id, std::chrono::milliseconds limit) {
  return lab::WaitFor([&] {
    std::istringstream lines(apply.Output());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find(" " + action_id + " ") != std::string::npos && line.size() >= 8 &&
          line.compare(line.size() - 8, 8, " started") == 0) {
        return true;
      }
    }
    return false;
  }, limit);
}

lab::CommandResult Apply(const std::string& path) { return lab::Replplan({"apply", path, "--yes"}); }

// Writes a row on the primary and reads it back from `replica`: the only proof of replication.
void CheckReplicates(const std::string& replica, int id) {
  lab::Sql("mercury", "CREATE TABLE IF NOT EXISTS secondhand_production.items (id INT PRIMARY KEY, name VARCHAR(40)); "
                      "INSERT INTO secondhand_production.items VALUES (" + std::to_string(id) + ", 'item-" +
                          std::to_string(id) + "');");
  bool arrived = lab::WaitFor([&] {
    return lab::SqlValue(replica, "SELECT name FROM secondhand_production.items WHERE id = " + std::to_string(id)) ==
           "item-" + std::to_string(id);
  }, 20s);
  CHECK_MESSAGE(arrived, "row " << id << " did not reach " << replica);
}

int PlanExitCode(const std::string& path) {
  return lab::Replplan({"plan", path, "--detailed-exitcode"}).exit_code;
}

// The lab topology with only the first `n` servers.
std::string TopologyWithServers(int n) {
  std::istringstream in(lab::ReadFile(lab::TopologyPath()));
  std::string line, out;
  int servers = 0;
  bool skip = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') {
      if (line == "[[server]]") {
        ++servers;
        skip = servers > n;
      } else {
        skip = false;
      }
    }
    if (!skip) out += line + "\n";
  }
  return lab::WriteFile("servers-" + std::to_string(n) + ".toml", out);
}

std::string Pid(const std::string& host) { return lab::ReadFile(lab::Dir() + "/hosts/" + host + "/mysqld.pid"); }

// Nothing of a plan reached the host: its my.cnf is the fresh one, no account was created, no
// replication configured, and the server still runs without a binlog (no restart happened).
void CheckUntouched(const std::string& host) {
  CAPTURE(host);
  const std::string dir = lab::Dir() + "/hosts/" + host;
  CHECK(lab::ReadFile(dir + "/my.cnf") == lab::ReadFile(dir + "/my.cnf.fresh"));
  CHECK(lab::SqlValue(host, "SELECT COUNT(*) FROM mysql.user WHERE User = 'repl'") == "0");
  CHECK(lab::Sql(host, "SHOW ALL SLAVES STATUS").empty());
  CHECK(lab::SqlValue(host, "SELECT @@log_bin") == "0");
}

}  // namespace

TEST_CASE("two fresh hosts become a replicating pair; plan then shows no changes; a second apply does nothing") {
  lab::Reset(2);
  auto first = Apply(lab::TopologyPath());
  REQUIRE_MESSAGE(first.exit_code == 0, (first.out + first.err));
  CHECK(first.out.find("uranus/seed-replica") != std::string::npos);
  CHECK(first.out.find("Apply complete") != std::string::npos);
  CheckReplicates("uranus", 1);
  CHECK(lab::SqlValue("uranus", "SELECT @@read_only") == "1");
  CHECK(lab::SqlValue("mercury", "SELECT @@read_only") == "0");

  auto plan = lab::Replplan({"plan", lab::TopologyPath(), "--detailed-exitcode"});
  CHECK_MESSAGE(plan.exit_code == 0, (plan.out + plan.err));

  std::string pids = Pid("mercury") + Pid("uranus");
  auto second = Apply(lab::TopologyPath());
  CHECK_MESSAGE(second.exit_code == 0, (second.out + second.err));
  CHECK(second.out.find("No changes") != std::string::npos);
  CHECK(second.out.find("started") == std::string::npos);  // no action ran
  CHECK(Pid("mercury") + Pid("uranus") == pids);
}

TEST_CASE("a third server added to the file is seeded and joins; the other two are not touched") {
  lab::Reset(3);
  auto pair = Apply(TopologyWithServers(2));
  REQUIRE_MESSAGE(pair.exit_code == 0, (pair.out + pair.err));
  CheckReplicates("uranus", 10);
  std::string pids = Pid("mercury") + Pid("uranus");

  auto json = lab::Replplan({"plan", lab::TopologyPath(), "--json"});
  auto plan = nlohmann::json::parse(json.out);
  REQUIRE(!plan["actions"].empty());
  for (const auto& action : plan["actions"]) CHECK(action["host"] == "venus");

  auto added = Apply(lab::TopologyPath());
  REQUIRE_MESSAGE(added.exit_code == 0, (added.out + added.err));
  CheckReplicates("venus", 11);
  CheckReplicates("uranus", 12);  // still replicating, its position keeps moving
  CHECK(lab::SqlValue("venus", "SELECT COUNT(*) FROM secondhand_production.items") == "3");
  CHECK(Pid("mercury") + Pid("uranus") == pids);  // no restart
  CHECK(PlanExitCode(lab::TopologyPath()) == 0);
}

TEST_CASE("a saved plan applies as reviewed, and is refused once the live state or the file changed") {
  lab::Reset(2);
  std::string saved = lab::Dir() + "/tmp/reviewed.plan.json";
  REQUIRE(lab::Replplan({"plan", lab::TopologyPath(), "--out", saved}).exit_code == 0);
  lab::Sql("uranus", "SET GLOBAL server_id = 77");  // someone changed a server after the review
  auto stale = Apply(saved);
  CHECK(stale.exit_code == 1);
  CHECK_MESSAGE(stale.err.find("changed since this plan was made") != std::string::npos, stale.err);
  CheckUntouched("mercury");  // nothing was applied
  CheckUntouched("uranus");

  // A plan that does not say which version of the file it was made from is refused too.
  lab::Reset(2);
  REQUIRE(lab::Replplan({"plan", lab::TopologyPath(), "--out", saved}).exit_code == 0);
  nlohmann::json undated = nlohmann::json::parse(lab::ReadFile(saved));
  REQUIRE(undated.contains("topology_digest"));
  undated.erase("topology_digest");
  std::ofstream(saved, std::ios::trunc) << undated.dump(2);
  auto unchecked = Apply(saved);
  CHECK(unchecked.exit_code == 1);
  CHECK_MESSAGE(unchecked.err.find("records no topology_digest") != std::string::npos, unchecked.err);
  CheckUntouched("mercury");

  lab::Reset(2);
  REQUIRE(lab::Replplan({"plan", lab::TopologyPath(), "--out", saved}).exit_code == 0);
  auto reviewed = Apply(saved);
  REQUIRE_MESSAGE(reviewed.exit_code == 0, (reviewed.out + reviewed.err));
  CheckReplicates("uranus", 20);

  REQUIRE(lab::Replplan({"plan", lab::TopologyPath(), "--out", saved}).exit_code == 0);
  std::ofstream(lab::TopologyPath(), std::ios::app) << "# edited after the review\n";
  auto edited = Apply(saved);
  CHECK(edited.exit_code == 1);
  CHECK_MESSAGE(edited.err.find("has changed since this plan was saved") != std::string::npos, edited.err);
}

TEST_CASE("a saved plan edited to make a replica writable is refused, though its digests are unchanged") {
  lab::Reset(2);
  std::string saved = lab::Dir() + "/tmp/edited.plan.json";
  REQUIRE(lab::Replplan({"plan", lab::TopologyPath(), "--out", saved}).exit_code == 0);
  const std::string original = lab::ReadFile(saved);
  nlohmann::json plan = nlohmann::json::parse(original);
  // The audit's edit: read_only=OFF on a host the plan never made writable, fingerprint and
  // topology_digest left as they were.
  nlohmann::json writable;
  for (const nlohmann::json& action : plan["actions"]) {
    if (action["id"] == "mercury/set-global") writable = action;
  }
  REQUIRE(writable.is_object());
  bool replaced = false;
  for (nlohmann::json& action : plan["actions"]) {
    if (action["id"] == "uranus/set-global") {
      action["params"]["read_only"] = "OFF";
      action["changes"].push_back(writable["changes"][0]);
      replaced = true;
    }
  }
  if (!replaced) {
    writable["id"] = "uranus/set-global";
    writable["host"] = "uranus";
    writable["depends_on"] = nlohmann::json::array();
    plan["actions"].push_back(writable);
  }
  std::ofstream(saved, std::ios::trunc) << plan.dump(2);
  auto edited = Apply(saved);
  CHECK(edited.exit_code == 1);
  // The file makes uranus a replica: the plan no longer fits it (engine/plan_check.h).
  CHECK_MESSAGE(edited.err.find("stale plan: uranus/set-global sets read_only=OFF, but ") != std::string::npos,
                edited.err);
  CheckUntouched("mercury");
  CheckUntouched("uranus");

  // An edit that fits the file, an action left out, is found by the comparison with the plan made
  // under the lock.
  nlohmann::json fewer = nlohmann::json::parse(original);
  std::set<std::string> awaited;
  for (const nlohmann::json& action : fewer["actions"]) {
    for (const nlohmann::json& id : action["depends_on"]) awaited.insert(id.get<std::string>());
  }
  std::string left_out;
  nlohmann::json& actions = fewer["actions"];
  for (size_t i = actions.size(); i-- > 0 && left_out.empty();) {
    if (awaited.count(actions[i]["id"].get<std::string>()) == 0) {
      left_out = actions[i]["id"].get<std::string>();
      actions.erase(i);
    }
  }
  REQUIRE_FALSE(left_out.empty());
  std::ofstream(saved, std::ios::trunc) << fewer.dump(2);
  auto shorter = Apply(saved);
  CHECK(shorter.exit_code == 1);
  CHECK_MESSAGE(shorter.err.find("is not the saved one") != std::string::npos, shorter.err);
  CHECK_MESSAGE(shorter.err.find(left_out + ": in the plan computed now, but not approved") != std::string::npos,
                shorter.err);
  CheckUntouched("mercury");
  CheckUntouched("uranus");
}

TEST_CASE("apply refuses to run without approval when there is no terminal") {
  lab::Reset(2);
  auto result = lab::Replplan({"apply", lab::TopologyPath()});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("--yes") != std::string::npos);
  CheckUntouched("mercury");
  CheckUntouched("uranus");
}

TEST_CASE("an apply approved on a terminal after the servers changed under it changes nothing") {
  lab::Reset(2);
  // While the operator reads the plan, someone changes a server.
  lab::TerminalRun apply =
      lab::ReplplanOnTerminal({"apply", lab::TopologyPath()}, [] { lab::Sql("uranus", "SET GLOBAL server_id = 77"); });
  INFO("apply on a terminal:\n" << apply.out);
  REQUIRE(apply.prompted);
  CHECK(WIFEXITED(apply.status));
  CHECK(WEXITSTATUS(apply.status) == 1);
  CHECK(apply.out.find("changed while the plan waited for approval") != std::string::npos);
  CheckUntouched("mercury");
  CheckUntouched("uranus");
}

TEST_CASE("apply's approval prompt holds no lock; the plan approved is planned again under the lock") {
  lab::Reset(2);
  // While the operator reads the plan, the lock is free: another apply (or watch's fencing) runs.
  lab::CommandResult other;
  lab::TerminalRun apply = lab::ReplplanOnTerminal({"apply", lab::TopologyPath()}, [&] { other = Apply(lab::TopologyPath()); });
  INFO("apply on a terminal:\n" << apply.out);
  REQUIRE(apply.prompted);
  CHECK_MESSAGE(other.exit_code == 0, (other.out + other.err));
  // The approved plan is not what the servers need now (the other apply did it): nothing runs.
  CHECK(WIFEXITED(apply.status));
  CHECK(WEXITSTATUS(apply.status) == 1);
  CHECK(apply.out.find("changed while the plan waited for approval") != std::string::npos);
  CHECK(apply.out.find(" started") == std::string::npos);
  CheckReplicates("uranus", 40);
}

TEST_CASE("--yes alone never approves a DESTRUCTIVE action: the plan is printed, refused, nothing changed") {
  lab::Reset(2);
  // A replica that already holds a database: seeding it drops that (DESTRUCTIVE).
  lab::Sql("uranus", "SET SESSION sql_log_bin=0; CREATE DATABASE leftover; "
                     "CREATE TABLE leftover.kept (id INT PRIMARY KEY); INSERT INTO leftover.kept VALUES (1), (2)");
  auto refused = Apply(lab::TopologyPath());
  INFO("apply --yes:\n" << refused.out << refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.find("seed-replica (DESTRUCTIVE)") != std::string::npos);  // printed for review
  CHECK(refused.err.find("apply refused: the plan has 1 DESTRUCTIVE action (uranus/seed-replica); nothing was "
                         "changed. Review it, then pass --allow-destructive to approve it (--yes alone never does)") !=
        std::string::npos);
  CHECK(refused.out.find("started") == std::string::npos);  // no action ran
  CheckUntouched("mercury");
  CheckUntouched("uranus");
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM leftover.kept") == "2");

  // On a terminal the prompt alone does not approve it either: refused before any question.
  {
    lab::TerminalRun run = lab::ReplplanOnTerminal({"apply", lab::TopologyPath()}, [] {});
    const std::string& out = run.out;
    const bool prompted = run.prompted;
    const int status = run.status;
    INFO("apply on a terminal:\n" << out);
    CHECK_FALSE(prompted);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(out.find("pass --allow-destructive") != std::string::npos);
    CheckUntouched("mercury");
    CheckUntouched("uranus");
  }

  auto approved = lab::Replplan({"apply", lab::TopologyPath(), "--yes", "--allow-destructive"});
  REQUIRE_MESSAGE(approved.exit_code == 0, (approved.out + approved.err));
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE schema_name = 'leftover'") == "0");
  CheckReplicates("uranus", 25);
}

TEST_CASE("a second apply of the same cluster is refused and told who holds the lock") {
  lab::Reset(2);
  Background first({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(first.WaitForOutput("started", 30s), first.Output());
  auto second = Apply(lab::TopologyPath());
  CHECK(second.exit_code == 1);
  CHECK_MESSAGE(second.err.find("replplan apply by") != std::string::npos, second.err);
  CHECK(second.err.find("pid") != std::string::npos);
  CHECK_MESSAGE(first.Wait() == 0, first.Output());
  CheckReplicates("uranus", 30);
}

TEST_CASE("apply killed with -9 while seeding converges when run again, losing nothing on the primary") {
  lab::Reset(2);
  // Enough data that the seed takes a moment, so the kill lands inside it.
  lab::Sql("mercury", "CREATE DATABASE secondhand_production CHARACTER SET utf8mb4; "
                      "USE secondhand_production; CREATE TABLE bulk (id INT PRIMARY KEY, payload VARCHAR(200)) "
                      "SELECT seq AS id, REPEAT(MD5(seq), 6) AS payload FROM seq_1_to_300000;");
  Background interrupted({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(WaitForStart(interrupted, "uranus/seed-replica", 60s), interrupted.Output());
  std::this_thread::sleep_for(100ms);
  interrupted.Kill9();
  // The seed cut short left partial data on uranus: seeding it again is DESTRUCTIVE.
  auto again = lab::Replplan({"apply", lab::TopologyPath(), "--yes", "--allow-destructive"});
  REQUIRE_MESSAGE(again.exit_code == 0, (again.out + again.err));
  CHECK(lab::SqlValue("mercury", "SELECT COUNT(*) FROM secondhand_production.bulk") == "300000");
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM secondhand_production.bulk") == "300000");
  CheckReplicates("uranus", 40);
  CHECK(PlanExitCode(lab::TopologyPath()) == 0);
}

TEST_CASE("apply killed with -9 during config edits converges when run again") {
  lab::Reset(2);
  Background interrupted({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(WaitForStart(interrupted, "uranus/edit-config", 60s), interrupted.Output());
  interrupted.Kill9();
  auto again = Apply(lab::TopologyPath());
  REQUIRE_MESSAGE(again.exit_code == 0, (again.out + again.err));
  CheckReplicates("uranus", 50);
  CHECK(PlanExitCode(lab::TopologyPath()) == 0);
}

TEST_CASE("an unreachable replica fails alone; the rest of the cluster converges") {
  lab::Reset(3);
  REQUIRE(lab::Lab({"kill", "venus"}).exit_code == 0);
  // venus's mariadbd is down with SSH up (server-down): the plan starts it with its restart
  // command, which fails here, so venus stays unreachable.
  std::string text = lab::ReadFile(lab::TopologyPath());
  const std::string venus_restart = "restart venus\"";
  size_t at = text.find(venus_restart);
  REQUIRE(at != std::string::npos);
  size_t line = text.rfind("restart     = \"", at);
  REQUIRE(line != std::string::npos);
  text.replace(line, at + venus_restart.size() - line, "restart     = \"echo no start here >&2; exit 3\"");
  const std::string path = lab::WriteFile("venus-no-start.toml", text);
  auto result = Apply(path);
  CHECK(result.exit_code == 1);
  CHECK_MESSAGE(result.out.find("venus: restart command failed (exit 3)") != std::string::npos, (result.out + result.err));
  CheckReplicates("uranus", 60);
  CHECK(lab::AdminSql("venus", "SELECT 1").exit_code != 0);
}

TEST_CASE("apply killed with -9 during a server restart converges when run again") {
  lab::Reset(2);
  Background interrupted({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(WaitForStart(interrupted, "mercury/restart-server", 60s), interrupted.Output());
  interrupted.Kill9();
  // The restart runs on the server, detached from replplan's SSH channel: it completes anyway.
  // Every restart replplan had started (uranus's may have been under way too, and on a loaded
  // machine it stops its server only after mercury is back) has ended, and both hosts answer.
  bool back = lab::WaitFor([] {
    // Detached restarts outlive their ssh session (reparented, out of `lab.sh pgrep`'s reach): found
    // by this lab's own script path. Only read, never signalled.
    return lab::Run({"pgrep", "-f", std::string(REPLPLAN_LAB) + " restart "}).exit_code == 1 &&
           lab::AdminSql("mercury", "SELECT 1").exit_code == 0 &&
           lab::AdminSql("uranus", "SELECT 1").exit_code == 0;
  }, 60s);
  CHECK_MESSAGE(back, lab::Lab({"status"}).out);
  auto again = Apply(lab::TopologyPath());
  REQUIRE_MESSAGE(again.exit_code == 0, (again.out + again.err));
  CheckReplicates("uranus", 70);
  CHECK(PlanExitCode(lab::TopologyPath()) == 0);
}
