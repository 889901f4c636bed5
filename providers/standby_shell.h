// Standby shells: for `watch`, a shell started ahead of need on every server, on an SSH session of
// its own, waiting on its stdin for one command. Running a command on it is one write: no channel
// to open, no session for sshd to fork, no shell to start. A failover's app restart (the touch of
// tmp/restart.txt, on the path to the app's first write) runs on one.
//
// The remote side reads the command up to a NUL byte (no C string has one; newlines and quotes
// pass as they are) with bash's `read -d ''`, answers one ACK byte, then `eval`s it: the
// command's stdin is the rest of the channel's, its output and exit status the channel's, as with
// a fresh exec. The ACK tells a command that ran from a shell that was already gone (killed under
// a live session, which sshd reports only once stdin closes): without it the command is run the
// ordinary way.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/topology.h"
#include "providers/session_pool.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {

// The command a standby shell's channel runs.
std::string StandbyShellCommand();

struct StandbyRun {
  Result<ExecResult> result = Status::Internal("not run");
  std::unique_ptr<SshSession> session;  // its session, free for more commands (or null)
};

// `command` with `input` on one of `pool`'s standby shells for the server `options` reaches;
// nullopt when none stands by, or the one taken was gone before it ran the command: run it the
// ordinary way then. The result is what SshSession::Run would give (the ACK byte removed).
std::optional<StandbyRun> RunOnStandbyShell(SessionPool* pool, const SshOptions& options, const std::string& command,
                                            std::string_view input, int timeout_ms);

// Starts a standby shell on every server of `topology` that has none in `pool`, all at once, and
// keeps them there. Servers that cannot be reached are skipped. Returns how many it started.
int KeepStandbyShells(const Topology& topology, SessionPool& pool);

}  // namespace replplan
