#include "providers/ssh/ssh_session.h"

#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include "providers/ssh/known_hosts.h"
#include "providers/ssh/read_files.h"

namespace replplan {
namespace {

using Clock = std::chrono::steady_clock;

class Deadline {
 public:
  explicit Deadline(int ms) : at_(Clock::now() + std::chrono::milliseconds(ms)) {}
  int RemainingMs() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
  }

 private:
  Clock::time_point at_;
};

// libssh2_init is not thread-safe; run it once for the process.
void EnsureLibraryInit() {
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

std::string LastError(LIBSSH2_SESSION* session) {
  char* message = nullptr;
  int length = 0;
  libssh2_session_last_error(session, &message, &length, 0);
  return message == nullptr ? "unknown libssh2 error" : std::string(message, static_cast<size_t>(length));
}

// The session is non-blocking so every step honours a deadline: wait for the socket in whichever
// direction libssh2 is blocked on. false = the deadline passed.
bool WaitSocket(int socket, LIBSSH2_SESSION* session, const Deadline& deadline) {
  int directions = libssh2_session_block_directions(session);
  pollfd p{socket, 0, 0};
  if (directions & LIBSSH2_SESSION_BLOCK_INBOUND) p.events |= POLLIN;
  if (directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) p.events |= POLLOUT;
  if (p.events == 0) p.events = POLLIN;
  int remaining = deadline.RemainingMs();
  if (remaining == 0) return false;
  // sshd leaves Nagle on for non-interactive sessions, so its last small packets (EOF, exit status,
  // close) wait for our ACK; Linux delays that ACK up to 40 ms unless asked not to. QUICKACK is
  // not sticky, hence set before every wait.
  int one = 1;
  setsockopt(socket, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
  int rc;
  do {
    rc = poll(&p, 1, remaining);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// Calls `step` until it stops saying EAGAIN; LIBSSH2_ERROR_TIMEOUT when the deadline passes.
template <typename Step>
int Retry(int socket, LIBSSH2_SESSION* session, const Deadline& deadline, Step step) {
  for (;;) {
    int rc = step();
    if (rc != LIBSSH2_ERROR_EAGAIN) return rc;
    if (!WaitSocket(socket, session, deadline)) return LIBSSH2_ERROR_TIMEOUT;
  }
}

// Opens a session channel, waiting on the socket while libssh2 says EAGAIN, up to the deadline.
Result<LIBSSH2_CHANNEL*> OpenChannel(int socket, LIBSSH2_SESSION* session, const Deadline& deadline,
                                     const std::string& endpoint, const std::string& timed_out) {
  for (;;) {
    LIBSSH2_CHANNEL* channel = libssh2_channel_open_session(session);
    if (channel != nullptr) return channel;
    if (libssh2_session_last_errno(session) != LIBSSH2_ERROR_EAGAIN) {
      return Status::Unavailable("ssh " + endpoint + ": cannot open channel: " + LastError(session));
    }
    if (!WaitSocket(socket, session, deadline)) return Status::Unavailable(timed_out);
  }
}

Result<int> ConnectTcp(const SshOptions& options, const std::string& endpoint, const Deadline& deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(options.port);
  int gai = getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) return Status::Unavailable("ssh " + endpoint + ": cannot resolve host: " + gai_strerror(gai));
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return Status::Internal("ssh " + endpoint + ": socket: " + std::strerror(errno));
  }
  // SSH sends many small packets during the handshake; without TCP_NODELAY Nagle's algorithm and
  // the peer's delayed ACK can stall a round trip by ~40 ms (OpenSSH sets it too).
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc = connect(fd, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  if (rc != 0 && errno != EINPROGRESS) {
    std::string why = std::strerror(errno);
    close(fd);
    return Status::Unavailable("ssh " + endpoint + ": cannot connect: " + why);
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    do {
      rc = poll(&p, 1, deadline.RemainingMs());
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      close(fd);
      return Status::Unavailable("ssh " + endpoint + ": cannot connect: timed out after " +
                                 std::to_string(options.connect_timeout_ms) + " ms");
    }
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (rc < 0 || error != 0) {
      close(fd);
      return Status::Unavailable("ssh " + endpoint + ": cannot connect: " + std::strerror(rc < 0 ? errno : error));
    }
  }
  return fd;
}

// The host as OpenSSH writes it in known_hosts, and as the operator will look for it.
std::string KnownHostsLabel(const SshOptions& options) { return KnownHostsName(options.host, options.port); }

// known_hosts read and parsed by providers/ssh/known_hosts.h (OpenSSH's rules: @revoked,
// [host]:port, hashed names, patterns), not by libssh2's knownhost API, which has none of the
// first two.
Result<std::vector<KnownHostsEntry>> LoadKnownHosts(const SshOptions& options) {
  const std::string known_hosts = ExpandHome(options.known_hosts);
  const std::string label = KnownHostsLabel(options);
  std::ifstream in(known_hosts, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    return Status::FailedPrecondition("cannot read known_hosts file " + known_hosts + " to verify " + label +
                                      " (set ssh.known_hosts, or add the host with ssh-keyscan)");
  }
  auto entries = ParseKnownHosts(text.str(), known_hosts);
  if (!entries.ok()) return entries.status().WithContext("cannot verify " + label);
  return entries;
}

struct HostKeyChoice {
  const char* name;
  const char* key_type;  // the key type it signs with, as known_hosts names it
};

// Which host key algorithms to ask for, best first. A server with several host keys signs with
// whichever the client prefers, and a key of a type known_hosts lacks for the host can never be
// verified ("not in known_hosts" although it is). So, as OpenSSH does, the types known_hosts holds
// for this host come first; the others follow, so a server that has none of them still gets to the
// clear "not in known_hosts" error.
// Among equals ECDSA P-256 leads: OpenSSH signs it through OpenSSL's assembly but Ed25519 in its
// own portable C, about 1.4 ms less sshd CPU per connection on the lab (bench/plan_hosts.sh).
std::string HostKeyPreference(const std::vector<KnownHostsEntry>* hosts, const SshOptions& options) {
  static const HostKeyChoice kAlgorithms[] = {
      {"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"},
      {"ssh-ed25519", "ssh-ed25519"},
      {"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"},
      {"ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"},
      {"rsa-sha2-512", "ssh-rsa"},
      {"rsa-sha2-256", "ssh-rsa"},
      {"ssh-rsa", "ssh-rsa"},
  };
  std::vector<std::string> types;
  if (hosts != nullptr) types = KnownKeyTypes(*hosts, KnownHostsLabel(options));
  std::string known, others;
  for (const HostKeyChoice& algorithm : kAlgorithms) {
    const bool is_known = std::find(types.begin(), types.end(), algorithm.key_type) != types.end();
    std::string& list = is_known ? known : others;
    list += (list.empty() ? "" : ",") + std::string(algorithm.name);
  }
  return known.empty() ? others : others.empty() ? known : known + "," + others;
}

// Key exchange, best first: ECDH on P-256 leads for the same reason as its host keys (OpenSSH
// computes it in OpenSSL, Curve25519 in portable C): about 3 ms less sshd CPU per connection on the
// lab, paid by every server on every cold plan and apply. RFC 9142 rates both SHOULD.
// Unsupported names are dropped by libssh2.
constexpr const char kKeyExchangePreference[] =
    "ecdh-sha2-nistp256,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
    "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256";

Status CheckHostKey(LIBSSH2_SESSION* session, const std::vector<KnownHostsEntry>& hosts, const SshOptions& options) {
  const std::string known_hosts = ExpandHome(options.known_hosts);
  const std::string label = KnownHostsLabel(options);
  size_t key_length = 0;
  int key_type = 0;
  const char* key = libssh2_session_hostkey(session, &key_length, &key_type);
  if (key == nullptr) return Status::Internal("ssh " + label + ": server sent no host key");

  HostKeyVerdict verdict = CheckKnownHostKey(hosts, label, std::string_view(key, key_length));
  switch (verdict.kind) {
    case HostKeyVerdict::Kind::kMatch:
      return Status::OK();
    case HostKeyVerdict::Kind::kRevoked:
      return Status::FailedPrecondition("host key for " + label + " is revoked in " + known_hosts + ":" +
                                        std::to_string(verdict.line) +
                                        " (possible man-in-the-middle, or a server still using a retired key)");
    case HostKeyVerdict::Kind::kMismatch:
      return Status::FailedPrecondition("host key for " + label + " does not match the one in " + known_hosts + ":" +
                                        std::to_string(verdict.line) + " (possible man-in-the-middle)");
    case HostKeyVerdict::Kind::kNotFound:
      break;
  }
  return Status::FailedPrecondition("host key for " + label + " is not in " + known_hosts);
}

}  // namespace

std::string ExpandHome(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    if (home != nullptr) return std::string(home) + path.substr(1);
  }
  return path;
}

std::string SshSession::KeyExchange() const {
  const char* method = libssh2_session_methods(session_, LIBSSH2_METHOD_KEX);
  return method == nullptr ? "" : method;
}

std::string SshSession::HostKeyAlgorithm() const {
  const char* method = libssh2_session_methods(session_, LIBSSH2_METHOD_HOSTKEY);
  return method == nullptr ? "" : method;
}

void SshSession::EnableKeepalive(int interval_s) { libssh2_keepalive_config(session_, 1, interval_s); }

Status SshSession::SendKeepalive() {
  int next_s = 0;
  int rc = libssh2_keepalive_send(session_, &next_s);
  if (rc == 0 || rc == LIBSSH2_ERROR_EAGAIN) return Status::OK();  // EAGAIN: queued, sent on the next call
  return Status::Unavailable("ssh " + Endpoint() + ": keepalive failed: " + LastError(session_));
}

std::string SshSession::Endpoint() const {
  return options_.user + "@" + options_.host + ":" + std::to_string(options_.port);
}

Result<std::unique_ptr<SshSession>> SshSession::Connect(const SshOptions& options) {
  EnsureLibraryInit();
  const std::string endpoint = options.user + "@" + options.host + ":" + std::to_string(options.port);
  Deadline deadline(options.connect_timeout_ms);
  auto fd = ConnectTcp(options, endpoint, deadline);
  if (!fd.ok()) return fd.status();
  const int socket = *fd;

  LIBSSH2_SESSION* raw_session = libssh2_session_init();
  if (raw_session == nullptr) {
    close(socket);
    return Status::Internal("ssh " + endpoint + ": cannot create session");
  }
  // From here the SshSession owns socket and session, so every early return cleans up.
  std::unique_ptr<SshSession> session(new SshSession(socket, raw_session, options));
  libssh2_session_set_blocking(raw_session, 0);
  std::optional<std::vector<KnownHostsEntry>> known_hosts;
  if (options.verify_host_key) {
    auto loaded = LoadKnownHosts(options);
    if (!loaded.ok()) return loaded.status();
    known_hosts = std::move(*loaded);
  } else {
    // Said every time: an unverified host key is a standing invitation to a man in the middle.
    std::fprintf(stderr, "replplan: warning: not verifying the host key of %s (verify_host_key = false): anyone "
                 "who can intercept this connection can run commands as %s there\n",
                 KnownHostsLabel(options).c_str(), options.user.c_str());
  }
  libssh2_session_method_pref(raw_session, LIBSSH2_METHOD_KEX, kKeyExchangePreference);
  libssh2_session_method_pref(raw_session, LIBSSH2_METHOD_HOSTKEY,
                              HostKeyPreference(known_hosts ? &*known_hosts : nullptr, options).c_str());

  int rc = Retry(socket, raw_session, deadline, [&] { return libssh2_session_handshake(raw_session, socket); });
  if (rc == LIBSSH2_ERROR_TIMEOUT) {
    return Status::Unavailable("ssh " + endpoint + ": handshake timed out after " +
                               std::to_string(options.connect_timeout_ms) + " ms");
  }
  if (rc != 0) return Status::Unavailable("ssh " + endpoint + ": handshake failed: " + LastError(raw_session));

  if (options.verify_host_key) {
    Status host_key = CheckHostKey(raw_session, *known_hosts, options);
    if (!host_key.ok()) return host_key;
  }

  const std::string identity = ExpandHome(options.identity);
  const std::string public_key = identity + ".pub";
  struct stat info {};
  const bool has_public_key = ::stat(public_key.c_str(), &info) == 0;
  rc = Retry(socket, raw_session, deadline, [&] {
    return libssh2_userauth_publickey_fromfile_ex(raw_session, options.user.c_str(),
                                                  static_cast<unsigned int>(options.user.size()),
                                                  has_public_key ? public_key.c_str() : nullptr,
                                                  identity.c_str(), nullptr);
  });
  if (rc == LIBSSH2_ERROR_TIMEOUT) return Status::Unavailable("ssh " + endpoint + ": authentication timed out");
  if (rc != 0) {
    return Status::AuthFailed("ssh " + endpoint + ": public key authentication with " + identity +
                              " failed: " + LastError(raw_session));
  }
  return session;
}

SshSession::~SshSession() {
  // Blocking with a short timeout: a polite goodbye, but never a hang on a dead peer.
  libssh2_session_set_timeout(session_, 2000);
  libssh2_session_set_blocking(session_, 1);
  if (sftp_ != nullptr) libssh2_sftp_shutdown(sftp_);
  libssh2_session_disconnect(session_, "replplan done");
  libssh2_session_free(session_);
  close(socket_);
}

Result<ExecResult> SshSession::Run(const std::string& command, std::string_view input) {
  Deadline deadline(options_.command_timeout_ms);
  const std::string timed_out =
      "ssh " + Endpoint() + ": command timed out after " + std::to_string(options_.command_timeout_ms) + " ms";
  auto opened = OpenChannel(socket_, session_, deadline, Endpoint(), timed_out);
  if (!opened.ok()) return opened.status();
  LIBSSH2_CHANNEL* channel = *opened;
  // Frees the channel on every path out.
  auto free_channel = [&] {
    Retry(socket_, session_, Deadline(1000), [&] { return libssh2_channel_free(channel); });
  };

  int rc = Retry(socket_, session_, deadline, [&] { return libssh2_channel_exec(channel, command.c_str()); });
  if (rc != 0) {
    free_channel();
    if (rc == LIBSSH2_ERROR_TIMEOUT) return Status::Unavailable(timed_out);
    return Status::Unavailable("ssh " + Endpoint() + ": cannot run command: " + LastError(session_));
  }

  return Converse(channel, input, deadline.RemainingMs(), timed_out);
}

Result<ExecResult> SshSession::Converse(LIBSSH2_CHANNEL* channel, std::string_view input, int timeout_ms,
                                        const std::string& timed_out) {
  Deadline deadline(timeout_ms);
  // Frees the channel on every path out.
  auto free_channel = [&] {
    Retry(socket_, session_, Deadline(1000), [&] { return libssh2_channel_free(channel); });
  };
  // Feed stdin and read both streams in one loop: doing one after the other could deadlock
  // against a command that fills a window while we wait on another.
  ExecResult result;
  std::array<char, 32768> buffer{};
  size_t written = 0;
  bool eof_sent = false;
  for (;;) {
    if (!eof_sent) {
      if (written < input.size()) {
        ssize_t n = libssh2_channel_write(channel, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
          std::string why = LastError(session_);
          free_channel();
          return Status::Unavailable("ssh " + Endpoint() + ": writing command input failed: " + why);
        }
      }
      if (written == input.size()) {
        int rc_eof = libssh2_channel_send_eof(channel);
        if (rc_eof == 0) eof_sent = true;
        else if (rc_eof != LIBSSH2_ERROR_EAGAIN) {
          std::string why = LastError(session_);
          free_channel();
          return Status::Unavailable("ssh " + Endpoint() + ": closing command input failed: " + why);
        }
      }
    }
    ssize_t out = libssh2_channel_read(channel, buffer.data(), buffer.size());
    if (out > 0) result.out.append(buffer.data(), static_cast<size_t>(out));
    ssize_t err = libssh2_channel_read_stderr(channel, buffer.data(), buffer.size());
    if (err > 0) result.err.append(buffer.data(), static_cast<size_t>(err));
    if (out > 0 || err > 0) continue;
    if (out == 0 && err == 0 && libssh2_channel_eof(channel)) break;
    if (!eof_sent && written < input.size()) {
      // More input to send: wait for the socket only if libssh2 says it is blocked.
      if (libssh2_session_block_directions(session_) == 0) continue;
    }
    if ((out < 0 && out != LIBSSH2_ERROR_EAGAIN) || (err < 0 && err != LIBSSH2_ERROR_EAGAIN)) {
      std::string why = LastError(session_);
      free_channel();
      return Status::Unavailable("ssh " + Endpoint() + ": reading command output failed: " + why);
    }
    // Reading one stream can pull the other stream's packets (and the EOF) off the socket into
    // libssh2's buffers; waiting on the socket then would wait for bytes that already arrived,
    // until the deadline. Only wait when nothing is buffered.
    if (libssh2_poll_channel_read(channel, 0) || libssh2_poll_channel_read(channel, 1) ||
        libssh2_channel_eof(channel)) {
      continue;
    }
    if (!WaitSocket(socket_, session_, deadline)) {
      free_channel();
      return Status::Unavailable(timed_out);
    }
  }

  Retry(socket_, session_, deadline, [&] { return libssh2_channel_close(channel); });
  Retry(socket_, session_, deadline, [&] { return libssh2_channel_wait_closed(channel); });
  result.exit_status = libssh2_channel_get_exit_status(channel);
  char* signal = nullptr;
  size_t signal_length = 0;
  libssh2_channel_get_exit_signal(channel, &signal, &signal_length, nullptr, nullptr, nullptr, nullptr);
  if (signal != nullptr) {
    // Killed by a signal: there is no exit status, so do not let it look like success.
    result.exit_status = 255;
    result.err += "killed by signal " + std::string(signal, signal_length);
    libssh2_free(session_, signal);
  }
  free_channel();
  return result;
}

Result<std::unique_ptr<SshStream>> SshSession::Start(const std::string& command) {
  Deadline deadline(options_.command_timeout_ms);
  const std::string timed_out =
      "ssh " + Endpoint() + ": starting a command timed out after " + std::to_string(options_.command_timeout_ms) +
      " ms";
  auto opened = OpenChannel(socket_, session_, deadline, Endpoint(), timed_out);
  if (!opened.ok()) return opened.status();
  LIBSSH2_CHANNEL* channel = *opened;
  // The stream owns the channel from here: its destructor frees it on every early return.
  std::unique_ptr<SshStream> stream(new SshStream(this, channel));
  int rc = Retry(socket_, session_, deadline, [&] { return libssh2_channel_exec(channel, command.c_str()); });
  if (rc == LIBSSH2_ERROR_TIMEOUT) return Status::Unavailable(timed_out);
  if (rc != 0) return Status::Unavailable("ssh " + Endpoint() + ": cannot run command: " + LastError(session_));
  return stream;
}

SshStream::SshStream(SshSession* session, LIBSSH2_CHANNEL* channel)
    : session_(session), channel_(channel), socket_(session->socket_) {}

SshStream::~SshStream() {
  if (channel_ == nullptr) return;
  // Freeing an open channel sends CLOSE: sshd closes the command's pipes, so a command still
  // writing dies of SIGPIPE and one still reading sees EOF. Bounded: never hang on a dead peer.
  Retry(socket_, session_->session_, Deadline(1000), [&] { return libssh2_channel_free(channel_); });
}

std::string SshStream::Endpoint() const { return session_->Endpoint(); }

Status SshStream::Failure(const std::string& what) const {
  return Status::Unavailable("ssh " + Endpoint() + ": " + what + ": " + LastError(session_->session_));
}

Status SshStream::ReadStderr() {
  std::array<char, 16384> scratch{};
  for (;;) {
    ssize_t n = libssh2_channel_read_stderr(channel_, scratch.data(), scratch.size());
    if (n == LIBSSH2_ERROR_EAGAIN || n == 0) break;
    if (n < 0) return Failure("reading command stderr failed");
    stderr_tail_.append(scratch.data(), static_cast<size_t>(n));
    // Trim in large steps, not per read: the error that matters is at the end.
    if (stderr_tail_.size() > 2 * kStderrTail) stderr_tail_.erase(0, stderr_tail_.size() - kStderrTail);
  }
  return Status::OK();
}

Result<size_t> SshStream::ReadStdout(char* buffer, size_t size) {
  Status err = ReadStderr();
  if (!err.ok()) return err;
  if (stdout_eof_ || size == 0) return size_t{0};
  ssize_t n = libssh2_channel_read(channel_, buffer, size);
  if (n > 0) return static_cast<size_t>(n);
  if (n == LIBSSH2_ERROR_EAGAIN) return size_t{0};
  if (n < 0) return Failure("reading command output failed");
  if (libssh2_channel_eof(channel_)) stdout_eof_ = true;
  return size_t{0};
}

Result<size_t> SshStream::WriteStdin(const char* data, size_t size) {
  if (size == 0) return size_t{0};
  ssize_t n = libssh2_channel_write(channel_, data, size);
  if (n >= 0) return static_cast<size_t>(n);
  if (n == LIBSSH2_ERROR_EAGAIN) return size_t{0};
  return Failure("writing command input failed");
}

Result<bool> SshStream::CloseStdin() {
  if (stdin_closed_) return true;
  int rc = libssh2_channel_send_eof(channel_);
  if (rc == LIBSSH2_ERROR_EAGAIN) return false;
  if (rc != 0) return Failure("closing command input failed");
  stdin_closed_ = true;
  return true;
}

Status SshStream::DrainOutput() {
  Status err = ReadStderr();
  if (!err.ok()) return err;
  std::array<char, 16384> scratch{};
  while (!stdout_eof_) {
    auto n = ReadStdout(scratch.data(), scratch.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  return Status::OK();
}

Result<ExecResult> SshStream::Converse(std::string_view input, int timeout_ms) {
  if (channel_ == nullptr) return Status::Internal("ssh " + Endpoint() + ": the stream is used up");
  LIBSSH2_CHANNEL* channel = channel_;
  channel_ = nullptr;  // Converse frees it
  return session_->Converse(channel, input, timeout_ms,
                            "ssh " + Endpoint() + ": command timed out after " + std::to_string(timeout_ms) + " ms");
}

bool SshStream::remote_closed() const { return libssh2_channel_eof(channel_) != 0; }

short SshStream::poll_events() const {
  short events = POLLIN;
  if (libssh2_session_block_directions(session_->session_) & LIBSSH2_SESSION_BLOCK_OUTBOUND) events |= POLLOUT;
  return events;
}

Result<StreamExit> SshStream::Finish(int idle_timeout_ms) {
  LIBSSH2_SESSION* session = session_->session_;
  const std::string idle = "no output and no exit for " + std::to_string(idle_timeout_ms / 1000) + " s";
  Deadline deadline(idle_timeout_ms);
  for (;;) {
    // A command that has already exited has no stdin to close (and the send could fail).
    auto closed = remote_closed() ? Result<bool>(true) : CloseStdin();
    if (!closed.ok()) return closed.status();
    size_t before = stderr_tail_.size();
    Status drained = DrainOutput();
    if (!drained.ok()) return drained;
    if (*closed && remote_closed()) break;
    // Output is progress: a command that keeps talking is not idle.
    if (stderr_tail_.size() != before) deadline = Deadline(idle_timeout_ms);
    if (!WaitSocket(socket_, session, deadline)) return Status::Unavailable("ssh " + Endpoint() + ": " + idle);
  }
  int rc = Retry(socket_, session, deadline, [&] { return libssh2_channel_close(channel_); });
  if (rc == 0) rc = Retry(socket_, session, deadline, [&] { return libssh2_channel_wait_closed(channel_); });
  if (rc == LIBSSH2_ERROR_TIMEOUT) return Status::Unavailable("ssh " + Endpoint() + ": " + idle);
  if (rc != 0) return Failure("closing the channel failed");
  StreamExit result;
  result.exit_status = libssh2_channel_get_exit_status(channel_);
  char* signal = nullptr;
  size_t signal_length = 0;
  libssh2_channel_get_exit_signal(channel_, &signal, &signal_length, nullptr, nullptr, nullptr, nullptr);
  if (signal != nullptr) {
    // Killed by a signal: there is no exit status, so do not let it look like success.
    result.exit_status = 255;
    stderr_tail_ += "killed by signal " + std::string(signal, signal_length);
    libssh2_free(session, signal);
  }
  if (stderr_tail_.size() > kStderrTail) stderr_tail_.erase(0, stderr_tail_.size() - kStderrTail);
  result.err = std::move(stderr_tail_);
  Retry(socket_, session, Deadline(1000), [&] { return libssh2_channel_free(channel_); });
  channel_ = nullptr;
  return result;
}

Result<bool> SshSession::StartSftp() {
  if (sftp_ != nullptr) return true;
  if (sftp_refused_) return false;
  Deadline deadline(options_.command_timeout_ms);
  for (;;) {
    sftp_ = libssh2_sftp_init(session_);
    if (sftp_ != nullptr) return true;
    int error = libssh2_session_last_errno(session_);
    if (error == LIBSSH2_ERROR_EAGAIN) {
      if (!WaitSocket(socket_, session_, deadline)) {
        return Status::Unavailable("ssh " + Endpoint() + ": starting SFTP timed out after " +
                                   std::to_string(options_.command_timeout_ms) + " ms");
      }
      continue;
    }
    // The server refused the channel or the subsystem (no `Subsystem sftp`, MaxSessions...):
    // commands still work, so reads use them. A broken transport is an error like any other.
    if (error == LIBSSH2_ERROR_CHANNEL_FAILURE || error == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED ||
        error == LIBSSH2_ERROR_SFTP_PROTOCOL || error == LIBSSH2_ERROR_CHANNEL_CLOSED ||
        error == LIBSSH2_ERROR_CHANNEL_EOF_SENT) {
      sftp_refused_ = true;
      return false;
    }
    return Status::Unavailable("ssh " + Endpoint() + ": starting SFTP failed: " + LastError(session_));
  }
}

namespace {

// SFTP's status codes (draft-ietf-secsh-filexfer-02, what OpenSSH speaks), for messages.
std::string SftpStatusText(unsigned long code) {
  switch (code) {
    case LIBSSH2_FX_NO_SUCH_FILE: return "no such file";
    case LIBSSH2_FX_PERMISSION_DENIED: return "Permission denied";
    case LIBSSH2_FX_FAILURE: return "failure (a directory?)";
    default: return "SFTP status " + std::to_string(code);
  }
}

}  // namespace

Result<std::optional<std::optional<std::string>>> SshSession::ReadFileSftp(const std::string& path) {
  using Answer = std::optional<std::optional<std::string>>;
  auto started = StartSftp();
  if (!started.ok()) return started.status();
  if (!*started) return Answer();
  Deadline deadline(options_.command_timeout_ms);
  const std::string timed_out = "ssh " + Endpoint() + ": reading " + path + " timed out after " +
                                std::to_string(options_.command_timeout_ms) + " ms";
  auto opened = SftpOpen(path, LIBSSH2_FXF_READ, 0, deadline.RemainingMs(), timed_out);
  if (!opened.ok()) {
    // A failed SFTP request is the file's answer: missing, or for ReadFiles to try by command.
    const bool missing = opened.status().code() == Status::Code::kFailedPrecondition &&
                         libssh2_sftp_last_error(sftp_) == LIBSSH2_FX_NO_SUCH_FILE;
    if (missing) return Answer(std::optional<std::string>());
    return opened.status();
  }
  LIBSSH2_SFTP_HANDLE* handle = *opened;
  // Closed on every path out; a close that fails changes nothing about what was read.
  auto close = [&] { SftpCloseQuietly(handle); };
  std::string content;
  std::array<char, 32768> buffer{};
  for (;;) {
    ssize_t n = libssh2_sftp_read(handle, buffer.data(), buffer.size());
    if (n > 0) {
      content.append(buffer.data(), static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (n != LIBSSH2_ERROR_EAGAIN) {
      Status error = SftpFailure("reading", path);
      close();
      return error;
    }
    if (!WaitSocket(socket_, session_, deadline)) {
      close();
      return Status::Unavailable(timed_out);
    }
  }
  close();
  return Answer(std::optional<std::string>(std::move(content)));
}

Result<std::optional<SshSession::RemoteFile>> SshSession::SftpLstat(const std::string& path) {
  if (sftp_ == nullptr) return Status::Internal("ssh " + Endpoint() + ": SFTP is not started");
  Deadline deadline(options_.command_timeout_ms);
  LIBSSH2_SFTP_ATTRIBUTES attributes{};
  int rc = Retry(socket_, session_, deadline, [&] {
    return libssh2_sftp_stat_ex(sftp_, path.data(), static_cast<unsigned int>(path.size()), LIBSSH2_SFTP_LSTAT,
                                &attributes);
  });
  if (rc == LIBSSH2_ERROR_TIMEOUT) return Status::Unavailable("ssh " + Endpoint() + ": lstat " + path + " timed out");
  if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && libssh2_sftp_last_error(sftp_) == LIBSSH2_FX_NO_SUCH_FILE) {
    return std::optional<RemoteFile>();
  }
  if (rc != 0) return SftpFailure("lstat", path);
  RemoteFile file;
  if (attributes.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) {
    file.regular = LIBSSH2_SFTP_S_ISREG(attributes.permissions);
    file.mode = attributes.permissions & 07777;
  }
  if (attributes.flags & LIBSSH2_SFTP_ATTR_UIDGID) {
    file.uid = attributes.uid;
    file.gid = attributes.gid;
  } else {
    file.regular = false;  // an owner we cannot keep: not a file this path may replace
  }
  return std::optional<RemoteFile>(file);
}

Status SshSession::SftpCreate(const std::string& path, std::string_view content, const RemoteFile& like, bool chown) {
  if (sftp_ == nullptr) return Status::Internal("ssh " + Endpoint() + ": SFTP is not started");
  Deadline deadline(options_.command_timeout_ms);
  const std::string timed_out = "ssh " + Endpoint() + ": writing " + path + " timed out after " +
                                std::to_string(options_.command_timeout_ms) + " ms";
  // 0600 whatever the final mode: a reader who opened it while it is written would keep reading
  // the inode after the mode changes (a password in database.yml). The owner, then the mode, come
  // once the content is in.
  auto opened = SftpOpen(path, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600,
                         deadline.RemainingMs(), timed_out);
  if (!opened.ok()) return opened.status();
  LIBSSH2_SFTP_HANDLE* handle = *opened;
  auto failure = [&](const std::string& doing) { return SftpFailure(doing, path); };
  // From here a failure removes the half-made file, then reports.
  auto abandon = [&](Status why) -> Status {
    SftpCloseQuietly(handle);
    SftpUnlinkQuietly(path);
    return why;
  };
  for (size_t written = 0; written < content.size();) {
    ssize_t n = libssh2_sftp_write(handle, content.data() + written, content.size() - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
    } else if (n == LIBSSH2_ERROR_EAGAIN) {
      if (!WaitSocket(socket_, session_, deadline)) return abandon(Status::Unavailable(timed_out));
    } else {
      return abandon(failure("writing"));
    }
  }
  // The owner first: a chown may clear set-id bits, which the mode then puts back.
  int rc = 0;
  if (chown) {
    LIBSSH2_SFTP_ATTRIBUTES owner{};
    owner.flags = LIBSSH2_SFTP_ATTR_UIDGID;
    owner.uid = like.uid;
    owner.gid = like.gid;
    rc = Retry(socket_, session_, deadline, [&] { return libssh2_sftp_fsetstat(handle, &owner); });
    if (rc != 0) return abandon(rc == LIBSSH2_ERROR_TIMEOUT ? Status::Unavailable(timed_out) : failure("chown"));
  }
  LIBSSH2_SFTP_ATTRIBUTES mode{};
  mode.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
  mode.permissions = like.mode;  // exact: no umask applies to a setstat
  rc = Retry(socket_, session_, deadline, [&] { return libssh2_sftp_fsetstat(handle, &mode); });
  if (rc != 0) return abandon(rc == LIBSSH2_ERROR_TIMEOUT ? Status::Unavailable(timed_out) : failure("chmod"));
  // fsync@openssh.com: the data is on disk before any rename can make it the file.
  rc = Retry(socket_, session_, deadline, [&] { return libssh2_sftp_fsync(handle); });
  if (rc != 0) return abandon(rc == LIBSSH2_ERROR_TIMEOUT ? Status::Unavailable(timed_out) : failure("fsync"));
  rc = Retry(socket_, session_, deadline, [&] { return libssh2_sftp_close_handle(handle); });
  if (rc != 0) {
    SftpUnlinkQuietly(path);
    return rc == LIBSSH2_ERROR_TIMEOUT ? Status::Unavailable(timed_out) : failure("closing");
  }
  return Status::OK();
}

Status SshSession::SftpFailure(const std::string& doing, const std::string& path) const {
  if (libssh2_session_last_errno(session_) == LIBSSH2_ERROR_SFTP_PROTOCOL) {
    return Status::FailedPrecondition("ssh " + Endpoint() + ": " + doing + " " + path + ": " +
                                      SftpStatusText(libssh2_sftp_last_error(sftp_)));
  }
  return Status::Unavailable("ssh " + Endpoint() + ": " + doing + " " + path + " over SFTP failed: " +
                             LastError(session_));
}

Result<LIBSSH2_SFTP_HANDLE*> SshSession::SftpOpen(const std::string& path, unsigned long flags, long mode,
                                                  int timeout_ms, const std::string& timed_out) {
  Deadline deadline(timeout_ms);
  for (;;) {
    LIBSSH2_SFTP_HANDLE* handle = libssh2_sftp_open_ex(sftp_, path.data(), static_cast<unsigned int>(path.size()),
                                                       flags, mode, LIBSSH2_SFTP_OPENFILE);
    if (handle != nullptr) return handle;
    if (libssh2_session_last_errno(session_) != LIBSSH2_ERROR_EAGAIN) return SftpFailure("opening", path);
    if (!WaitSocket(socket_, session_, deadline)) return Status::Unavailable(timed_out);
  }
}

void SshSession::SftpCloseQuietly(LIBSSH2_SFTP_HANDLE* handle) {
  Retry(socket_, session_, Deadline(1000), [&] { return libssh2_sftp_close_handle(handle); });
}

void SshSession::SftpUnlinkQuietly(const std::string& path) {
  Retry(socket_, session_, Deadline(1000), [&] {
    return libssh2_sftp_unlink_ex(sftp_, path.data(), static_cast<unsigned int>(path.size()));
  });
}

Result<std::optional<std::string>> SshSession::ReadFile(const std::string& path) {
  // ReadFiles decides SFTP or command, and falls back for what SFTP cannot read.
  auto files = ReadFiles(*this, {path});
  if (!files.ok()) return files.status();
  FileRead& file = files->front();
  if (!file.read_ok) return Status::FailedPrecondition(file.error);
  if (!file.exists) return std::optional<std::string>();
  return std::optional<std::string>(std::move(file.text));
}

}  // namespace replplan
