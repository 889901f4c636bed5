#include "providers/cluster_lock.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/shell_quote.h"
#include "providers/session_pool.h"

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

// A holder: the command on a session of its own (the session outlives the command).
struct Holder {
  std::unique_ptr<ServerSession> session;
  std::unique_ptr<RemoteCommand> command;  // declared after the session: destroyed before it
};

// A held lock: a holder that answered LOCKED, released when this goes. Its session is otherwise
// silent for the whole apply: keepalives (RemoteCommand::KeepAlive) keep traffic on it.
class HeldLock : public ClusterLock {
 public:
  explicit HeldLock(Holder holder) : holder_(std::move(holder)) {
    // The session and its command are this lock's alone until release, which stops the thread
    // before it touches them: one user at a time, as libssh2 needs.
    keepalive_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!released_) {
        if (!holder_.command->KeepAlive(kKeepaliveS).ok()) return;  // the connection is gone, and the lock
        wake_.wait_for(lock, std::chrono::seconds(1), [this] { return released_; });
      }
    });
  }

  ~HeldLock() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released_ = true;
    }
    wake_.notify_all();
    keepalive_.join();
    // EOF on the holder's stdin ends `cat`, which takes the lock's file descriptor with it. Should
    // that fail, dropping the command closes the channel, with the same effect; only a session
    // whose command finished cleanly is given back to a pool.
    (void)holder_.command->Finish(2000);
    holder_.command.reset();
    holder_.session.reset();
  }

 private:
  Holder holder_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool released_ = false;
  std::thread keepalive_;
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

// The holders' sessions: their errors as the transport words them (the routine names the cluster
// and the lock file), their command timeout the server's own, a pool's when the factory has one.
SessionLimits HolderLimits() {
  SessionLimits limits;
  limits.command_timeout_ms = 0;
  limits.name_errors = false;
  return limits;
}

// `owner` on one line, as the holder writes it and a refusal quotes it.
std::string OneLine(std::string owner) {
  for (char& c : owner) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return owner;
}

// Tells the holder who it holds for.
Status SendOwner(RemoteCommand& holder, const std::string& owner_line, int timeout_ms) {
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
Result<std::string> FirstAnswer(RemoteCommand& holder, const std::string& cluster, const std::string& where,
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
Attempt Conclude(Holder held, std::string answer, const std::string& cluster, const std::string& where,
                 const std::string& owner_line, int timeout_ms) {
  if (answer.rfind("LOCKED\n", 0) == 0) {
    return Attempt(std::unique_ptr<ClusterLock>(std::make_unique<HeldLock>(std::move(held))));
  }
  RemoteCommand* holder = held.command.get();
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

Attempt AcquireOne(const Topology& topology, const std::string& owner, SessionFactory& sessions,
                   const LockBounds& bounds) {
  const ServerSpec* primary = topology.FindServer(topology.cluster.primary);
  if (primary == nullptr) return Status::InvalidArgument("primary " + topology.cluster.primary + " is not declared");
  const std::string& cluster = topology.cluster.name;
  const std::string where = topology.cluster.lock_file + " on " + primary->name;

  const std::string owner_line = OneLine(owner);
  // A standby holder (watch keeps one per server) needs one line to lock: no channel to open, no
  // shell to start.
  bool gave_up_standby = false;
  Holder standby{sessions.Open(*primary, HolderLimits()), nullptr};
  standby.command = standby.session->TakeStartedCommand(StandbyTag(topology.cluster.lock_file));
  if (standby.command) {
    if (SendOwner(*standby.command, owner_line, bounds.answer_timeout_ms).ok()) {
      auto answer = FirstAnswer(*standby.command, cluster, where, bounds.standby_answer_ms);
      if (answer.ok() && !answer->empty()) {
        return Conclude(std::move(standby), *answer, cluster, where, owner_line, bounds.answer_timeout_ms);
      }
    }
    // Closed before a fresh holder starts: one that locked late after all lets go (its `cat`
    // sees EOF), one that never locked exits at its `read`.
    standby.command.reset();
    gave_up_standby = true;
  }
  standby.session.reset();

  // A fresh holder. Right after giving up on a standby, "locked by" ourselves means that standby
  // locked late and is still letting go: try again for a moment.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(gave_up_standby ? 3000 : 0);
  for (;;) {
    Holder holder{sessions.Open(*primary, HolderLimits()), nullptr};
    // The connection first, so a server not reached is told from a command that could not start.
    Status reached = holder.session->ConnectSsh();
    if (!reached.ok()) return reached.WithContext("cannot lock cluster " + cluster + " (" + where + ")");
    auto started = holder.session->StartCommand(HolderCommand(topology.cluster.lock_file));
    if (!started.ok()) return started.status().WithContext("cannot lock cluster " + cluster);
    holder.command = std::move(*started);
    Status sent = SendOwner(*holder.command, owner_line, bounds.answer_timeout_ms);
    if (!sent.ok()) return sent.WithContext("cannot lock cluster " + cluster + " (" + where + ")");
    auto answer = FirstAnswer(*holder.command, cluster, where, bounds.answer_timeout_ms);
    if (!answer.ok()) return answer.status();
    Attempt attempt = Conclude(std::move(holder), *answer, cluster, where, owner_line, bounds.answer_timeout_ms);
    if (!attempt.held_by_owner || std::chrono::steady_clock::now() >= until) return attempt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Result<std::unique_ptr<ClusterLock>> AcquireClusterLock(const Topology& topology, const std::string& owner,
                                                        SessionPool* pool) {
  LiveSessionFactory sessions(pool);
  return AcquireOne(topology, owner, sessions, LockBounds{}).lock;
}

Status AcquireClusterLocks(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                           const std::string& owner, SessionPool* pool) {
  LiveSessionFactory sessions(pool);
  return AcquireClusterLocks(held, topologies, owner, sessions);
}

Status AcquireClusterLocks(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                           const std::string& owner, SessionFactory& sessions, const LockBounds& bounds) {
  for (const Topology* topology : topologies) {
    const bool already = std::any_of(held.begin(), held.end(), [&](const HeldClusterLock& h) {
      return h.primary == topology->cluster.primary && h.lock_file == topology->cluster.lock_file;
    });
    if (already) continue;
    Attempt attempt = AcquireOne(*topology, owner, sessions, bounds);
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
