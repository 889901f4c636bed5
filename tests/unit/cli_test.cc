// The CLI as a user meets it: exit codes and the exact diagnostics `validate` prints. Runs the
// built binary; never contacts a server (the production example is only validated).
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/shell_quote.h"

namespace {

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr together, as a terminal shows them
};

Output RunReplplan(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {REPLPLAN_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string command = "cd " + replplan::ShellQuote(REPLPLAN_SOURCE_DIR) + " && " + replplan::ShellJoin(argv) +
                        " 2>&1";
  Output out;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.text.append(buffer.data(), n);
  int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("validate accepts the production example and exits 0") {
  Output out = RunReplplan({"validate", "examples/secondhand.toml"});
  CHECK(out.exit_code == 0);
  CHECK(out.text == "examples/secondhand.toml: valid (cluster \"secondhand\", 2 servers, primary mercury)\n");
}

TEST_CASE("validate prints every error as FILE:LINE:COL and exits 1") {
  for (const char* name : {"duplicates", "secrets", "unknown_keys", "wrong_types", "syntax_error"}) {
    CAPTURE(name);
    std::string toml = std::string("tests/golden/invalid/") + name + ".toml";
    Output out = RunReplplan({"validate", toml});
    CHECK(out.exit_code == 1);
    std::string expected = ReadFile(std::string(REPLPLAN_SOURCE_DIR) + "/tests/golden/invalid/" + name + ".errors");
    while (!expected.empty() && expected.back() == '\n') expected.pop_back();
    REQUIRE_FALSE(expected.empty());  // an empty expectation would match any output
    CHECK(out.text.rfind(expected, 0) == 0);  // the diagnostics first, then the count line
    CHECK(out.text.find("replplan: ") != std::string::npos);
  }
}

TEST_CASE("plan refuses an invalid file before contacting anything, exit 1") {
  Output out = RunReplplan({"plan", "tests/golden/invalid/duplicates.toml", "--detailed-exitcode"});
  CHECK(out.exit_code == 1);
  CHECK(out.text.find("duplicate server name 'mercury'") != std::string::npos);
}

TEST_CASE("a MySQL cluster is validated, but plan and the other server commands refuse it before contacting anything") {
  // The lab example as MySQL, every address one where nothing listens (127.0.0.97-99: a
  // regression must not reach anything either).
  std::string toml = ReadFile(std::string(REPLPLAN_SOURCE_DIR) + "/examples/lab-3.toml");
  const std::vector<std::pair<std::string, std::string>> nowhere = {
      {"127.0.0.61", "127.0.0.97"}, {"127.0.0.66", "127.0.0.98"}, {"127.0.0.67", "127.0.0.99"}};
  for (const auto& [from, to] : nowhere) {
    for (size_t at = toml.find(from); at != std::string::npos; at = toml.find(from)) toml.replace(at, from.size(), to);
  }
  const size_t flavor = toml.find("flavor  = \"mariadb\"");
  REQUIRE(flavor != std::string::npos);
  toml.replace(flavor, 19, "flavor  = \"mysql\"  ");
  char path[] = "/tmp/replplan_mysql_XXXXXX.toml";
  const int fd = mkstemps(path, 5);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << toml;
  CHECK(RunReplplan({"validate", path}).exit_code == 0);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"plan", path}, {"apply", path, "--yes"}, {"failover", path, "--yes"}, {"watch", path}, {"status", path}}) {
    CAPTURE(args[0]);
    Output out = RunReplplan(args);
    CHECK(out.exit_code == (args[0] == "status" ? 3 : 1));  // status: 1 and 2 mean degraded and broken
    CHECK(out.text.find("flavor = \"mysql\" is validated but not driven yet") != std::string::npos);
  }
  std::remove(path);
}

TEST_CASE("status exits 3 (unknown) when nothing could be checked: an invalid file, a usage error, MySQL") {
  Output invalid = RunReplplan({"status", "tests/golden/invalid/duplicates.toml"});
  CHECK(invalid.exit_code == 3);
  CHECK(invalid.text.find("duplicate server name 'mercury'") != std::string::npos);
  CHECK(RunReplplan({"status", "does/not/exist.toml"}).exit_code == 3);
  CHECK(RunReplplan({"status", "examples/lab-3.toml", "--interval-ms", "0"}).exit_code == 3);
  CHECK(RunReplplan({"status", "examples/lab-3.toml", "--no-such-flag"}).exit_code == 3);
}

TEST_CASE("a missing file and a usage error exit 1, never 2 (2 means changes)") {
  CHECK(RunReplplan({"validate", "does/not/exist.toml"}).exit_code == 1);
  CHECK(RunReplplan({"plan"}).exit_code == 1);
  CHECK(RunReplplan({"plan", "x.toml", "--parallelism", "0"}).exit_code == 1);
}

TEST_CASE("names holding escape sequences are refused by validate, and nothing raw reaches the terminal") {
  const std::string seed = ReadFile(std::string(REPLPLAN_SOURCE_DIR) + "/examples/secondhand.toml");
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string toml = seed;
    const size_t at = toml.find(from);
    REQUIRE(at != std::string::npos);
    toml.replace(at, from.size(), to);
    char path[] = "/tmp/replplan_escapes_XXXXXX.toml";
    const int fd = mkstemps(path, 5);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << toml;
    return std::string(path);
  };
  // TOML strings may hold any control character as \uXXXX (here cursor up, erase line, CR): the
  // file is refused, and the refusal shows the character as a visible escape.
  const std::string named = with("name    = \"secondhand\"", "name    = \"second\\u001b[1A\\u001b[2K\\rhand\"");
  Output out = RunReplplan({"validate", named});
  CHECK(out.exit_code == 1);
  CHECK(out.text.find(named + ":8:11: cluster.name must not contain control characters (\\x1b at byte 6)") !=
        std::string::npos);
  CHECK(out.text.find('\x1b') == std::string::npos);
  std::remove(named.c_str());

  const std::string invalid = with("name    = \"secondhand_production\"", "name    = \"shop\\u001b[2K\\r/x\"");
  out = RunReplplan({"validate", invalid});
  CHECK(out.exit_code == 1);
  CHECK(out.text.find("must not contain control characters (\\x1b at byte 4)") != std::string::npos);
  CHECK(out.text.find('\x1b') == std::string::npos);
  CHECK(out.text.find('\r') == std::string::npos);
  std::remove(invalid.c_str());
}

TEST_CASE("import refuses before contacting anything: no host, an unset password variable, an existing file") {
  Output none = RunReplplan({"import"});
  CHECK(none.exit_code == 1);
  CHECK(none.text.find("hosts is required") != std::string::npos);

  Output unset = RunReplplan({"import", "127.0.0.1", "--password-env", "REPLPLAN_CLI_TEST_UNSET"});
  CHECK(unset.exit_code == 1);
  CHECK(unset.text.find("REPLPLAN_CLI_TEST_UNSET (--password-env) is unset or empty") != std::string::npos);

  setenv("REPLPLAN_CLI_TEST_PASSWORD", "not-used", 1);
  char dir_template[] = "/tmp/replplan-cli-import-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string path = std::string(dir_template) + "/topology.toml";
  std::ofstream(path) << "# mine\n";
  // --name before the host takes one NAME=ADDRESS, leaving the host a host.
  Output exists = RunReplplan(
      {"import", "--name", "db1=127.0.0.1", "127.0.0.1", "--password-env", "REPLPLAN_CLI_TEST_PASSWORD", "-o", path});
  CHECK(exists.exit_code == 1);
  CHECK(exists.text == "replplan: " + path + " exists; --force replaces it\n");
  CHECK(ReadFile(path) == "# mine\n");
  std::remove(path.c_str());
  rmdir(dir_template);
}
