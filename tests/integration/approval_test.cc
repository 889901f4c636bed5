// Approval prompts on a terminal (switchover; apply's are in apply_test): the prompt holds no
// cluster lock, so watch's fencing and other operators are not blocked while someone reads a plan,
// and what runs after the "yes" is the plan made under the lock, only if it is the approved one.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <chrono>
#include <string>

#include "integration/lab_client.h"
#include "providers/cluster_lock.h"

namespace {

using namespace std::chrono_literals;

// A replicating pair, mercury the primary, with one row written on it.
void ReplicatingPair() {
  lab::Reset(2);
  auto applied = lab::Replplan({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.approval (id INT PRIMARY KEY)");
  lab::Sql("mercury", "INSERT INTO secondhand_production.approval VALUES (1)");
}

TEST_CASE("switchover's prompt holds no cluster lock; approved, it carries out the plan made under the lock") {
  ReplicatingPair();
  bool lock_free = false;
  lab::TerminalRun run = lab::ReplplanOnTerminal({"switchover", lab::TopologyPath(), "--to", "uranus"}, [&] {
    auto lock = replplan::AcquireClusterLock(lab::LoadTopology(), "approval_test (while the prompt waits)");
    lock_free = lock.ok();
  });  // released here, before the answer
  INFO("switchover on a terminal:\n" << run.out);
  REQUIRE(run.prompted);
  CHECK(lock_free);
  CHECK(WIFEXITED(run.status));
  CHECK(WEXITSTATUS(run.status) == 0);
  CHECK(lab::SqlValue("uranus", "SELECT @@read_only") == "0");
  CHECK(lab::SqlValue("mercury", "SELECT @@read_only") == "1");
  lab::Sql("uranus", "INSERT INTO secondhand_production.approval VALUES (2)");
  CHECK(lab::WaitFor([] {
    return lab::SqlValue("mercury", "SELECT COUNT(*) FROM secondhand_production.approval") == "2";
  }, 30s));
}

TEST_CASE("a switchover approved after the servers changed under it changes nothing") {
  ReplicatingPair();
  lab::TerminalRun run = lab::ReplplanOnTerminal({"switchover", lab::TopologyPath(), "--to", "uranus"},
                                                 [] { lab::Sql("uranus", "SET GLOBAL server_id = 77"); });
  INFO("switchover on a terminal:\n" << run.out);
  REQUIRE(run.prompted);
  CHECK(WIFEXITED(run.status));
  CHECK(WEXITSTATUS(run.status) == 1);
  CHECK(run.out.find("changed while the switchover waited for approval") != std::string::npos);
  CHECK(run.out.find("uranus/set-global") != std::string::npos);
  // Nothing moved: mercury is still the writable primary, uranus its read-only replica.
  CHECK(lab::SqlValue("mercury", "SELECT @@read_only") == "0");
  CHECK(lab::SqlValue("uranus", "SELECT @@read_only") == "1");
  lab::Sql("mercury", "INSERT INTO secondhand_production.approval VALUES (3)");
  CHECK(lab::WaitFor([] {
    return lab::SqlValue("uranus", "SELECT COUNT(*) FROM secondhand_production.approval") == "2";
  }, 30s));
}

}  // namespace
