// The POSIX probe a standby shell's login shell must pass (providers/standby_shell.h), on canned
// answers: sh and bash pass, with or without a banner before; csh's error, a shell without
// arithmetic expansion, or one that mangles quotes are refused, naming the host and the fix.
#include <doctest/doctest.h>

#include <cstdio>

#include "engine/shell_quote.h"
#include "providers/standby_shell.h"

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
