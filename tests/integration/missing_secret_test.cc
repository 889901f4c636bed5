// Secrets on the real lab (issue 14): a secret that cannot be resolved stops plan, apply,
// switchover, failover and watch before any host is contacted, with one message naming every such
// secret, and nothing changes anywhere; a secret file others may read is used, with a warning.
// (The issue: `apply --yes` with the admin password's variable unset edited my.cnf on every host
// while no host could be read, and exited 1.)
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "integration/lab_client.h"

namespace {

// The lab topology with every occurrence of `from` replaced by `to`, written under the lab's tmp.
std::string EditedTopology(const std::string& name, const std::vector<std::pair<std::string, std::string>>& edits) {
  std::string text = lab::ReadFile(lab::TopologyPath());
  for (const auto& [from, to] : edits) {
    const size_t at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    text.replace(at, from.size(), to);
  }
  return lab::WriteFile(name, text);
}

std::string AdminPasswordRef() { return "password = { file = \"" + lab::Dir() + "/secrets/admin.pw\" }"; }
std::string ReplPasswordRef() { return "password      = { file = \"" + lab::Dir() + "/secrets/repl.pw\" }"; }

// Nothing reached the host: its my.cnf is the fresh one, no account was created, no replication
// configured, and the server still runs without a binlog (no restart happened).
void CheckUntouched(const std::string& host) {
  CAPTURE(host);
  const std::string dir = lab::Dir() + "/hosts/" + host;
  CHECK(lab::ReadFile(dir + "/my.cnf") == lab::ReadFile(dir + "/my.cnf.fresh"));
  CHECK(lab::SqlValue(host, "SELECT COUNT(*) FROM mysql.user WHERE User = 'repl'") == "0");
  CHECK(lab::SqlValue(host, "SELECT COUNT(*) FROM mysql.user WHERE User = 'pierre'") == "0");
  CHECK(lab::Sql(host, "SHOW ALL SLAVES STATUS").empty());
  CHECK(lab::SqlValue(host, "SELECT @@log_bin") == "0");
}

void CheckNoSecretIn(const lab::CommandResult& run) {
  for (const char* name : {"admin.pw", "repl.pw", "app.pw"}) {
    const std::string value = lab::SecretValue(name);
    REQUIRE(!value.empty());
    CHECK_MESSAGE(run.out.find(value) == std::string::npos, name << " in stdout");
    CHECK_MESSAGE(run.err.find(value) == std::string::npos, name << " in stderr");
  }
}

}  // namespace

TEST_CASE("an unset admin password variable and a missing secret file: every command refuses, nothing changes") {
  lab::Reset(2);
  unsetenv("REPLPLAN_LAB_ADMIN_PW");  // the case: the variable the file names is not set
  const std::string missing = lab::Dir() + "/secrets/missing-repl.pw";
  const std::string path =
      EditedTopology("unset-secret.toml", {{AdminPasswordRef(), "password = { env = \"REPLPLAN_LAB_ADMIN_PW\" }"},
                                           {ReplPasswordRef(), "password      = { file = \"" + missing + "\" }"}});
  const std::string admin_problem =
      "defaults.mysql.password (servers mercury, uranus): environment variable REPLPLAN_LAB_ADMIN_PW is not set";
  const std::string repl_problem = "replication.password: file " + missing + " does not exist";

  auto apply = lab::Replplan({"apply", path, "--yes"});
  CHECK(apply.exit_code == 1);
  CHECK_MESSAGE(apply.err.find("2 secrets the topology needs cannot be resolved; no host was contacted") !=
                    std::string::npos,
                apply.err);
  CHECK_MESSAGE(apply.err.find(path + ":") != std::string::npos, apply.err);  // FILE:LINE:COL of each
  CHECK_MESSAGE(apply.err.find(admin_problem) != std::string::npos, apply.err);
  CHECK_MESSAGE(apply.err.find(repl_problem) != std::string::npos, apply.err);
  CHECK_MESSAGE(apply.out.find("started") == std::string::npos, apply.out);  // no action ran
  CheckNoSecretIn(apply);
  CheckUntouched("mercury");
  CheckUntouched("uranus");

  auto plan = lab::Replplan({"plan", path});
  CHECK(plan.exit_code == 1);
  CHECK(plan.err == apply.err);
  CHECK(plan.out.empty());

  auto switchover = lab::Replplan({"switchover", path, "--to", "uranus", "--yes"});
  CHECK(switchover.exit_code == 1);
  CHECK(switchover.err == apply.err);
  auto failover = lab::Replplan({"failover", path, "--yes"});
  CHECK(failover.exit_code == 1);
  CHECK(failover.err == apply.err);
  // watch refuses to start (bounded: a watch that did start would run until stopped).
  auto watch = lab::Run({"timeout", "60", REPLPLAN_BINARY, "watch", path, "--max-failovers", "1"});
  CHECK(watch.exit_code == 1);
  CHECK(watch.err == apply.err);
  CheckUntouched("mercury");
  CheckUntouched("uranus");

  // validate stays offline and needs no secret.
  auto validate = lab::Replplan({"validate", path});
  CHECK_MESSAGE(validate.exit_code == 0, validate.err);
}

TEST_CASE("a secret file group or others may read is used, with a warning naming it and chmod 600") {
  lab::Reset(2);
  const std::string open_file = lab::WriteFile("open-repl.pw", lab::SecretValue("repl.pw") + "\n");
  REQUIRE(chmod(open_file.c_str(), 0644) == 0);
  const std::string path =
      EditedTopology("open-secret.toml", {{ReplPasswordRef(), "password      = { file = \"" + open_file + "\" }"}});

  auto plan = lab::Replplan({"plan", path});
  CHECK_MESSAGE(plan.exit_code == 0, plan.err);
  CHECK_MESSAGE(plan.err.find("replplan: warning: permissions 0644 for secret file " + open_file + " are too open") !=
                    std::string::npos,
                plan.err);
  CHECK_MESSAGE(plan.err.find("chmod 600 '" + open_file + "'") != std::string::npos, plan.err);
  CHECK(plan.out.find("mercury") != std::string::npos);  // the plan was made: every host was read
  CHECK(plan.out.find("could not") == std::string::npos);
  CheckNoSecretIn(plan);
  // The lab's own secret files are private: no warning about them.
  CHECK(plan.err.find(lab::Dir() + "/secrets/") == std::string::npos);
}
