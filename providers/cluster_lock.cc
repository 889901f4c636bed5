#include "providers/cluster_lock.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/shell_quote.h"
#include "providers/connect_options.h"
#include "providers/session_pool.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {
namespace {

constexpr int kBusyExit = 75;  // EX_TEMPFAIL
// LockBounds (cluster_lock.h): a standby holder answers in milliseconds (flock -n does not wait);
// one that says nothing for standby_answer_ms is dead (its shell killed under a live session: sshd
// tells only once stdin is closed) or stalled, and the lock is then taken by a fresh holder.

// A held lock's session is otherwise silent for the whole apply: SSH keepalives every this many
// seconds keep traffic on it, so the primary's sshd notices within its TCP retransmission timeout
// (minutes, not the hours of TCP keepalive) that this side is gone, and its holder lets go.
constexpr int kKeepaliveS = 15;

// A holder over SSH: its stream on a session of its own (the session outlives the stream).
class SshHolder : public HolderConversation {
 public:
  SshHolder(std::unique_ptr<SshSession> session, std::unique_ptr<SshStream> stream, SessionPool* pool)
      : session_(std::move(session)), stream_(std::move(stream)), pool_(pool) {}
  ~SshHolder() override {
    StopKeepalive();
    stream_.reset();  // closes the channel: a holder not released lets go (or never locks)
  }

  Result<size_t> ReadStdout(char* buffer, size_t size) override { return stream_->ReadStdout(buffer, size); }
  Result<size_t> WriteStdin(const char* data, size_t size) override { return stream_->WriteStdin(data, size); }
  bool stdout_eof() const override { return stream_->stdout_eof(); }
  int socket() const override { return stream_->socket(); }
  short poll_events() const override { return stream_->poll_events(); }
  Result<StreamExit> Finish(int idle_timeout_ms) override { return stream_->Finish(idle_timeout_ms); }

  void Hold() override {
    session_->EnableKeepalive(kKeepaliveS);
    // The session and its stream are this lock's alone until Release, which stops the thread
    // before it touches them: one user at a time, as libssh2 needs.
    keepalive_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!released_) {
        if (!session_->SendKeepalive().ok()) return;  // the connection is gone, and with it the lock
        wake_.wait_for(lock, std::chrono::seconds(1), [this] { return released_; });
      }
    });
  }

  void Release() override {
    StopKeepalive();
    // EOF on the holder's stdin ends `cat`, which takes the lock's file descriptor with it.
    // Should that fail, destroying the stream closes the channel, with the same effect.
    auto finished = stream_->Finish(2000);
    stream_.reset();
    // Only a session whose channel closed cleanly is fit to serve again.
    GiveBack(pool_, std::move(session_), finished.ok());
  }

 private:
  void StopKeepalive() {
    if (!keepalive_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released_ = true;
    }
    wake_.notify_all();
    keepalive_.join();
  }

  std::unique_ptr<SshSession> session_;  // outlives the stream
  std::unique_ptr<SshStream> stream_;
  SessionPool* pool_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool released_ = false;
  std::thread keepalive_;
};

// A held lock: the conversation with a holder that answered LOCKED, released when this goes.
class HeldLock : public ClusterLock {
 public:
  explicit HeldLock(std::unique_ptr<HolderConversation> holder) : holder_(std::move(holder)) { holder_->Hold(); }
  ~HeldLock() override { holder_->Release(); }

 private:
  std::unique_ptr<HolderConversation> holder_;
};

// Holds flock(1) on the lock file for as long as its stdin stays open. It first reads one line,
// the owner: a holder started ahead of need (a standby) waits there, lock-free, until told, and
// one whose channel closes first exits without locking anything. The owner is written beside the
// lock, so whoever finds it taken can be told who has it.
//
// Nobody else may place or replace a name in the lock's directory: a local user who could (as in
// the world-writable /run/lock) would plant a symlink there that root then opens and writes
// through, or hold the lock file open to block every apply and failover. So the directory is
// created 0700 when missing, and refused unless it is a real directory owned by the SSH user and
// writable by no one else. Then, as a shell cannot open with O_NOFOLLOW: a lock file that is a
// symlink or not a regular file is refused before it is opened (nothing is created or written
// through it), and after the open the name must still be no symlink and the descriptor the very
// file it names (test's -ef: same device and inode). The check and the open are apart (TOCTOU),
// but only the directory's owner can change the name between them, and the directory check is
// what made that owner the SSH user; the comparison after the open catches a swap all the same.
std::string HolderCommand(const std::string& lock_file) {
  const size_t slash = lock_file.rfind('/');
  const std::string dir = ShellQuote(slash == 0 || slash == std::string::npos ? "/" : lock_file.substr(0, slash));
  const std::string lock = ShellQuote(lock_file);
  const std::string owner_file = ShellQuote(lock_file + ".owner");
  const std::string fix = "or set cluster.lock_file in a directory only the SSH user can write";
  return "IFS= read -r owner || exit 0\n"
         "d=" + dir + "; f=" + lock + "; o=" + owner_file + "\n"
         "refuse() { printf '%s\\n' \"$1\" >&2; exit 4; }\n"
         "[ -e \"$d\" ] || [ -L \"$d\" ] || mkdir -m 700 -- \"$d\" 2>/dev/null || [ -d \"$d\" ] ||"
         " refuse \"cannot create the lock directory $d\"\n"
         "if [ -L \"$d\" ] || [ ! -d \"$d\" ]; then refuse \"the lock directory $d is a symlink or not a directory: "
         "remove it, " + fix + "\"; fi\n"
         // One stat for both: the directory's owner and mode, and this shell's uid (its /proc entry's).
         "set -- $(stat -c '%u %a' -- \"$d\" /proc/$$)\n"
         "[ $# -eq 4 ] || refuse \"cannot stat the lock directory $d\"\n"
         "if [ \"$1\" != \"$3\" ] || [ $((0$2 & 022)) -ne 0 ]; then refuse \"the lock directory $d "
         "(owner uid $1, mode $2) must belong to uid $3 and be writable by no one else: "
         "chown $3 $d; chmod 700 $d, " + fix + "\"; fi\n"
         "if [ -L \"$f\" ] || { [ -e \"$f\" ] && [ ! -f \"$f\" ]; }; then refuse \"the lock file $f is a symlink or "
         "not a regular file: nothing was written through it; remove it\"; fi\n"
         "if [ -L \"$o\" ]; then refuse \"the lock owner file $o is a symlink: nothing was written through it; remove "
         "it\"; fi\n"
         "exec 9>>\"$f\" || exit 3\n"
         // Builtins only from here: this is a failover's path to its lock.
         "if [ -L \"$f\" ] || ! [ \"$f\" -ef /dev/fd/9 ]; then"
         " refuse \"the lock file $f was replaced while it was opened: nothing was written through it\"; fi\n"
         "if ! flock -n 9; then printf 'BUSY\\n'; cat -- \"$o\" 2>/dev/null; exit " + std::to_string(kBusyExit) + "; fi\n"
         "printf '%s\\n' \"$owner\" > \"$o\"\n"
         "printf 'LOCKED\\n'\n"
         "exec cat >/dev/null\n";
}

std::string StandbyTag(const std::string& lock_file) { return "cluster lock standby " + lock_file; }

class SshHolderLauncher : public HolderLauncher {
 public:
  explicit SshHolderLauncher(SessionPool* pool) : pool_(pool) {}

  std::unique_ptr<HolderConversation> TakeStandby(const ServerSpec& primary, const std::string& lock_file) override {
    if (pool_ == nullptr) return nullptr;
    const SshOptions options = SshOptionsFor(primary);
    SessionPool::Started standby = pool_->TakeStarted(options, StandbyTag(lock_file));
    if (!standby.stream) return nullptr;
    standby.session->set_command_timeout_ms(options.command_timeout_ms);
    return std::make_unique<SshHolder>(std::move(standby.session), std::move(standby.stream), pool_);
  }

  Result<std::unique_ptr<HolderConversation>> Start(const ServerSpec& primary, const std::string& command,
                                                    bool& reached) override {
    reached = false;
    auto session = BorrowSsh(pool_, SshOptionsFor(primary));
    if (!session.ok()) return session.status();
    reached = true;
    auto stream = (*session)->Start(command);
    if (!stream.ok()) return stream.status();
    return std::unique_ptr<HolderConversation>(
        std::make_unique<SshHolder>(std::move(*session), std::move(*stream), pool_));
  }

 private:
  SessionPool* pool_;
};

// `owner` on one line, as the holder writes it and a refusal quotes it.
std::string OneLine(std::string owner) {
  for (char& c : owner) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return owner;
}

// Tells the holder who it holds for.
Status SendOwner(HolderConversation& holder, const std::string& owner_line, int timeout_ms) {
  const std::string owner = owner_line + "\n";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (size_t sent = 0; sent < owner.size();) {
    auto n = holder.WriteStdin(owner.data() + sent, owner.size() - sent);
    if (!n.ok()) return n.status();
    sent += *n;
    if (*n > 0) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Unavailable("the lock holder took no input");
    pollfd p{holder.socket(), holder.poll_events(), 0};
    poll(&p, 1, static_cast<int>(left.count()));
  }
  return Status::OK();
}

// What a holder answered: its first line (LOCKED, or BUSY and the owner after it), "" when its
// output ended without a line (it never ran as far as the lock).
Result<std::string> FirstAnswer(HolderConversation& holder, const std::string& cluster, const std::string& where,
                                int timeout_ms) {
  std::string answer;
  char buffer[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (answer.find('\n') == std::string::npos && !holder.stdout_eof()) {
    auto n = holder.ReadStdout(buffer, sizeof(buffer));
    if (!n.ok()) return n.status().WithContext("cannot lock cluster " + cluster);
    if (*n > 0) {
      answer.append(buffer, *n);
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Unavailable("cannot lock cluster " + cluster + ": no answer from " + where);
    // At most 100 ms: libssh2 may already hold the end of the output (a holder that refused and
    // exited) with nothing more to come on the socket.
    pollfd p{holder.socket(), holder.poll_events(), 0};
    poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
  }
  return answer;
}

// A lock, or the error that explains why not; `held_by_owner` when the holder answered that the
// lock is taken by this very owner (the error is the same "is locked by" refusal).
struct Attempt {
  Attempt(Result<std::unique_ptr<ClusterLock>> l, bool by_owner = false)  // NOLINT: implicit by design
      : lock(std::move(l)), held_by_owner(by_owner) {}
  Attempt(Status status) : lock(std::move(status)), held_by_owner(false) {}  // NOLINT: implicit by design
  Result<std::unique_ptr<ClusterLock>> lock;
  bool held_by_owner;
};

// The holder's answer made a lock or the error that explains why not.
Attempt Conclude(std::unique_ptr<HolderConversation> holder, std::string answer, const std::string& cluster,
                 const std::string& where, const std::string& owner_line, int timeout_ms) {
  if (answer.rfind("LOCKED\n", 0) == 0) {
    return Attempt(std::unique_ptr<ClusterLock>(std::make_unique<HeldLock>(std::move(holder))));
  }
  // Not ours: read what the holder command printed, then its exit status.
  char buffer[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!holder->stdout_eof()) {
    auto n = holder->ReadStdout(buffer, sizeof(buffer));
    if (!n.ok() || std::chrono::steady_clock::now() > deadline) break;
    if (*n > 0) {
      answer.append(buffer, *n);
    } else {
      pollfd p{holder->socket(), holder->poll_events(), 0};
      poll(&p, 1, 100);
    }
  }
  auto exit = holder->Finish(2000);
  if (answer.rfind("BUSY\n", 0) == 0) {
    std::string holder_text = answer.substr(5);
    while (!holder_text.empty() && holder_text.back() == '\n') holder_text.pop_back();
    const bool by_owner = !owner_line.empty() && holder_text == owner_line;
    if (holder_text.empty()) holder_text = "another replplan apply";
    return Attempt(Status::FailedPrecondition("cluster " + cluster + " is locked by " + holder_text + " (" + where +
                                              "); wait for it to finish"),
                   by_owner);
  }
  std::string detail = exit.ok() ? "exit " + std::to_string(exit->exit_status) + ": " + exit->err : exit.status().message();
  return Status::Unavailable("cannot lock cluster " + cluster + " (" + where + "): " + detail);
}

Attempt AcquireOne(const Topology& topology, const std::string& owner, HolderLauncher& launcher,
                   const LockBounds& bounds) {
  const ServerSpec* primary = topology.FindServer(topology.cluster.primary);
  if (primary == nullptr) return Status::InvalidArgument("primary " + topology.cluster.primary + " is not declared");
  const std::string& cluster = topology.cluster.name;
  const std::string where = topology.cluster.lock_file + " on " + primary->name;

  const std::string owner_line = OneLine(owner);
  // A standby holder (watch keeps one per server) needs one line to lock: no channel to open, no
  // shell to start.
  bool gave_up_standby = false;
  if (std::unique_ptr<HolderConversation> standby = launcher.TakeStandby(*primary, topology.cluster.lock_file)) {
    if (SendOwner(*standby, owner_line, bounds.answer_timeout_ms).ok()) {
      auto answer = FirstAnswer(*standby, cluster, where, bounds.standby_answer_ms);
      if (answer.ok() && !answer->empty()) {
        return Conclude(std::move(standby), *answer, cluster, where, owner_line, bounds.answer_timeout_ms);
      }
    }
    // Closed before a fresh holder starts: one that locked late after all lets go (its `cat`
    // sees EOF), one that never locked exits at its `read`.
    standby.reset();
    gave_up_standby = true;
  }

  // A fresh holder. Right after giving up on a standby, "locked by" ourselves means that standby
  // locked late and is still letting go: try again for a moment.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(gave_up_standby ? 3000 : 0);
  for (;;) {
    bool reached = false;
    auto holder = launcher.Start(*primary, HolderCommand(topology.cluster.lock_file), reached);
    if (!holder.ok()) {
      return holder.status().WithContext("cannot lock cluster " + cluster + (reached ? "" : " (" + where + ")"));
    }
    Status sent = SendOwner(**holder, owner_line, bounds.answer_timeout_ms);
    if (!sent.ok()) return sent.WithContext("cannot lock cluster " + cluster + " (" + where + ")");
    auto answer = FirstAnswer(**holder, cluster, where, bounds.answer_timeout_ms);
    if (!answer.ok()) return answer.status();
    Attempt attempt = Conclude(std::move(*holder), *answer, cluster, where, owner_line, bounds.answer_timeout_ms);
    if (!attempt.held_by_owner || std::chrono::steady_clock::now() >= until) return attempt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

std::unique_ptr<HolderLauncher> MakeSshHolderLauncher(SessionPool* pool) {
  return std::make_unique<SshHolderLauncher>(pool);
}

Result<std::unique_ptr<ClusterLock>> AcquireClusterLock(const Topology& topology, const std::string& owner,
                                                        SessionPool* pool) {
  SshHolderLauncher launcher(pool);
  return AcquireOne(topology, owner, launcher, LockBounds{}).lock;
}

Status AcquireClusterLocks(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                           const std::string& owner, SessionPool* pool) {
  SshHolderLauncher launcher(pool);
  return AcquireClusterLocks(held, topologies, owner, launcher);
}

Status AcquireClusterLocks(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                           const std::string& owner, HolderLauncher& launcher, const LockBounds& bounds) {
  for (const Topology* topology : topologies) {
    const bool already = std::any_of(held.begin(), held.end(), [&](const HeldClusterLock& h) {
      return h.primary == topology->cluster.primary && h.lock_file == topology->cluster.lock_file;
    });
    if (already) continue;
    Attempt attempt = AcquireOne(*topology, owner, launcher, bounds);
    // Both primaries may share the lock file (one machine, as in the lab): then we hold it already.
    if (!attempt.lock.ok() && attempt.held_by_owner && !held.empty()) continue;
    if (!attempt.lock.ok()) return attempt.lock.status();
    held.push_back({topology->cluster.primary, topology->cluster.lock_file, std::move(*attempt.lock)});
  }
  return Status::OK();
}

int KeepStandbyLocks(const Topology& topology, SessionPool& pool) {
  return pool.KeepStartedEverywhere(topology, StandbyTag(topology.cluster.lock_file),
                                    HolderCommand(topology.cluster.lock_file));
}

}  // namespace replplan
