// Standby shells (providers/standby_shell.h) on the lab's real sshd: a command run on one behaves as
// a fresh exec (output, stderr, exit status, stdin, newlines and quotes), uses the shell up, and
// leaves its session usable; a shell that is gone runs nothing and says so; none is left behind;
// a login shell that prints on starting still runs each command exactly once.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "integration/lab_client.h"
#include "providers/connect_options.h"
#include "providers/server_session.h"
#include "providers/session_pool.h"
#include "providers/standby_shell.h"

namespace {

constexpr int kTimeoutMs = 10000;

bool AnyStandbyShellRuns() { return lab::Lab({"pgrep", "read -r -d"}).exit_code == 0; }

// A second sshd for mercury on port 2224, from mercury's own sshd_config, whose sessions' shells
// print on starting: root's HOME there has a .bashrc that prints (bash run by sshd sources it even
// for a command). Its own port, home and files, so no other test sees it. Stopped when the guard
// goes.
class SshdWithBanner {
 public:
  // `topology` with only mercury, reached through this sshd.
  replplan::Topology Mercury(replplan::Topology topology) const {
    topology.servers.resize(1);
    topology.servers[0].ssh.port = sshd_.port();
    topology.servers[0].ssh.known_hosts = sshd_.known_hosts();
    return topology;
  }

 private:
  static std::string Home() {
    const std::string home = lab::Dir() + "/tmp/banner-home";
    std::filesystem::create_directories(home);
    std::ofstream(home + "/.bashrc") << "printf 'Welcome to mercury\\n'\nprintf 'Last backup: today\\n' >&2\n";
    return home;
  }
  lab::ExtraSshd sshd_{"banner", 2224, [home = Home()](const std::string& line) {
                         return line.rfind("SetEnv", 0) == 0 ? "SetEnv HOME=" + home : line;
                       }};
};

}  // namespace

TEST_CASE("a command on a standby shell runs as a fresh exec would: stdout, stderr, exit status, stdin, quotes") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  replplan::SessionPool pool;
  REQUIRE(replplan::KeepStandbyShells(topology, pool) == 2);  // one per server
  CHECK(replplan::KeepStandbyShells(topology, pool) == 0);    // kept, not started again
  const replplan::SshOptions mercury = replplan::SshOptionsFor(topology.servers[0]);
  replplan::LiveSessionFactory sessions(&pool);
  auto session = sessions.Open(topology.servers[0]);

  // Several lines, quotes of both kinds, $-expansions: the command reaches the shell as written.
  const std::string command =
      "x='it'\"'\"'s'\n"
      "printf '%s|%s\\n' \"$x\" \"$(echo sub)\"\n"
      "echo to-err >&2\n"
      "cat\n"
      "exit 3";
  auto run = replplan::RunOnStandbyShell(*session, command, std::string("in\0put\n", 7), kTimeoutMs);
  REQUIRE(run.has_value());
  REQUIRE_MESSAGE(run->ok(), run->status().message());
  CHECK((*run)->out == std::string("it's|sub\nin\0put\n", 16));
  CHECK((*run)->err == "to-err\n");
  CHECK((*run)->exit_status == 3);

  // Used up: the next command on mercury has no standby, while the session serves on over the
  // standby's SSH connection.
  CHECK_FALSE(pool.HasStarted(mercury, replplan::kStandbyShellTag));
  CHECK_FALSE(replplan::RunOnStandbyShell(*sessions.Open(topology.servers[0]), "true", {}, kTimeoutMs).has_value());
  auto again = session->Run("echo still here");
  REQUIRE(again.ok());
  CHECK(again->out == "still here\n");
}

TEST_CASE("a standby shell that is gone runs nothing: the caller is told to run the command itself") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  const std::string marker = lab::Dir() + "/tmp/standby-ran";
  std::filesystem::remove(marker);

  replplan::LiveSessionFactory unpooled;
  CHECK_FALSE(replplan::RunOnStandbyShell(*unpooled.Open(topology.servers[0]), "touch " + marker, {}, kTimeoutMs)
                  .has_value());
  replplan::SessionPool pool;
  replplan::LiveSessionFactory sessions(&pool);
  CHECK_FALSE(
      replplan::RunOnStandbyShell(*sessions.Open(topology.servers[0]), "touch " + marker, {}, kTimeoutMs).has_value());

  REQUIRE(replplan::KeepStandbyShells(topology, pool) == 2);
  // Killed under a live session: the pool cannot see it without a round trip.
  REQUIRE(lab::Lab({"pkill", "KILL", "read -r -d"}).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Taken and found gone: nothing ran, and the session's SSH connection runs the command instead.
  auto session = sessions.Open(topology.servers[0]);
  CHECK_FALSE(replplan::RunOnStandbyShell(*session, "touch " + marker, {}, kTimeoutMs).has_value());
  CHECK_FALSE(std::filesystem::exists(marker));
  auto ordinary = session->Run("echo ordinary");
  REQUIRE_MESSAGE(ordinary.ok(), ordinary.status().message());
  CHECK(ordinary->out == "ordinary\n");
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

TEST_CASE("a login shell that prints on starting runs a command on its standby shell exactly once") {
  lab::Reset(2);
  SshdWithBanner sshd;
  const replplan::Topology topology = sshd.Mercury(lab::LoadTopology());
  const replplan::SshOptions mercury = replplan::SshOptionsFor(topology.servers[0]);
  {
    // The banner is there: a fresh exec shows it.
    auto session = replplan::SshSession::Connect(mercury);
    REQUIRE_MESSAGE(session.ok(), session.status().message());
    auto plain = (*session)->Run("true");
    REQUIRE(plain.ok());
    REQUIRE(plain->out == "Welcome to mercury\n");
  }
  const std::string counter = lab::Dir() + "/tmp/standby-count";
  std::filesystem::remove(counter);

  replplan::SessionPool pool;
  std::vector<replplan::Status> refused;
  REQUIRE(replplan::KeepStandbyShells(topology, pool, &refused) == 1);  // bash with a banner is POSIX
  CHECK(refused.empty());
  // As restart-app does (providers/steps/app_steps.cc): the standby shell, or the ordinary way when
  // it says nothing ran.
  const std::string command = "echo ran >> " + counter + "; echo out; echo err >&2";
  std::string out, err;
  replplan::LiveSessionFactory sessions(&pool);
  auto session = sessions.Open(topology.servers[0]);
  if (auto run = replplan::RunOnStandbyShell(*session, command, {}, kTimeoutMs)) {
    REQUIRE_MESSAGE(run->ok(), run->status().message());
    out = (*run)->out;
    err = (*run)->err;
  } else {
    auto fresh = session->Run(command);
    REQUIRE(fresh.ok());
    out = fresh->out;
  }
  CHECK(lab::ReadFile(counter) == "ran\n");  // once, not twice
  CHECK(out == "out\n");                     // the banner is not the command's output
  CHECK(err == "err\n");
}
