// One SSH session to a server over libssh2, reused for several commands.
//
// The host key is always checked against a known_hosts file before anything is sent: replplan
// runs commands as root and reads config files that name passwords, so an unknown or changed host
// key is an error, never a prompt. Only `verify_host_key = false` in the topology skips the check.
// Authentication is by private key file only (no agent, no password).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"

struct _LIBSSH2_SESSION;

namespace replplan {

struct SshOptions {
  std::string host;
  int port = 22;
  std::string user = "root";
  std::string identity;     // private key path; "~/" is expanded on this machine
  std::string known_hosts;  // "~/" expanded too
  bool verify_host_key = true;
  int connect_timeout_ms = 5000;   // TCP connect + handshake + auth
  int command_timeout_ms = 30000;  // each Run, start to exit
};

struct ExecResult {
  int exit_status = 0;
  std::string out;
  std::string err;
};

class SshSession {
 public:
  // Unavailable: cannot reach the host. FailedPrecondition: host key unknown or changed.
  // AuthFailed: the key was refused.
  static Result<std::unique_ptr<SshSession>> Connect(const SshOptions& options);

  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Runs `command` through the remote user's shell, reading stdout and stderr fully. A non-zero
  // exit status is a result, not an error; errors are transport failures and timeouts.
  // `input` is written to the command's stdin, which is then closed (EOF).
  Result<ExecResult> Run(const std::string& command, std::string_view input = {});

  // The file's content, or nullopt when it does not exist.
  Result<std::optional<std::string>> ReadFile(const std::string& path);

  // "root@127.0.0.61:2222", for messages.
  std::string Endpoint() const;

 private:
  SshSession(int socket, _LIBSSH2_SESSION* session, SshOptions options)
      : socket_(socket), session_(session), options_(std::move(options)) {}

  int socket_;
  _LIBSSH2_SESSION* session_;
  SshOptions options_;
};

// "~/x" -> "$HOME/x"; anything else unchanged.
std::string ExpandHome(const std::string& path);

}  // namespace replplan
