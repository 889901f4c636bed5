// Standby shells: for `watch`, a shell started ahead of need on every server, on an SSH session of
// its own, waiting on its stdin for one command. Running a command on it is one write: no channel
// to open, no session for sshd to fork, no shell to start. A failover's app restart (the touch of
// tmp/restart.txt, on the path to the app's first write) runs on one.
//
// The remote side reads a fresh random nonce and then the command, each up to a NUL byte (no C
// string has one; newlines and quotes pass as they are) with bash's `read -d ''`, prints the nonce
// on stdout and stderr, then `eval`s the command: its stdin is the rest of the channel's, its output
// and exit status the channel's, as with a fresh exec. Whatever came before the nonce is what the
// login shell printed on starting (a banner, /etc/profile or a .bashrc that echoes) and is
// dropped. No nonce means the shell was already gone (killed under a live session, which sshd
// reports only once stdin closes) and ran nothing: the command is then run the ordinary way, once.
//
// Every remote command is quoted for a POSIX shell (engine/shell_quote.h), so a standby shell is
// started only where the login shell answers a probe as sh would; csh or fish are refused.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/topology.h"
#include "providers/server_session.h"
#include "providers/session_pool.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {

// The command a standby shell's channel runs, and the tag it is kept under in a SessionPool
// (ServerSession::TakeStartedCommand takes it).
std::string StandbyShellCommand();
extern const char kStandbyShellTag[];

// `command` with `input` on the standby shell kept for `session`'s server (taken with
// ServerSession::TakeStartedCommand, so its SSH connection becomes the session's and serves on);
// nullopt when none stands by (or `session` has its SSH connection already), or the one taken was
// gone before it ran the command: run it with session.Run then, once. Otherwise the result is what
// Run would give (the nonce and what the shell printed before it removed), or the transport's or
// the timeout's error (the command may have run: never run it again then).
std::optional<Result<ExecResult>> RunOnStandbyShell(ServerSession& session, const std::string& command,
                                                    std::string_view input, int timeout_ms);

// The probe command, and whether its result shows a POSIX login shell (anything the shell printed
// on starting may come first). FailedPrecondition naming `endpoint` and the fix when not.
std::string PosixShellProbeCommand();
Status CheckPosixShellProbe(const ExecResult& probe, const std::string& endpoint);

// Starts a standby shell on every server of `topology` that has none in `pool`, all at once, and
// keeps them there, after probing that the login shell is POSIX. Servers that cannot be reached
// are skipped; a refused probe is added to `refused` when given. Returns how many it started.
int KeepStandbyShells(const Topology& topology, SessionPool& pool, std::vector<Status>* refused = nullptr);

}  // namespace replplan
