// A stale copy of the topology file (the one in git, on a laptop, in CI) applied after a failover
// rewrote another copy: the live cluster has moved on, and the apply must change nothing. Before,
// it fenced the new primary, reseeded it from the old one (DROP DATABASE, RESET MASTER) and made
// the old primary writable: every write since the failover was lost, approved by --yes alone.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "integration/lab_client.h"

namespace {

using namespace std::chrono_literals;

void RequireOk(const lab::CommandResult& r, const std::string& what) {
  INFO(what << ":\n" << r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

constexpr int kRows = 25;

std::string CountAfterFailover(const std::string& host) {
  return lab::SqlValue(host, "SELECT COUNT(*) FROM secondhand_production.after_failover");
}

}  // namespace

TEST_CASE("a stale copy of the file applied with --yes after a failover changes nothing: every write made on the "
          "new primary since stays there") {
  lab::Reset(3);
  const std::string original = lab::WriteFile("stale-original.toml", lab::ReadFile(lab::TopologyPath()));
  RequireOk(lab::Replplan({"apply", original, "--yes"}), "apply");
  lab::Sql("mercury", "CREATE TABLE secondhand_production.after_failover (seq INT PRIMARY KEY)");
  // The copy `failover` rewrites (watch's own copy, say); the original stays as it was.
  const std::string copy = lab::WriteFile("stale-copy.toml", lab::ReadFile(original));
  REQUIRE(lab::WaitFor([] {
    return lab::SqlValue("uranus", "SELECT COUNT(*) FROM information_schema.TABLES WHERE table_name = 'after_failover'") == "1" &&
           lab::SqlValue("venus", "SELECT COUNT(*) FROM information_schema.TABLES WHERE table_name = 'after_failover'") == "1";
  }, 20s));

  lab::Lab({"kill", "mercury"});
  auto failover = lab::Replplan({"failover", copy, "--yes"});
  INFO("failover:\n" << failover.out << failover.err);
  REQUIRE(failover.exit_code == 0);
  const std::string promoted = lab::PrimaryIn(copy);
  REQUIRE((promoted == "uranus" || promoted == "venus"));
  const std::string other = promoted == "uranus" ? "venus" : "uranus";
  CHECK(lab::PrimaryIn(original) == "mercury");

  // Writes on the new primary, then the old one comes back (read-only, as after a crash).
  for (int seq = 1; seq <= kRows; ++seq) {
    auto w = lab::AdminSql(promoted, "INSERT INTO secondhand_production.after_failover VALUES (" +
                                         std::to_string(seq) + ")");
    REQUIRE_MESSAGE(w.exit_code == 0, w.err);
  }
  REQUIRE(CountAfterFailover(promoted) == std::to_string(kRows));
  RequireOk(lab::Lab({"start", "mercury"}), "start mercury");
  REQUIRE(lab::SqlValue("mercury", "SELECT @@global.read_only") == "1");

  // The stale original, applied as a script would: --yes, and even --allow-destructive.
  for (const char* flag : {"--yes", "--allow-destructive"}) {
    auto plan = lab::Replplan({"plan", original});
    INFO("plan:\n" << plan.out << plan.err);
    CHECK(plan.exit_code == 1);
    CHECK(plan.err.find(promoted + " is the live primary") != std::string::npos);
    CHECK(plan.err.find("mercury lacks") != std::string::npos);
    CHECK(plan.err.find("primary = \"" + promoted + "\"") != std::string::npos);
    std::vector<std::string> args = {"apply", original, "--yes"};
    if (std::string(flag) == "--allow-destructive") args.push_back(flag);
    auto apply = lab::Replplan(args);
    INFO("apply " << flag << ":\n" << apply.out << apply.err);
    CHECK(apply.exit_code == 1);
    CHECK(apply.out.find("started") == std::string::npos);  // no action ran
  }
  // Nothing changed: every row written since the failover is on the new primary, which still takes
  // writes; the other replica still follows it; mercury is still read-only.
  CHECK(CountAfterFailover(promoted) == std::to_string(kRows));
  CHECK(lab::SqlValue(promoted, "SELECT @@global.read_only") == "0");
  CHECK(lab::SqlValue("mercury", "SELECT @@global.read_only") == "1");
  auto w = lab::AdminSql(promoted, "INSERT INTO secondhand_production.after_failover VALUES (1000)");
  CHECK_MESSAGE(w.exit_code == 0, w.err);
  CHECK(lab::WaitFor([&] { return CountAfterFailover(other) == std::to_string(kRows + 1); }, 10s));
  // The failover recorded its epoch on the servers (replicated to the other replica) and in the copy.
  CHECK(lab::ReadFile(copy).find("\nepoch = 1\n") != std::string::npos);
  CHECK(lab::ReadFile(original).find("epoch") == std::string::npos);
  CHECK(lab::SqlValue(other, "SELECT CONCAT(epoch, ' ', primary_name, ' ', kind) FROM replplan.epochs") ==
        "1 " + promoted + " failover");
  // The copy the failover rewrote is the one to apply: mercury rejoins, nothing lost.
  RequireOk(lab::Replplan({"apply", copy, "--yes"}), "apply of the rewritten copy");
  CHECK(lab::WaitFor([&] { return CountAfterFailover("mercury") == std::to_string(kRows + 1); }, 10s));
  CHECK(CountAfterFailover(promoted) == std::to_string(kRows + 1));
  CHECK(lab::WaitFor([] { return lab::SqlValue("mercury", "SELECT MAX(epoch) FROM replplan.epochs") == "1"; }, 10s));
  // replplan's schema is no user database: the cluster is as the copy says, nothing left to plan.
  auto again = lab::Replplan({"plan", copy, "--detailed-exitcode"});
  CHECK_MESSAGE(again.exit_code == 0, again.out << again.err);
}

TEST_CASE("two servers, no replica to show the structure: the failover epoch on the servers refuses the stale copy") {
  lab::Reset(2);
  const std::string original = lab::WriteFile("epoch-original.toml", lab::ReadFile(lab::TopologyPath()));
  RequireOk(lab::Replplan({"apply", original, "--yes"}), "apply");
  lab::Sql("mercury", "CREATE TABLE secondhand_production.after_failover (seq INT PRIMARY KEY)");
  const std::string copy = lab::WriteFile("epoch-copy.toml", lab::ReadFile(original));
  REQUIRE(lab::WaitFor([] {
    return lab::SqlValue("uranus", "SELECT COUNT(*) FROM information_schema.TABLES WHERE table_name = 'after_failover'") == "1";
  }, 20s));
  lab::Lab({"kill", "mercury"});
  RequireOk(lab::Replplan({"failover", copy, "--yes"}), "failover");
  REQUIRE(lab::PrimaryIn(copy) == "uranus");
  for (int seq = 1; seq <= kRows; ++seq) {
    auto w = lab::AdminSql("uranus", "INSERT INTO secondhand_production.after_failover VALUES (" + std::to_string(seq) + ")");
    REQUIRE_MESSAGE(w.exit_code == 0, w.err);
  }
  RequireOk(lab::Lab({"start", "mercury"}), "start mercury");

  auto apply = lab::Replplan({"apply", original, "--yes", "--allow-destructive"});
  INFO("apply:\n" << apply.out << apply.err);
  CHECK(apply.exit_code == 1);
  CHECK(apply.err.find("epoch-original.toml is stale: it records no epoch and says primary = \"mercury\", but the "
                       "servers are at epoch 1: failover to uranus at ") != std::string::npos);
  CHECK(apply.out.find("started") == std::string::npos);
  CHECK(CountAfterFailover("uranus") == std::to_string(kRows));
  CHECK(lab::SqlValue("uranus", "SELECT @@global.read_only") == "0");
  CHECK(lab::SqlValue("mercury", "SELECT @@global.read_only") == "1");

  // The rewritten copy: mercury rejoins and receives every row and the epoch.
  RequireOk(lab::Replplan({"apply", copy, "--yes"}), "apply of the rewritten copy");
  CHECK(lab::WaitFor([] { return CountAfterFailover("mercury") == std::to_string(kRows); }, 10s));
  CHECK(lab::WaitFor([] { return lab::SqlValue("mercury", "SELECT MAX(epoch) FROM replplan.epochs") == "1"; }, 10s));

  // A switchover back by editing primary in that copy (at the servers' epoch) is a legitimate move:
  // planned and carried out; apply records epoch 2 and writes it into the file.
  std::string text = lab::ReadFile(copy);
  size_t at = text.find("primary = \"uranus\"");
  REQUIRE(at != std::string::npos);
  text.replace(at, 18, "primary = \"mercury\"");
  lab::WriteFile("epoch-copy.toml", text);
  RequireOk(lab::Replplan({"apply", copy, "--yes"}), "apply (switchover back by edit)");
  CHECK(lab::SqlValue("mercury", "SELECT @@global.read_only") == "0");
  CHECK(lab::ReadFile(copy).find("\nepoch = 2\n") != std::string::npos);
  CHECK(lab::WaitFor([] {
    return lab::SqlValue("uranus", "SELECT CONCAT(epoch, ' ', primary_name, ' ', kind) FROM replplan.epochs "
                                   "ORDER BY epoch DESC LIMIT 1") == "2 mercury switchover";
  }, 10s));
  // And the original copy, whose primary is now the recorded one again, is no longer refused.
  auto plan = lab::Replplan({"plan", original});
  CHECK_MESSAGE(plan.exit_code == 0, plan.out << plan.err);
}
