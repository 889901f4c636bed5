// Standby shells (providers/standby_shell.h) on the lab's real sshd: a command run on one behaves as
// a fresh exec (output, stderr, exit status, stdin, newlines and quotes), uses the shell up, and
// leaves its session usable; a shell that is gone runs nothing and says so; none is left behind.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "integration/lab_client.h"
#include "providers/connect_options.h"
#include "providers/session_pool.h"
#include "providers/standby_shell.h"

namespace {

constexpr int kTimeoutMs = 10000;

bool AnyStandbyShellRuns() { return lab::Lab({"pgrep", "read -r -d"}).exit_code == 0; }

}  // namespace

TEST_CASE("a command on a standby shell runs as a fresh exec would: stdout, stderr, exit status, stdin, quotes") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  replplan::SessionPool pool;
  REQUIRE(replplan::KeepStandbyShells(topology, pool) == 2);  // one per server
  CHECK(replplan::KeepStandbyShells(topology, pool) == 0);    // kept, not started again
  const replplan::SshOptions mercury = replplan::SshOptionsFor(topology.servers[0]);

  // Several lines, quotes of both kinds, $-expansions: the command reaches the shell as written.
  const std::string command =
      "x='it'\"'\"'s'\n"
      "printf '%s|%s\\n' \"$x\" \"$(echo sub)\"\n"
      "echo to-err >&2\n"
      "cat\n"
      "exit 3";
  auto run = replplan::RunOnStandbyShell(&pool, mercury, command, std::string("in\0put\n", 7), kTimeoutMs);
  REQUIRE(run.has_value());
  REQUIRE_MESSAGE(run->result.ok(), run->result.status().message());
  CHECK(run->result->out == std::string("it's|sub\nin\0put\n", 16));
  CHECK(run->result->err == "to-err\n");
  CHECK(run->result->exit_status == 3);

  // Used up: the next command on mercury has no standby, while its session serves on.
  CHECK_FALSE(pool.HasStarted(mercury, "standby shell"));
  CHECK_FALSE(replplan::RunOnStandbyShell(&pool, mercury, "true", {}, kTimeoutMs).has_value());
  REQUIRE(run->session != nullptr);
  auto again = run->session->Run("echo still here");
  REQUIRE(again.ok());
  CHECK(again->out == "still here\n");
}

TEST_CASE("a standby shell that is gone runs nothing: the caller is told to run the command itself") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  const replplan::SshOptions mercury = replplan::SshOptionsFor(topology.servers[0]);
  const std::string marker = lab::Dir() + "/tmp/standby-ran";
  std::filesystem::remove(marker);

  CHECK_FALSE(replplan::RunOnStandbyShell(nullptr, mercury, "touch " + marker, {}, kTimeoutMs).has_value());
  replplan::SessionPool pool;
  CHECK_FALSE(replplan::RunOnStandbyShell(&pool, mercury, "touch " + marker, {}, kTimeoutMs).has_value());

  REQUIRE(replplan::KeepStandbyShells(topology, pool) == 2);
  // Killed under a live session: the pool cannot see it without a round trip.
  REQUIRE(lab::Lab({"pkill", "KILL", "read -r -d"}).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(replplan::RunOnStandbyShell(&pool, mercury, "touch " + marker, {}, kTimeoutMs).has_value());
  CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("standby shells end, running nothing, when their connection closes") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  {
    replplan::SessionPool pool;
    REQUIRE(replplan::KeepStandbyShells(topology, pool) == 2);
    REQUIRE(AnyStandbyShellRuns());
  }
  CHECK(lab::WaitFor([] { return !AnyStandbyShellRuns(); }, std::chrono::seconds(5)));
}
