#include "providers/standby_shell.h"

#include <random>

#include "engine/shell_quote.h"

namespace replplan {
namespace {

// 128 random bits as hex, fresh for each command: no output printed before the command was read
// (a banner, /etc/profile, a .bashrc that echoes) can contain it.
std::string NewNonce() {
  std::random_device random;  // getrandom(2) on Linux
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string nonce = "replplan-ran-";
  for (int i = 0; i < 4; ++i) {
    const unsigned int word = random();
    for (int shift = 28; shift >= 0; shift -= 4) nonce.push_back(kDigits[(word >> shift) & 0xf]);
  }
  return nonce;
}

// Everything after `nonce`'s first occurrence; false when it does not occur.
bool DropThroughNonce(std::string& text, const std::string& nonce) {
  const size_t at = text.find(nonce);
  if (at == std::string::npos) return false;
  text.erase(0, at + nonce.size());
  return true;
}

const char kProbeExpected[] = "42|it's\n";

}  // namespace

const char kStandbyShellTag[] = "standby shell";

std::string StandbyShellCommand() {
  // bash whatever the login shell (read -d is bash's); `exec` so no extra process waits. The
  // nonce goes to both streams, so what the shells printed on starting is told from the command's.
  return ShellJoin({"exec", "bash", "-c",
                    "IFS= read -r -d '' n && IFS= read -r -d '' c || exit 0; printf '%s' \"$n\"; "
                    "printf '%s' \"$n\" >&2; eval \"$c\""});
}

std::string PosixShellProbeCommand() {
  // Arithmetic expansion and a quote closed, escaped and reopened: what ShellQuote relies on.
  // csh, tcsh and fish fail one or the other.
  return "printf '%s|%s\\n' \"$((6*7))\" " + ShellQuote("it's");
}

Status CheckPosixShellProbe(const ExecResult& probe, const std::string& endpoint) {
  const std::string& out = probe.out;
  const size_t n = sizeof(kProbeExpected) - 1;
  const bool ends_right = out.size() >= n && out.compare(out.size() - n, n, kProbeExpected) == 0;
  if (probe.exit_status == 0 && ends_right && (out.size() == n || out[out.size() - n - 1] == '\n')) {
    return Status::OK();
  }
  std::string said = probe.err.empty() ? out : probe.err;
  while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
  if (said.size() > 200) said = said.substr(said.size() - 200);
  return Status::FailedPrecondition("the login shell of " + endpoint +
                                    " is not a POSIX shell (it did not run printf \"$((6*7))\" 'it'\\''s' as sh does" +
                                    (said.empty() ? "" : ": " + said) +
                                    "); replplan quotes every remote command for sh: give the user /bin/sh or "
                                    "/bin/bash as its shell (chsh -s /bin/bash)");
}

std::optional<Result<ExecResult>> RunOnStandbyShell(ServerSession& session, const std::string& command,
                                                    std::string_view input, int timeout_ms) {
  std::unique_ptr<RemoteCommand> standby = session.TakeStartedCommand(kStandbyShellTag);
  if (!standby) return std::nullopt;
  const std::string nonce = NewNonce();
  std::string framed = nonce;
  framed.push_back('\0');
  framed += command;
  framed.push_back('\0');
  framed.append(input.data(), input.size());
  Result<ExecResult> result = standby->Converse(framed, timeout_ms);
  standby.reset();
  if (!result.ok()) return result;  // the transport failed: the session's SSH connection went with it
  // Without the nonce the shell was gone before it read the command: nothing ran, and the caller
  // runs it the ordinary way (the session's SSH connection is sound). Whatever the shells printed
  // on starting came before it.
  if (!DropThroughNonce(result->out, nonce)) return std::nullopt;
  DropThroughNonce(result->err, nonce);
  return result;
}

int KeepStandbyShells(const Topology& topology, SessionPool& pool, std::vector<Status>* refused) {
  return pool.KeepStartedEverywhere(topology, kStandbyShellTag, StandbyShellCommand(), [](SshSession& session) -> Status {
    auto probe = session.Run(PosixShellProbeCommand());
    if (!probe.ok()) return probe.status();
    return CheckPosixShellProbe(*probe, session.Endpoint());
  }, refused);
}

}  // namespace replplan
