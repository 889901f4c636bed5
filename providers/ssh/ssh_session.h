// One SSH session to a server over libssh2, reused for several commands.
//
// The host key is always checked against a known_hosts file before anything is sent: replplan
// runs commands as root and reads config files that name passwords, so an unknown or changed host
// key is an error, never a prompt. Only `verify_host_key = false` in the topology skips the check.
// Authentication is by private key file only (no agent, no password).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"

struct _LIBSSH2_SESSION;
struct _LIBSSH2_CHANNEL;
struct _LIBSSH2_SFTP;
struct _LIBSSH2_SFTP_HANDLE;

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

class SshStream;

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

  // Starts `command` and returns at once with a stream of its stdin/stdout, for data too large to
  // hold in memory (a dump). The session must outlive the stream; one stream at a time per session.
  Result<std::unique_ptr<SshStream>> Start(const std::string& command);

  // The file's content, or nullopt when it does not exist. FailedPrecondition: it exists but
  // cannot be read (permission, a directory...). Through SFTP when the server offers it; by a
  // command where it does not, and for what SFTP cannot read (a FIFO: SFTP reads seek).
  Result<std::optional<std::string>> ReadFile(const std::string& path);

  // Files are read through one SFTP channel, opened at the first read and kept with the session:
  // the one sftp-server process answers each read (open, read, close: ~0.5 ms on the lab) where a
  // command costs a channel, sshd's fork of a session, a shell and its programs (~5 ms). Opens it
  // now, so a pooled session's first read is quick (the failover's). false: this server has no
  // sftp subsystem, and reads use commands. Errors: the transport only.
  Result<bool> StartSftp();
  // Like ReadFile, through SFTP only; nullopt in the outer optional: no SFTP on this server.
  Result<std::optional<std::optional<std::string>>> ReadFileSftp(const std::string& path);
  bool sftp_active() const { return sftp_ != nullptr; }

  // What SFTP's lstat says of a path (for AtomicWrite, providers/ssh/atomic_write.h).
  struct RemoteFile {
    bool regular = false;    // a regular file: not a symlink, a directory...
    unsigned long mode = 0;  // permission bits (07777)
    unsigned long uid = 0;
    unsigned long gid = 0;
  };
  // nullopt: nothing at `path`. Needs StartSftp() to have said true. FailedPrecondition: the
  // server refused (its reason in the message); Unavailable: the transport.
  Result<std::optional<RemoteFile>> SftpLstat(const std::string& path);
  // Creates `path` (O_EXCL: never an existing name, never through a planted symlink) as 0600, so
  // nobody but the SSH user can open it while it is written, writes `content`, gives it `like`'s
  // owner (unless `chown` is false: it stays the SSH user's) and then `like`'s mode, and fsyncs it.
  // On failure the new file is removed (as far as the transport allows). FailedPrecondition:
  // refused by the server.
  Status SftpCreate(const std::string& path, std::string_view content, const RemoteFile& like, bool chown = true);

  // What the handshake settled on, e.g. "ecdh-sha2-nistp256" and "ecdsa-sha2-nistp256".
  std::string KeyExchange() const;
  std::string HostKeyAlgorithm() const;

  // "root@127.0.0.61:2222", for messages.
  std::string Endpoint() const;

  const SshOptions& options() const { return options_; }
  // Each later Run or Start is bounded by this (a lent session serves commands of several kinds).
  void set_command_timeout_ms(int ms) { options_.command_timeout_ms = ms; }
  // SSH keepalives (keepalive@openssh.com, reply wanted) every `interval_s` seconds of SendKeepalive
  // calls: a session idle for long (a held cluster lock) keeps traffic flowing, so the server's
  // TCP stack notices when this side is gone (its reply is never acknowledged) and closes the
  // session instead of keeping it for hours.
  void EnableKeepalive(int interval_s);
  // Sends a keepalive when one is due. Errors: the transport (the server or the path is gone).
  Status SendKeepalive();

  // The TCP socket, to poll() for the server having closed an idle session.
  int socket() const { return socket_; }

 private:
  friend class SshStream;
  // Feeds `input` and EOF to a started command, reads both streams to their end, then its exit
  // status; frees the channel whatever happens.
  Result<ExecResult> Converse(_LIBSSH2_CHANNEL* channel, std::string_view input, int timeout_ms,
                              const std::string& timed_out);
  SshSession(int socket, _LIBSSH2_SESSION* session, SshOptions options)
      : socket_(socket), session_(session), options_(std::move(options)) {}
  // SFTP's pieces, shared by ReadFileSftp and SftpCreate. A refusal by the server (its SFTP
  // status: no such file, permission...) is FailedPrecondition; anything else is the transport's.
  Status SftpFailure(const std::string& doing, const std::string& path) const;
  Result<_LIBSSH2_SFTP_HANDLE*> SftpOpen(const std::string& path, unsigned long flags, long mode, int timeout_ms,
                                         const std::string& timed_out);
  void SftpCloseQuietly(_LIBSSH2_SFTP_HANDLE* handle);
  void SftpUnlinkQuietly(const std::string& path);

  int socket_;
  _LIBSSH2_SESSION* session_;
  SshOptions options_;
  _LIBSSH2_SFTP* sftp_ = nullptr;
  bool sftp_refused_ = false;  // the server has no sftp subsystem: do not ask again
};

struct StreamExit {
  int exit_status = 0;  // 255 when a signal ended the command (the signal is named in `err`)
  std::string err;      // the last kStderrTail bytes of its stderr
};

// A running remote command whose stdin and stdout are moved in pieces, without blocking: every call
// does what it can now and returns, so one thread can drive several streams on several sessions
// (poll their socket() for poll_events()). Memory is bounded whatever the data size: stdout goes
// only into the caller's buffer, and stderr keeps its last kStderrTail bytes (the error is at the
// end). stderr is drained on every call, so a chatty command never stalls on a full SSH window.
class SshStream {
 public:
  static constexpr size_t kStderrTail = 64 * 1024;

  ~SshStream();  // an unfinished stream is closed: the remote command's pipes close under it
  SshStream(const SshStream&) = delete;
  SshStream& operator=(const SshStream&) = delete;

  // Up to `size` bytes of stdout; 0 when none is available now (or at EOF: see stdout_eof()).
  Result<size_t> ReadStdout(char* buffer, size_t size);
  // How many bytes of `data` the channel accepted; 0 when its window or the socket is full now.
  // After a 0, call again with the same bytes first (libssh2 may hold part of a packet).
  Result<size_t> WriteStdin(const char* data, size_t size);
  // Sends EOF on stdin: true once sent, false when it must be retried later.
  Result<bool> CloseStdin();
  // Drains stderr, and stdout too when the caller does not read it (a restore's chatter), so the
  // remote side never waits on us. Call it on a stream whose stdout nobody reads.
  Status DrainOutput();

  bool stdout_eof() const { return stdout_eof_; }
  // The remote command closed its output (it has exited or is about to).
  bool remote_closed() const;
  int socket() const { return socket_; }
  // The poll() events to wait for on socket(): always POLLIN (data, window adjustments), plus
  // POLLOUT when libssh2 is blocked sending.
  short poll_events() const;

  // Closes stdin if still open (EOF), reads the rest of the output (stdout discarded, stderr tail
  // kept) and waits for the exit status. A non-zero exit is a result; an error only when nothing
  // arrives for `idle_timeout_ms` (a command that keeps working quietly for longer needs a larger
  // one) or the transport fails. To abandon a command instead, destroy the stream.
  Result<StreamExit> Finish(int idle_timeout_ms);

  // Writes `input` and EOF, reads stdout and stderr to their end and the exit status, as
  // SshSession::Run does, bounded by `timeout_ms`. Uses the stream up (a standby shell's one
  // command, providers/standby_shell.h).
  Result<ExecResult> Converse(std::string_view input, int timeout_ms);

  // "root@127.0.0.61:2222", for messages.
  std::string Endpoint() const;

 private:
  friend class SshSession;
  SshStream(SshSession* session, _LIBSSH2_CHANNEL* channel);
  Status ReadStderr();
  Status Failure(const std::string& what) const;

  SshSession* session_;
  _LIBSSH2_CHANNEL* channel_;
  int socket_;
  bool stdout_eof_ = false;
  bool stdin_closed_ = false;
  std::string stderr_tail_;
};

// "~/x" -> "$HOME/x"; anything else unchanged.
std::string ExpandHome(const std::string& path);

}  // namespace replplan
