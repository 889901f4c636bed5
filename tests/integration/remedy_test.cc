// Issue 14's remedies on the real lab, one broken state per case: the plan names the condition
// (text and JSON) and plans the least destructive remedy, apply carries it out, then every server
// holds the same rows (read back) and `plan --detailed-exitcode` exits 0.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
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

// The conditions on `host` in a plan's or status's JSON.
std::vector<nlohmann::json> ConditionsOn(const nlohmann::json& report, const std::string& host) {
  std::vector<nlohmann::json> found;
  for (const auto& c : report["conditions"]) {
    if (c["host"] == host) found.push_back(c);
  }
  return found;
}

// The plan's conditions on `host`, from `plan --json`.
std::vector<nlohmann::json> PlanConditionsOn(const std::string& host, std::string& text,
                                             const std::string& topology = lab::TopologyPath()) {
  auto plain = lab::Replplan({"plan", topology});
  text = plain.out + plain.err;
  auto json = lab::Replplan({"plan", "--json", topology});
  nlohmann::json plan = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE_MESSAGE(!plan.is_discarded(), (json.out + json.err));
  return ConditionsOn(plan, host);
}

// Until `replplan status --json` reports `text` (a condition's type or reason), at most 10 s.
void WaitForStatus(const std::string& text) {
  REQUIRE_MESSAGE(lab::WaitFor([&] { return lab::Replplan({"status", "--json", lab::TopologyPath()}).out.find(text) !=
                                            std::string::npos; },
                               std::chrono::seconds(10)),
                  text);
}

// The one condition the plan names on `host`: `type`, for error `error`, in JSON and text. Returns
// the plan's text.
std::string CheckOnlyCondition(const std::string& host, const std::string& type, int error) {
  std::string text;
  auto on_host = PlanConditionsOn(host, text);
  REQUIRE_MESSAGE(on_host.size() == 1, text);
  CHECK(on_host[0]["type"] == type);
  CHECK(on_host[0]["error_number"] == error);
  CHECK_MESSAGE(text.find("condition: " + type + " (broken, error " + std::to_string(error) + ")") != std::string::npos,
                text);
  return text;
}

// The lab's topology in file/position replication, with `cluster_line` (if any) in [cluster], as
// the file `name`.
std::string FileModeTopology(const std::string& name, const std::string& cluster_line = "") {
  std::string text = lab::ReadFile(lab::TopologyPath());
  const std::string gtid_mode = "mode          = \"gtid\"";
  size_t mode = text.find(gtid_mode);
  REQUIRE(mode != std::string::npos);
  text.replace(mode, gtid_mode.size(), "mode          = \"file\"");
  const std::string cluster = "[cluster]\n";
  size_t at = text.find(cluster);
  REQUIRE(at != std::string::npos);
  if (!cluster_line.empty()) text.insert(at + cluster.size(), cluster_line + "\n");
  return lab::WriteFile(name, text);
}

std::vector<std::string> PlannedKinds(const std::string& host, const std::string& topology = lab::TopologyPath()) {
  auto json = lab::Replplan({"plan", "--json", topology});
  nlohmann::json plan = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE(!plan.is_discarded());
  std::vector<std::string> kinds;
  for (const auto& a : plan["actions"]) {
    if (a["host"] == host) kinds.push_back(a["kind"]);
  }
  return kinds;
}

// apply exits 0 (also after the repair of a host the plan could not read: it reads it again and
// carries out what is left), every server then holds the same rows, and a new plan has nothing to do.
// Returns apply's output.
std::string ApplyAndCheckConverged(int id, const std::string& topology = lab::TopologyPath()) {
  auto applied = lab::Replplan({"apply", "--yes", topology});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  CHECK_MESSAGE(applied.out.find("Apply complete") != std::string::npos, (applied.out + applied.err));
  CheckSameRowsEverywhere(id);
  auto again = lab::Replplan({"plan", "--detailed-exitcode", topology});
  CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
  return applied.out;
}

}  // namespace

TEST_CASE("remedies: each broken state is named in the plan and repaired without a reseed") {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.remedy_probe (id INT PRIMARY KEY)");
  CheckSameRowsEverywhere(1);

  SUBCASE("replica stopped by hand: replica-stopped, START SLAVE") {
    lab::Sql("venus", "STOP SLAVE");
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");  // venus misses it for now

    std::string text;
    auto on_venus = PlanConditionsOn("venus", text);
    REQUIRE_MESSAGE(on_venus.size() == 1, text);
    CHECK(on_venus[0]["type"] == "replica-stopped");
    CHECK_MESSAGE(text.find("condition: replica-stopped (degraded)") != std::string::npos, text);
    CHECK(PlannedKinds("venus") == std::vector<std::string>{"start-replica"});

    ApplyAndCheckConverged(3);
  }

  SUBCASE("1593: venus's server_id set equal to the primary's: named, SET GLOBAL server_id, START SLAVE") {
    const std::string primary_id = lab::SqlValue("mercury", "SELECT @@server_id");
    const std::string own_id = lab::SqlValue("venus", "SELECT @@server_id");
    lab::Sql("venus", "STOP SLAVE; SET GLOBAL server_id = " + primary_id + "; START SLAVE");
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");  // venus misses it for now
    WaitForStatus("io-errno-1593");

    std::string text;
    auto on_venus = PlanConditionsOn("venus", text);
    bool io_1593 = false;
    for (const auto& c : on_venus) {
      CHECK_MESSAGE(c["type"] == "server-id-clash", text);
      if (c["error_number"] == 1593) io_1593 = true;
    }
    CHECK_MESSAGE(io_1593, text);
    CHECK_MESSAGE(text.find("condition: server-id-clash (broken, error 1593)") != std::string::npos, text);
    CHECK(PlannedKinds("venus") == std::vector<std::string>{"set-global", "start-replica"});
    CHECK_MESSAGE(text.find("DESTRUCTIVE") == std::string::npos, text);

    ApplyAndCheckConverged(3);
    CHECK(lab::SqlValue("venus", "SELECT @@server_id") == own_id);
  }

  SUBCASE("1236: the binlog venus needs purged while it was stopped: named, reseeded (DESTRUCTIVE, approved)") {
    lab::Sql("venus", "STOP SLAVE");
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2); FLUSH BINARY LOGS");
    // uranus's dump thread moves on to the new file; then every older one can go.
    REQUIRE(lab::WaitFor([] {
      lab::AdminSql("mercury", "PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 DAY");
      return lab::Sql("mercury", "SHOW BINARY LOGS").size() == 1;
    }, std::chrono::seconds(10)));
    lab::Sql("venus", "START SLAVE");
    WaitForStatus("binlog-gone");

    const std::string text = CheckOnlyCondition("venus", "binlog-gone", 1236);
    CHECK(PlannedKinds("venus") == std::vector<std::string>{"seed-replica", "change-source", "start-replica"});
    CHECK_MESSAGE(text.find("seed-replica (DESTRUCTIVE)") != std::string::npos, text);
    auto refused = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
    CHECK_MESSAGE(refused.exit_code == 1, (refused.out + refused.err));
    CHECK_MESSAGE(refused.err.find("pass --allow-destructive") != std::string::npos, refused.err);

    auto applied = lab::Replplan({"apply", "--yes", "--allow-destructive", lab::TopologyPath()});
    REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
    CheckSameRowsEverywhere(3);
    auto again = lab::Replplan({"plan", "--detailed-exitcode", lab::TopologyPath()});
    CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
  }

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
    // The restart is planned: no note may say it is not.
    CHECK_MESSAGE(text.find("runtime unknown until the restart: apply then reads venus again") != std::string::npos, text);
    CHECK_MESSAGE(text.find("no restart") == std::string::npos, text);

    // venus could not be read when planned: apply reads it again after the restart, and exits 0
    // once the cluster is as the file says.
    const std::string out = ApplyAndCheckConverged(3);
    CHECK_MESSAGE(out.find("Read again after the repair") != std::string::npos, out);
  }

  SUBCASE("server-down: venus's mariadbd stopped, SSH up: the plan starts it, apply starts it and it replicates") {
    REQUIRE(lab::Lab({"stop", "venus"}).exit_code == 0);
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");  // venus misses it for now

    std::string text;
    auto on_venus = PlanConditionsOn("venus", text);
    REQUIRE_MESSAGE(on_venus.size() == 1, text);
    CHECK(on_venus[0]["type"] == "server-down");
    CHECK(PlannedKinds("venus") == std::vector<std::string>{"restart-server"});
    CHECK_MESSAGE(text.find("start venus (its restart command): mariadbd is not running") != std::string::npos, text);
    CHECK_MESSAGE(text.find("DESTRUCTIVE") == std::string::npos, text);

    const std::string out = ApplyAndCheckConverged(3);
    CHECK_MESSAGE(out.find("Read again after the repair") != std::string::npos, out);
    CHECK(Rows("venus") == "1,2,3");
  }

  SUBCASE("1133: a GRANT replicated for the declared account pierre, which uranus lacks: created there, no reseed") {
    lab::Sql("uranus", "SET SESSION sql_log_bin = 0; DROP USER 'pierre'@'%'");
    lab::Sql("mercury", "GRANT SELECT ON secondhand_production.* TO 'pierre'@'%'");
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");  // uranus misses it for now
    WaitForStatus("missing-account");
    CHECK(Rows("uranus").find('2') == std::string::npos);

    const std::string text = CheckOnlyCondition("uranus", "missing-account", 1133);
    CHECK(PlannedKinds("uranus") == std::vector<std::string>{"create-user", "start-replica"});
    CHECK_MESSAGE(text.find("DESTRUCTIVE") == std::string::npos, text);
    CHECK_MESSAGE(text.find("seed-replica") == std::string::npos, text);

    ApplyAndCheckConverged(3);
    CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM mysql.user WHERE user = 'pierre'") == "1");
  }
}

TEST_CASE("remedies: 1201 in file/position mode: RESET SLAVE ALL, CHANGE MASTER at the executed position, no reseed") {
  lab::Reset(3);
  const std::string file_mode = FileModeTopology("remedy-file-mode.toml");
  auto applied = lab::Replplan({"apply", "--yes", file_mode});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.remedy_probe (id INT PRIMARY KEY)");
  CheckSameRowsEverywhere(1);

  lab::LoseRelayLogOverRestart("venus");
  lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");  // venus misses it for now

  std::string plan_text;
  auto on_venus = PlanConditionsOn("venus", plan_text, file_mode);
  REQUIRE_MESSAGE(on_venus.size() == 1, plan_text);
  CHECK(on_venus[0]["type"] == "channel-metadata-broken");
  CHECK(PlannedKinds("venus", file_mode) == std::vector<std::string>{"reset-replica", "change-source", "start-replica"});
  CHECK_MESSAGE(plan_text.find("Exec_Master_Log_Pos") != std::string::npos, plan_text);
  CHECK_MESSAGE(plan_text.find("DESTRUCTIVE") == std::string::npos, plan_text);
  CHECK_MESSAGE(plan_text.find("seed-replica") == std::string::npos, plan_text);

  ApplyAndCheckConverged(3, file_mode);
  CHECK(Rows("venus") == "1,2,3");  // exactly once each: the position was the executed one
}

namespace {

// The data table's rows on `host` as "id:v,...".
std::string DataRows(const std::string& host) {
  return lab::SqlValue(host, "SELECT IFNULL(GROUP_CONCAT(CONCAT(id, ':', v) ORDER BY id), '') "
                             "FROM secondhand_production.remedy_data");
}

// The lab topology with [cluster] on_data_error = "skip", as a file of its own.
std::string SkipAllowedTopology() {
  std::string text = lab::ReadFile(lab::TopologyPath());
  const std::string cluster = "[cluster]\n";
  size_t at = text.find(cluster);
  REQUIRE(at != std::string::npos);
  text.insert(at + cluster.size(), "on_data_error = \"skip\"\n");
  return lab::WriteFile("remedy-skip.toml", text);
}

// `sql` run on uranus with its binary log off, then `primary_sql` on mercury: uranus's SQL thread
// stops on a row event error. Returns the GTID of mercury's statement (its last transaction).
std::string BreakUranus(const std::string& sql, const std::string& primary_sql) {
  lab::Sql("uranus", "SET SESSION sql_log_bin = 0; " + sql);
  lab::Sql("mercury", primary_sql);
  const std::string gtid = lab::SqlValue("mercury", "SELECT @@GLOBAL.gtid_binlog_pos");
  REQUIRE(gtid.find(',') == std::string::npos);  // one domain: the position is that transaction
  REQUIRE(lab::WaitFor([] { return lab::Replplan({"status", "--json", lab::TopologyPath()}).out.find("row-event-failed") !=
                                   std::string::npos; },
                       std::chrono::seconds(10)));
  return gtid;
}

// The one condition on uranus is row-event-failed for `error`, naming `event` and the GTID.
void CheckNamed(int error, const std::string& event, const std::string& gtid, const std::string& topology) {
  std::string text;
  auto on_uranus = PlanConditionsOn("uranus", text, topology);
  REQUIRE_MESSAGE(on_uranus.size() == 1, text);
  CHECK(on_uranus[0]["type"] == "row-event-failed");
  CHECK(on_uranus[0]["error_number"] == error);
  const std::string evidence = on_uranus[0]["evidence"].dump();
  CHECK_MESSAGE(evidence.find("row event: " + event + " event on table secondhand_production.remedy_data") !=
                    std::string::npos,
                evidence);
  CHECK_MESSAGE(evidence.find("failing transaction: GTID " + gtid) != std::string::npos, evidence);
}

void ApplySkipAndCheck(const std::string& topology, const std::string& gtid) {
  std::string text;
  PlanConditionsOn("uranus", text, topology);
  CHECK(PlannedKinds("uranus", topology) == std::vector<std::string>{"skip-transaction", "start-replica"});
  CHECK_MESSAGE(text.find("skip transaction " + gtid + " on uranus") != std::string::npos, text);
  CHECK_MESSAGE(text.find("then differs from mercury for that row") != std::string::npos, text);
  CHECK_MESSAGE(text.find("WARNING: skipping " + gtid) != std::string::npos, text);
  CHECK_MESSAGE(text.find("DESTRUCTIVE") == std::string::npos, text);
  auto applied = lab::Replplan({"apply", "--yes", topology});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
}

void ApplyReseedAndCheck(const std::string& want) {
  CHECK(PlannedKinds("uranus") == std::vector<std::string>{"seed-replica", "change-source", "start-replica"});
  // The default is a reseed, DESTRUCTIVE: never carried out on --yes alone.
  auto refused = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  CHECK_MESSAGE(refused.exit_code == 1, (refused.out + refused.err));
  CHECK_MESSAGE((refused.out + refused.err).find("--allow-destructive") != std::string::npos, (refused.out + refused.err));
  auto applied = lab::Replplan({"apply", "--yes", "--allow-destructive", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  for (const std::string& host : kHosts) {
    CHECK_MESSAGE(lab::WaitFor([&] { return DataRows(host) == want; }, std::chrono::seconds(10)), (host + ": " + DataRows(host)));
  }
  auto again = lab::Replplan({"plan", "--detailed-exitcode", lab::TopologyPath()});
  CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
}

}  // namespace

TEST_CASE("remedies: a row event error (1032, 1062) is named with its table, event and GTID; reseeded by default, "
          "that one transaction skipped when the file allows it") {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.remedy_data (id INT PRIMARY KEY, v INT); "
                      "INSERT INTO secondhand_production.remedy_data VALUES (1, 1), (2, 2)");
  for (const std::string& host : kHosts) {
    REQUIRE(lab::WaitFor([&] { return DataRows(host) == "1:1,2:2"; }, std::chrono::seconds(10)));
  }

  SUBCASE("1032 (a row deleted on uranus alone, then updated on mercury), by default: a DESTRUCTIVE reseed") {
    const std::string gtid = BreakUranus("DELETE FROM secondhand_production.remedy_data WHERE id = 2",
                                         "UPDATE secondhand_production.remedy_data SET v = 20 WHERE id = 2");
    CheckNamed(1032, "Update_rows_v1", gtid, lab::TopologyPath());
    ApplyReseedAndCheck("1:1,2:20");
  }

  SUBCASE("1062 (a row inserted on uranus alone, then the same key on mercury), by default: a DESTRUCTIVE reseed") {
    const std::string gtid = BreakUranus("INSERT INTO secondhand_production.remedy_data VALUES (5, 50)",
                                         "INSERT INTO secondhand_production.remedy_data VALUES (5, 5)");
    CheckNamed(1062, "Write_rows_v1", gtid, lab::TopologyPath());
    ApplyReseedAndCheck("1:1,2:2,5:5");
  }

  SUBCASE("1032 with on_data_error = \"skip\": that one transaction is skipped, later writes replicate") {
    const std::string skip = SkipAllowedTopology();
    const std::string gtid = BreakUranus("DELETE FROM secondhand_production.remedy_data WHERE id = 2",
                                         "UPDATE secondhand_production.remedy_data SET v = 20 WHERE id = 2");
    CheckNamed(1032, "Update_rows_v1", gtid, skip);
    ApplySkipAndCheck(skip, gtid);
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_data VALUES (3, 3); "
                        "UPDATE secondhand_production.remedy_data SET v = 10 WHERE id = 1");
    // uranus differs for the skipped row only, as the plan warned.
    CHECK_MESSAGE(lab::WaitFor([] { return DataRows("uranus") == "1:10,3:3"; }, std::chrono::seconds(10)), DataRows("uranus"));
    CHECK_MESSAGE(lab::WaitFor([] { return DataRows("venus") == "1:10,2:20,3:3"; }, std::chrono::seconds(10)), DataRows("venus"));
    auto again = lab::Replplan({"plan", "--detailed-exitcode", skip});
    CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
  }

  SUBCASE("1062 with on_data_error = \"skip\": that one transaction is skipped, later writes replicate") {
    const std::string skip = SkipAllowedTopology();
    const std::string gtid = BreakUranus("INSERT INTO secondhand_production.remedy_data VALUES (5, 50)",
                                         "INSERT INTO secondhand_production.remedy_data VALUES (5, 5)");
    CheckNamed(1062, "Write_rows_v1", gtid, skip);
    ApplySkipAndCheck(skip, gtid);
    lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_data VALUES (6, 6)");
    CHECK_MESSAGE(lab::WaitFor([] { return DataRows("uranus") == "1:1,2:2,5:50,6:6"; }, std::chrono::seconds(10)),
                  DataRows("uranus"));
    CHECK_MESSAGE(lab::WaitFor([] { return DataRows("venus") == "1:1,2:2,5:5,6:6"; }, std::chrono::seconds(10)),
                  DataRows("venus"));
    auto again = lab::Replplan({"plan", "--detailed-exitcode", skip});
    CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
  }
}

TEST_CASE("remedies: 1062 in file/position mode with on_data_error = \"skip\": the event group where the SQL thread "
          "stopped is skipped (sql_slave_skip_counter = 1), later writes replicate") {
  lab::Reset(3);
  const std::string path = FileModeTopology("remedy-file-skip.toml", "on_data_error = \"skip\"");
  auto applied = lab::Replplan({"apply", "--yes", path});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.remedy_data (id INT PRIMARY KEY, v INT); "
                      "INSERT INTO secondhand_production.remedy_data VALUES (1, 1), (2, 2)");
  for (const std::string& host : kHosts) {
    REQUIRE(lab::WaitFor([&] { return DataRows(host) == "1:1,2:2"; }, std::chrono::seconds(10)));
  }
  const std::string gtid = BreakUranus("INSERT INTO secondhand_production.remedy_data VALUES (5, 50)",
                                       "INSERT INTO secondhand_production.remedy_data VALUES (5, 5)");
  CheckNamed(1062, "Write_rows_v1", gtid, path);

  // The plan names where uranus stopped in mercury's binlog; no GTID skip, no reseed.
  auto json = lab::Replplan({"plan", "--json", path});
  nlohmann::json plan = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE_MESSAGE(!plan.is_discarded(), (json.out + json.err));
  std::string where;
  for (const auto& a : plan["actions"]) {
    if (a["kind"] != "skip-transaction") continue;
    CHECK(a["host"] == "uranus");
    CHECK(a["destructive"] == false);
    where = a["params"]["log_file"].get<std::string>() + ":" + a["params"]["log_pos"].get<std::string>();
  }
  REQUIRE_MESSAGE(where.rfind("mysql-bin.", 0) == 0, json.out);
  CHECK(PlannedKinds("uranus", path) == std::vector<std::string>{"skip-transaction", "start-replica"});
  auto plain = lab::Replplan({"plan", path});
  CHECK_MESSAGE(plain.out.find("WARNING: skipping the transaction at " + where) != std::string::npos, plain.out);
  CHECK_MESSAGE(plain.out.find("DESTRUCTIVE") == std::string::npos, plain.out);

  auto done = lab::Replplan({"apply", "--yes", path});
  REQUIRE_MESSAGE(done.exit_code == 0, (done.out + done.err));
  // Exactly that one event group: mercury's row 5 is not on uranus (its own stays), every later one is.
  lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_data VALUES (6, 6); "
                      "UPDATE secondhand_production.remedy_data SET v = 10 WHERE id = 1");
  CHECK_MESSAGE(lab::WaitFor([] { return DataRows("uranus") == "1:10,2:2,5:50,6:6"; }, std::chrono::seconds(10)),
                DataRows("uranus"));
  CHECK_MESSAGE(lab::WaitFor([] { return DataRows("venus") == "1:10,2:2,5:5,6:6"; }, std::chrono::seconds(10)),
                DataRows("venus"));
  auto again = lab::Replplan({"plan", "--detailed-exitcode", path});
  CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
}

TEST_CASE("remedies: a replica far behind the file's bound (replication.far_behind_seconds) is named, degraded") {
  lab::Reset(3);
  std::string text = lab::ReadFile(lab::TopologyPath());
  const std::string replication = "[replication]\n";
  size_t at = text.find(replication);
  REQUIRE(at != std::string::npos);
  text.insert(at + replication.size(), "far_behind_seconds = 2\n");
  const std::string path = lab::WriteFile("remedy-far-behind.toml", text);
  auto applied = lab::Replplan({"apply", "--yes", path});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.remedy_probe (id INT PRIMARY KEY)");
  CheckSameRowsEverywhere(1);

  // venus applies each event 8 s after it was written: a write leaves it behind for those 8 s.
  lab::Sql("venus", "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 8; START SLAVE");
  lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");
  std::string status;
  REQUIRE_MESSAGE(lab::WaitFor([&] {
    status = lab::Replplan({"status", "--json", path}).out;
    return status.find("far-behind") != std::string::npos;
  }, std::chrono::seconds(7)), status);
  std::string plan_text;
  auto on_venus = PlanConditionsOn("venus", plan_text, path);
  bool named = false;
  for (const auto& c : on_venus) {
    if (c["type"] != "far-behind") continue;
    named = true;
    CHECK(c["severity"] == "degraded");
    CHECK_MESSAGE(c["evidence"].dump().find("bound 2 s (replication.far_behind_seconds)") != std::string::npos,
                  c.dump());
  }
  CHECK_MESSAGE(named, plan_text);  // read within the 8 s, just after status saw it
  CHECK_MESSAGE(plan_text.find("condition: far-behind (degraded)") != std::string::npos, plan_text);
  CHECK(Rows("venus") == "1");  // not yet applied

  // CHANGE MASTER put venus's heartbeat period back to its default: apply sets the file's again.
  lab::Sql("venus", "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE");
  auto repaired = lab::Replplan({"apply", "--yes", path});
  CHECK_MESSAGE(repaired.exit_code == 0, (repaired.out + repaired.err));
  CheckSameRowsEverywhere(3);
  auto again = lab::Replplan({"plan", "--detailed-exitcode", path});
  CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
}

namespace {

// What apply could change, on every host: its config file, its runtime (positions, read_only,
// server_id, the channel and its threads, the accounts), and whether its processes run. Read as
// root over the socket and from the lab's files, never through replplan. An account's password
// hash enters only as a digest's prefix, so a failing comparison prints no hash.
std::string Snapshot() {
  std::string out = lab::Lab({"status"}).out;
  for (const std::string& host : kHosts) {
    out += "== " + host + "\n" + lab::ReadFile(lab::Dir() + "/hosts/" + host + "/my.cnf");
    try {
      for (const auto& row : lab::Sql(host,
                                      "SELECT @@gtid_binlog_pos, @@gtid_slave_pos, @@read_only, @@server_id; "
                                      "SELECT user, host, LEFT(SHA2(authentication_string, 256), 16) FROM mysql.user ORDER BY user, host; "
                                      "SELECT COUNT(*) FROM information_schema.processlist WHERE command = 'Binlog Dump'")) {
        for (const std::string& column : row) out += column + "\t";
        out += "\n";
      }
      for (const auto& row : lab::Sql(host, "SHOW SLAVE STATUS")) {
        // Master_Host, Master_User, Master_Port, Slave_IO_Running, Slave_SQL_Running, Using_Gtid's neighbours.
        for (size_t i : {1u, 2u, 3u, 10u, 11u}) out += (i < row.size() ? row[i] : "?") + "\t";
        out += "\n";
      }
    } catch (const std::runtime_error&) {
      out += "(no SQL over the socket)\n";
    }
  }
  return out;
}

// The lab's file with the admin password read from a secret file holding `password`: in
// [defaults] (every server) or, with `server`, for that server only.
std::string WrongAdminTopology(const std::string& name, const std::string& password, const std::string& server = "") {
  const std::string secret = lab::WriteFile(name + ".pw", password + "\n");
  std::filesystem::permissions(secret, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string text = lab::ReadFile(lab::TopologyPath());
  const std::string right = lab::Dir() + "/secrets/admin.pw";
  if (server.empty()) {
    const std::string line = "user = \"admin\", password = { file = \"" + right + "\" }";
    size_t at = text.find(line);
    REQUIRE_MESSAGE(at != std::string::npos, text);
    text.replace(at, line.size(), "user = \"admin\", password = { file = \"" + secret + "\" }");
  } else {
    const std::string block = "name        = \"" + server + "\"\n";
    size_t at = text.find(block);
    REQUIRE_MESSAGE(at != std::string::npos, text);
    text.insert(at + block.size(),
                "mysql       = { port = 3306, user = \"admin\", password = { file = \"" + secret + "\" } }\n");
  }
  return lab::WriteFile(name + ".toml", text);
}

}  // namespace

TEST_CASE("remedies: a host that is down (mariadbd and sshd stopped) is host-down, never listening-elsewhere or "
          "server-down; apply changes nothing until it is back, then converges") {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.remedy_probe (id INT PRIMARY KEY)");
  CheckSameRowsEverywhere(1);

  REQUIRE(lab::Lab({"stop", "venus", "--host"}).exit_code == 0);
  lab::Sql("mercury", "INSERT INTO secondhand_production.remedy_probe VALUES (2)");  // venus misses it for now

  // plan, text and JSON: host-down on venus, from a connection error, with SSH's failure as evidence.
  std::string text;
  auto on_venus = PlanConditionsOn("venus", text);
  REQUIRE_MESSAGE(on_venus.size() == 1, text);
  CHECK(on_venus[0]["type"] == "host-down");
  CHECK(on_venus[0]["reason"] == "sql-and-ssh-failed");
  const int error = on_venus[0]["error_number"].get<int>();
  CHECK_MESSAGE((error == 2002 || error == 2003), text);
  CHECK_MESSAGE(on_venus[0]["evidence"].dump().find("SSH: ") != std::string::npos, on_venus[0].dump());
  CHECK_MESSAGE(text.find("condition: host-down (broken, error " + std::to_string(error) + ")") != std::string::npos,
                text);
  for (const char* host : {"mercury", "uranus"}) {
    std::string ignored;
    CHECK_MESSAGE(PlanConditionsOn(host, ignored).empty(), ignored);
  }
  for (const char* wrong : {"listening-elsewhere", "server-down", "restart-server", "start venus"}) {
    CHECK_MESSAGE(text.find(wrong) == std::string::npos, (std::string(wrong) + " in\n" + text));
  }
  CHECK(PlannedKinds("venus").empty());
  CHECK(lab::Replplan({"plan", "--detailed-exitcode", lab::TopologyPath()}).exit_code == 1);  // incomplete

  // status, text and JSON: the same, broken (2).
  auto status_text = lab::Replplan({"status", lab::TopologyPath()});
  auto status_json = lab::Replplan({"status", "--json", lab::TopologyPath()});
  CHECK_MESSAGE(status_text.exit_code == 2, (status_text.out + status_text.err));
  CHECK(status_json.exit_code == 2);
  CHECK_MESSAGE(status_text.out.find("host-down (broken) on venus") != std::string::npos, status_text.out);
  nlohmann::json status = nlohmann::json::parse(status_json.out, nullptr, false);
  REQUIRE_MESSAGE(!status.is_discarded(), (status_json.out + status_json.err));
  auto status_venus = ConditionsOn(status, "venus");
  REQUIRE_MESSAGE(status_venus.size() == 1, status_json.out);
  CHECK(status_venus[0]["type"] == "host-down");
  CHECK(status_venus[0]["status"] == "broken");
  CHECK(status["conditions"].size() == 1);
  for (const char* wrong : {"listening-elsewhere", "server-down"}) {
    CHECK_MESSAGE((status_text.out + status_json.out).find(wrong) == std::string::npos, wrong);
  }

  // apply changes nothing on any host and says why.
  const std::string before = Snapshot();
  auto refused = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  CHECK_MESSAGE(refused.exit_code == 1, (refused.out + refused.err));
  CHECK_MESSAGE((refused.out + refused.err).find("host-down") != std::string::npos, (refused.out + refused.err));
  CHECK_MESSAGE(refused.out.find("No changes planned. 1 host could not be read: venus") != std::string::npos,
                (refused.out + refused.err));
  CHECK(Snapshot() == before);
  CHECK(Rows("uranus") == "1,2");

  // Back: its channel reconnects by itself (nothing was wrong but the host), so apply has nothing
  // to change and says so; it exits 0, every server holds the rows, and a new plan has nothing to do.
  REQUIRE(lab::Lab({"start", "venus"}).exit_code == 0);
  auto back = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  CHECK_MESSAGE(back.exit_code == 0, (back.out + back.err));
  CHECK_MESSAGE(back.out.find("host-down") == std::string::npos, (back.out + back.err));
  CheckSameRowsEverywhere(3);
  CHECK(Rows("venus") == "1,2,3");
  auto again = lab::Replplan({"plan", "--detailed-exitcode", lab::TopologyPath()});
  CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
}

TEST_CASE("remedies: replplan's own admin login refused (1045) is wrong-password, not a down server; apply changes "
          "nothing and no password is printed") {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.remedy_probe (id INT PRIMARY KEY)");
  CheckSameRowsEverywhere(1);

  const std::string right = lab::SecretValue("admin.pw");
  const std::string wrong = "not-the-admin-password-5";
  REQUIRE(right.size() >= 8);  // a short secret could match by accident and prove nothing

  struct Case {
    const char* name;
    std::string server;                // "" for every server
    std::vector<std::string> refused;  // the servers whose login is refused
  };
  for (const Case& c : {Case{"every server", "", kHosts}, Case{"venus only", "venus", {"venus"}}}) {
    CAPTURE(c.name);
    const std::string topology = WrongAdminTopology(c.server.empty() ? "wrong-admin-all" : "wrong-admin-venus", wrong, c.server);
    std::string all_output;

    std::string text;
    for (const std::string& host : kHosts) {
      auto on_host = PlanConditionsOn(host, text, topology);
      const bool refused = std::find(c.refused.begin(), c.refused.end(), host) != c.refused.end();
      if (!refused) {
        CHECK_MESSAGE(on_host.empty(), text);
        continue;
      }
      REQUIRE_MESSAGE(on_host.size() == 1, text);
      CHECK(on_host[0]["type"] == "wrong-password");
      CHECK(on_host[0]["reason"] == "login-refused");
      CHECK(on_host[0]["error_number"] == 1045);
      // The login's answer is the evidence; no process probe (a down or moved server) is.
      const std::string evidence = on_host[0]["evidence"].dump();
      CHECK_MESSAGE(evidence.find("Access denied for user 'admin'") != std::string::npos, evidence);
      CHECK_MESSAGE(evidence.find("mariadbd") == std::string::npos, evidence);
      CHECK(PlannedKinds(host, topology).empty());
    }
    all_output += text;
    CHECK_MESSAGE(text.find("condition: wrong-password (broken, error 1045)") != std::string::npos, text);
    for (const char* not_it : {"host-down", "server-down", "listening-elsewhere", "unreachable", "restart-server"}) {
      CHECK_MESSAGE(text.find(not_it) == std::string::npos, (std::string(not_it) + " in\n" + text));
    }
    auto json = lab::Replplan({"plan", "--json", topology});
    auto exit = lab::Replplan({"plan", "--detailed-exitcode", topology});
    CHECK_MESSAGE(exit.exit_code == 1, (exit.out + exit.err));  // incomplete
    auto status_text = lab::Replplan({"status", topology});
    auto status_json = lab::Replplan({"status", "--json", topology});
    CHECK(status_text.exit_code == 2);
    CHECK_MESSAGE(status_text.out.find("wrong-password (broken) on venus, error 1045") != std::string::npos,
                  status_text.out);
    nlohmann::json status = nlohmann::json::parse(status_json.out, nullptr, false);
    REQUIRE_MESSAGE(!status.is_discarded(), (status_json.out + status_json.err));
    CHECK(status["conditions"].size() == c.refused.size());
    for (const std::string& host : c.refused) {
      auto on_host = ConditionsOn(status, host);
      REQUIRE_MESSAGE(on_host.size() == 1, status_json.out);
      CHECK(on_host[0]["type"] == "wrong-password");
      CHECK(on_host[0]["reason"] == "login-refused");
    }
    all_output += json.out + json.err + exit.out + exit.err + status_text.out + status_text.err + status_json.out +
                  status_json.err;

    const std::string before = Snapshot();
    auto refused = lab::Replplan({"apply", "--yes", topology});
    all_output += refused.out + refused.err;
    CHECK_MESSAGE(refused.exit_code == 1, (refused.out + refused.err));
    CHECK_MESSAGE((refused.out + refused.err).find("wrong-password") != std::string::npos, (refused.out + refused.err));
    CHECK(Snapshot() == before);

    CHECK_MESSAGE(all_output.find(wrong) == std::string::npos, "the wrong admin password was printed");
    CHECK_MESSAGE(all_output.find(right) == std::string::npos, "the admin password was printed");
  }

  // The right file again: nothing to do, every server holds the rows.
  auto again = lab::Replplan({"plan", "--detailed-exitcode", lab::TopologyPath()});
  CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
  CheckSameRowsEverywhere(2);
}
