#include "providers/standby_shell.h"

#include "engine/shell_quote.h"

namespace replplan {
namespace {

constexpr char kTag[] = "standby shell";
constexpr char kAck = '\x06';

}  // namespace

std::string StandbyShellCommand() {
  // bash whatever the login shell (read -d is bash's); `exec` so no extra process waits.
  return ShellJoin({"exec", "bash", "-c", "IFS= read -r -d '' c || exit 0; printf '\\006'; eval \"$c\""});
}

std::optional<StandbyRun> RunOnStandbyShell(SessionPool* pool, const SshOptions& options, const std::string& command,
                                            std::string_view input, int timeout_ms) {
  if (pool == nullptr) return std::nullopt;
  SessionPool::Started standby = pool->TakeStarted(options, kTag);
  if (!standby.stream) return std::nullopt;
  std::string framed = command;
  framed.push_back('\0');
  framed.append(input.data(), input.size());
  standby.session->set_command_timeout_ms(timeout_ms);
  StandbyRun run;
  run.result = standby.stream->Converse(framed, timeout_ms);
  standby.stream.reset();
  if (!run.result.ok()) return run;  // the transport failed: the session goes with it
  if (run.result->out.empty() || run.result->out.front() != kAck) {
    // The shell was gone before it read the command: nothing ran. The session may be sound.
    GiveBack(pool, std::move(standby.session), true);
    return std::nullopt;
  }
  run.result->out.erase(0, 1);
  run.session = std::move(standby.session);
  return run;
}

int KeepStandbyShells(const Topology& topology, SessionPool& pool) {
  return pool.KeepStartedEverywhere(topology, kTag, StandbyShellCommand());
}

}  // namespace replplan
