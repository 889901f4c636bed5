// The POSIX probe a standby shell's login shell must pass (providers/standby_shell.h), on canned
// answers: sh and bash pass, with or without a banner before; csh's error, a shell without
// arithmetic expansion, or one that mangles quotes are refused, naming the host and the fix. Then
// a command's run on a standby shell over a fake server's session.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/shell_quote.h"
#include "providers/standby_shell.h"
#include "providers/testing/fake_server.h"
#include "providers/testing/fake_topology.h"

using replplan::CheckPosixShellProbe;
using replplan::ExecResult;
using replplan::Status;

namespace {

ExecResult Answer(int exit_status, std::string out, std::string err = "") {
  ExecResult r;
  r.exit_status = exit_status;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

}  // namespace

TEST_CASE("the probe is what sh answers: sh's own answer passes, with or without a banner first") {
  CHECK(replplan::PosixShellProbeCommand() == "printf '%s|%s\\n' \"$((6*7))\" 'it'\\''s'");
  CHECK(CheckPosixShellProbe(Answer(0, "42|it's\n"), "root@db1:22").ok());
  CHECK(CheckPosixShellProbe(Answer(0, "Welcome to db1\nLast backup: today\n42|it's\n"), "root@db1:22").ok());
}

TEST_CASE("a login shell that is not POSIX is refused, naming the host and the fix") {
  Status csh = CheckPosixShellProbe(Answer(1, "", "Illegal variable name.\n"), "root@db1:22");
  REQUIRE_FALSE(csh.ok());
  CHECK(csh.code() == Status::Code::kFailedPrecondition);
  CHECK(csh.message().find("the login shell of root@db1:22 is not a POSIX shell") != std::string::npos);
  CHECK(csh.message().find("Illegal variable name.") != std::string::npos);
  CHECK(csh.message().find("chsh -s /bin/bash") != std::string::npos);
  // No arithmetic expansion; quotes mangled; the right text but a failure; the right text glued to
  // a banner line (not on its own line).
  CHECK_FALSE(CheckPosixShellProbe(Answer(0, "$((6*7))|it's\n"), "root@db1:22").ok());
  CHECK_FALSE(CheckPosixShellProbe(Answer(0, "42|it\\'s\n"), "root@db1:22").ok());
  CHECK_FALSE(CheckPosixShellProbe(Answer(1, "42|it's\n"), "root@db1:22").ok());
  CHECK_FALSE(CheckPosixShellProbe(Answer(0, "x42|it's\n"), "root@db1:22").ok());
  CHECK_FALSE(CheckPosixShellProbe(Answer(0, ""), "root@db1:22").ok());
}

TEST_CASE("the probe command gives the expected answer in this machine's sh") {
  FILE* sh = popen(("sh -c " + replplan::ShellQuote(replplan::PosixShellProbeCommand())).c_str(), "r");
  REQUIRE(sh != nullptr);
  char buffer[64] = {};
  size_t n = fread(buffer, 1, sizeof(buffer) - 1, sh);
  int status = pclose(sh);
  CHECK(status == 0);
  CHECK(CheckPosixShellProbe(Answer(0, std::string(buffer, n)), "local").ok());
}

// RunOnStandbyShell over the seam (a fake server's session, providers/testing/fake_server.h): the
// nonce protocol without sshd.
namespace {

replplan::FakeServer::CommandScript Banner(std::string out, std::string err) {
  replplan::FakeServer::CommandScript script;
  script.out = std::move(out);
  script.err = std::move(err);
  return script;
}

}  // namespace

TEST_CASE("a command on a fake standby shell: one write of nonce, command and stdin, a fresh nonce each time, and "
          "only the command's own output back") {
  const replplan::Topology topology = replplan::FakeTopology();
  replplan::FakeSessionFactory factory;
  replplan::FakeServer& uranus = factory.server("uranus");
  uranus.KeepStandbyShell(Banner("Welcome\n", "Last backup: today\n"));
  uranus.AnswerCommand("cat", ExecResult{.exit_status = 3, .out = "out\n", .err = "err\n"});

  auto session = factory.Open(*topology.FindServer("uranus"));
  auto run = replplan::RunOnStandbyShell(*session, "cat; exit 3", std::string("in\0put\n", 7), 1000);
  REQUIRE(run.has_value());
  REQUIRE(run->ok());
  CHECK((*run)->out == "out\n");
  CHECK((*run)->err == "err\n");
  CHECK((*run)->exit_status == 3);
  // Used up; the session's SSH connection (the standby's) serves on.
  CHECK_FALSE(replplan::RunOnStandbyShell(*session, "true", {}, 1000).has_value());
  CHECK(session->Run("echo still here").ok());

  uranus.KeepStandbyShell();
  auto other = factory.Open(*topology.FindServer("uranus"));
  REQUIRE(replplan::RunOnStandbyShell(*other, "true", {}, 1000).has_value());
  const auto started = uranus.started();
  REQUIRE(started.size() == 2);
  const std::string first = started[0].input.substr(0, started[0].input.find('\0'));
  const std::string second = started[1].input.substr(0, started[1].input.find('\0'));
  CHECK(started[0].input == first + std::string("\0cat; exit 3\0in\0put\n", 20));
  CHECK(first.size() == 45);
  CHECK(first.rfind("replplan-ran-", 0) == 0);
  CHECK(second.size() == 45);
  CHECK(first != second);
  CHECK(uranus.log() == std::vector<std::string>{"take: standby shell", "run: cat; exit 3", "run: echo still here",
                                                 "take: standby shell", "run: true"});
}

TEST_CASE("no standby shell, one gone (another nonce), or a session already connected: the caller runs the command") {
  const replplan::Topology topology = replplan::FakeTopology();
  replplan::FakeSessionFactory factory;
  replplan::FakeServer& uranus = factory.server("uranus");
  auto session = factory.Open(*topology.FindServer("uranus"));
  CHECK_FALSE(replplan::RunOnStandbyShell(*session, "true", {}, 1000).has_value());  // none stands by

  replplan::FakeServer::CommandScript gone;
  gone.wrong_nonce = true;
  uranus.KeepStandbyShell(gone);
  CHECK_FALSE(replplan::RunOnStandbyShell(*session, "true", {}, 1000).has_value());
  CHECK(uranus.log() == std::vector<std::string>{"take: standby shell"});  // taken, nothing run

  uranus.KeepStandbyShell();
  auto connected = factory.Open(*topology.FindServer("uranus"));
  REQUIRE(connected->ConnectSsh().ok());
  CHECK_FALSE(replplan::RunOnStandbyShell(*connected, "true", {}, 1000).has_value());
  CHECK(uranus.log() == std::vector<std::string>{"take: standby shell"});  // left standing by
}
