// Errant transactions on the real lab (issue 14): a write on a replica whose read_only was turned
// off. The plan names its GTID (text and JSON) and the split brain; what it does is the file's
// choice, cluster.errant_transactions: refuse (the default: named, explained, incomplete, exit 1),
// inject-empty (the primary commits empty transactions with those GTIDs, and replication goes on:
// the primary's next writes reach every replica, read back) or reseed (the replica is reseeded and
// holds the primary's rows). The same three for a server with no channel (reset, then written on,
// as a former primary that took writes after a failover): it rejoins by GTID after the injection.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "integration/lab_client.h"

namespace {

const std::vector<std::string> kHosts = {"mercury", "uranus", "venus"};

std::string Rows(const std::string& host) {
  return lab::SqlValue(host, "SELECT IFNULL(GROUP_CONCAT(id ORDER BY id), '') FROM secondhand_production.errant_probe");
}

// The lab's topology with `errant_transactions = "<remedy>"` in [cluster], as a file of its own.
std::string TopologyWith(const std::string& remedy) {
  std::string text = lab::ReadFile(lab::TopologyPath());
  const std::string cluster = "[cluster]\n";
  size_t at = text.find(cluster);
  REQUIRE(at != std::string::npos);
  text.insert(at + cluster.size(), "errant_transactions = \"" + remedy + "\"\n");
  return lab::WriteFile("errant-" + remedy + ".toml", text);
}

nlohmann::json PlanJson(const std::string& path) {
  auto json = lab::Replplan({"plan", "--json", path});
  nlohmann::json plan = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE_MESSAGE(!plan.is_discarded(), (json.out + json.err));
  return plan;
}

std::vector<nlohmann::json> ConditionsOn(const nlohmann::json& plan, const std::string& host, const std::string& type) {
  std::vector<nlohmann::json> found;
  for (const auto& c : plan["conditions"]) {
    if (c["host"] == host && c["type"] == type) found.push_back(c);
  }
  return found;
}

bool EvidenceHas(const nlohmann::json& condition, const std::string& text) {
  for (const auto& e : condition["evidence"]) {
    if (e.get<std::string>().find(text) != std::string::npos) return true;
  }
  return false;
}

// A write on `host`, a replica, with its read_only turned off first; the GTID it got ("0-3-7").
std::string ErrantWrite(const std::string& host, int id) {
  lab::Sql(host, "SET GLOBAL read_only = OFF");
  lab::Sql(host, "INSERT INTO secondhand_production.errant_probe VALUES (" + std::to_string(id) + ")");
  return lab::SqlValue(host, "SELECT @@gtid_binlog_pos");
}

// A row written on mercury reaches `host`.
void CheckReceives(const std::string& host, int id) {
  CHECK_MESSAGE(lab::WaitFor([&] { return Rows(host).find(std::to_string(id)) != std::string::npos; },
                             std::chrono::seconds(10)),
                (host + " holds " + Rows(host) + " without " + std::to_string(id)));
}

// errant_transactions = "reseed" for venus's errant row 100: refused without --allow-destructive
// (nothing changed), then venus holds mercury's rows, later ones too, and nothing is left to plan.
void CheckReseedRepairs() {
  const std::string path = TopologyWith("reseed");
  auto without = lab::Replplan({"apply", "--yes", path});
  CHECK_MESSAGE(without.exit_code == 1, (without.out + without.err));  // DESTRUCTIVE needs its flag
  CHECK_MESSAGE(without.err.find("pass --allow-destructive") != std::string::npos, without.err);
  CHECK(Rows("venus") == "1,100");
  auto done = lab::Replplan({"apply", "--yes", "--allow-destructive", path});
  REQUIRE_MESSAGE(done.exit_code == 0, (done.out + done.err));
  CHECK(Rows("venus") == "1");
  lab::Sql("mercury", "INSERT INTO secondhand_production.errant_probe VALUES (2)");
  for (const std::string& host : kHosts) CheckReceives(host, 2);
  for (const std::string& host : kHosts) CHECK_MESSAGE(Rows(host) == "1,2", host);
  auto again = lab::Replplan({"plan", "--detailed-exitcode", path});
  CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
}

// A fresh lab as the file says, with the probe table's row 1 on every server.
void Setup() {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.errant_probe (id INT PRIMARY KEY)");
  lab::Sql("mercury", "INSERT INTO secondhand_production.errant_probe VALUES (1)");
  for (const std::string& host : kHosts) CheckReceives(host, 1);
}

}  // namespace

TEST_CASE("errant transactions: named in the plan, refused by default, repaired by inject-empty or reseed") {
  Setup();

  const std::string venus_pos = ErrantWrite("venus", 100);
  const std::string errant_gtid = venus_pos.substr(venus_pos.rfind(',') + 1);  // the domain-0 entry: 0-3-N
  REQUIRE_MESSAGE(errant_gtid.rfind("0-3-", 0) == 0, venus_pos);

  // The default: refuse. Named (text and JSON), both remedies explained, incomplete: exit 1.
  auto text = lab::Replplan({"plan", lab::TopologyPath()});
  CHECK_MESSAGE(text.exit_code == 1, (text.out + text.err));
  CHECK_MESSAGE(text.out.find("condition: errant-transactions (broken)") != std::string::npos, text.out);
  CHECK_MESSAGE(text.out.find("errant GTIDs: " + errant_gtid) != std::string::npos, text.out);
  CHECK_MESSAGE(text.out.find("unresolved: errant transactions " + errant_gtid + " on venus") != std::string::npos,
                text.out);
  CHECK_MESSAGE(text.out.find("errant_transactions = \"inject-empty\"") != std::string::npos, text.out);
  CHECK_MESSAGE(text.out.find("errant_transactions = \"reseed\" (DESTRUCTIVE") != std::string::npos, text.out);
  nlohmann::json plan = PlanJson(lab::TopologyPath());
  CHECK(plan["complete"] == false);
  auto errant = ConditionsOn(plan, "venus", "errant-transactions");
  REQUIRE(errant.size() == 1);
  CHECK(EvidenceHas(errant[0], "errant GTIDs: " + errant_gtid));
  // Split brain: mercury and venus both writable; venus alone is fenced, with what each holds.
  auto split = ConditionsOn(plan, "venus", "split-brain");
  REQUIRE(split.size() == 1);
  CHECK(EvidenceHas(split[0], "venus has, mercury lacks: " + errant_gtid));
  CHECK(EvidenceHas(split[0], "mercury has, venus lacks: nothing"));
  for (const auto& a : plan["actions"]) {
    CHECK_MESSAGE(a["host"] != "mercury", a.dump());
    if (a["host"] == "venus") CHECK(a["kind"] == "set-global");
  }
  for (const auto& h : plan["hosts"]) {
    if (h["name"] == "venus") CHECK(h["unresolved"].size() == 1);
  }
  auto refused = lab::Replplan({"apply", "--yes", lab::TopologyPath()});
  CHECK_MESSAGE(refused.exit_code == 1, (refused.out + refused.err));
  CHECK(lab::SqlValue("venus", "SELECT @@read_only") == "1");  // fenced: the split brain is over
  CHECK(lab::SqlValue("mercury", "SELECT @@read_only") == "0");

  SUBCASE("inject-empty: mercury commits the GTID empty, and its next writes reach every replica") {
    const std::string path = TopologyWith("inject-empty");
    nlohmann::json inject = PlanJson(path);
    CHECK(inject["complete"] == true);
    bool planned = false;
    for (const auto& a : inject["actions"]) {
      if (a["kind"] != "inject-empty-transactions") continue;
      planned = true;
      CHECK(a["host"] == "mercury");
      CHECK(a["params"]["replica"] == "venus");
      CHECK(a["params"]["gtids"] == errant_gtid);
      CHECK(a["destructive"] == false);
    }
    CHECK_MESSAGE(planned, inject.dump(2));
    auto done = lab::Replplan({"apply", "--yes", path});
    REQUIRE_MESSAGE(done.exit_code == 0, (done.out + done.err));
    // mercury's position holds the GTID now; the data mercury had is unchanged.
    CHECK(lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos").find(errant_gtid) != std::string::npos);
    CHECK(Rows("mercury") == "1");
    lab::Sql("mercury", "INSERT INTO secondhand_production.errant_probe VALUES (2)");
    for (const std::string& host : kHosts) CheckReceives(host, 2);
    CHECK(Rows("uranus") == "1,2");
    CHECK(Rows("venus") == "1,2,100");  // venus's own row stays on venus alone, as the plan said
    auto again = lab::Replplan({"plan", "--detailed-exitcode", path});
    CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
  }

  SUBCASE("reseed: venus is reseeded and holds mercury's rows") { CheckReseedRepairs(); }
}

TEST_CASE("errant transactions on a server with no channel follow errant_transactions: refuse, inject-empty, reseed") {
  Setup();
  // venus forgets its channel and takes a write of its own: writable, no source, a GTID mercury lacks.
  lab::Sql("venus", "STOP SLAVE; RESET SLAVE ALL");
  const std::string venus_pos = ErrantWrite("venus", 100);
  const std::string errant_gtid = venus_pos.substr(venus_pos.rfind(',') + 1);
  REQUIRE_MESSAGE(errant_gtid.rfind("0-3-", 0) == 0, venus_pos);

  // The default: refuse. Named, explained, unresolved; apply only fences venus and exits 1.
  auto text = lab::Replplan({"plan", lab::TopologyPath()});
  CHECK_MESSAGE(text.exit_code == 1, (text.out + text.err));
  CHECK_MESSAGE(text.out.find("condition: errant-transactions (broken)") != std::string::npos, text.out);
  CHECK_MESSAGE(text.out.find("unresolved: errant transactions " + errant_gtid + " on venus") != std::string::npos,
                text.out);
  CHECK_MESSAGE(text.out.find("errant_transactions = \"reseed\" (DESTRUCTIVE") != std::string::npos, text.out);
  nlohmann::json plan = PlanJson(lab::TopologyPath());
  CHECK(plan["complete"] == false);
  REQUIRE(ConditionsOn(plan, "venus", "errant-transactions").size() == 1);
  CHECK(EvidenceHas(ConditionsOn(plan, "venus", "errant-transactions")[0], "errant GTIDs: " + errant_gtid));
  for (const auto& a : plan["actions"]) {
    CHECK_MESSAGE(a["destructive"] == false, a.dump());
    if (a["host"] == "venus") CHECK_MESSAGE(a["kind"] == "fence-primary", a.dump());
  }
  auto refused = lab::Replplan({"apply", "--yes", "--allow-destructive", lab::TopologyPath()});
  CHECK_MESSAGE(refused.exit_code == 1, (refused.out + refused.err));
  CHECK(lab::SqlValue("venus", "SELECT @@read_only") == "1");
  CHECK(Rows("venus") == "1,100");  // not reseeded, even with --allow-destructive

  SUBCASE("inject-empty: mercury commits the GTID empty, venus rejoins by GTID and receives mercury's next rows") {
    const std::string path = TopologyWith("inject-empty");
    nlohmann::json inject = PlanJson(path);
    CHECK(inject["complete"] == true);
    std::vector<std::string> kinds;
    for (const auto& a : inject["actions"]) {
      kinds.push_back(a["host"].get<std::string>() + "/" + a["kind"].get<std::string>());
      CHECK_MESSAGE(a["destructive"] == false, a.dump());
      if (a["kind"] == "inject-empty-transactions") CHECK(a["params"]["gtids"] == errant_gtid);
    }
    CHECK(kinds == std::vector<std::string>{"mercury/inject-empty-transactions", "venus/change-source",
                                            "venus/start-replica"});
    auto done = lab::Replplan({"apply", "--yes", path});
    REQUIRE_MESSAGE(done.exit_code == 0, (done.out + done.err));
    CHECK(lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos").find(errant_gtid) != std::string::npos);
    lab::Sql("mercury", "INSERT INTO secondhand_production.errant_probe VALUES (2)");
    for (const std::string& host : kHosts) CheckReceives(host, 2);
    CHECK(Rows("mercury") == "1,2");
    CHECK(Rows("uranus") == "1,2");
    CHECK(Rows("venus") == "1,2,100");  // its own row stays on it alone, as the plan said
    auto again = lab::Replplan({"plan", "--detailed-exitcode", path});
    CHECK_MESSAGE(again.exit_code == 0, (again.out + again.err));
  }

  SUBCASE("reseed: venus is reseeded (DESTRUCTIVE, approved) and holds mercury's rows") { CheckReseedRepairs(); }
}
