#include "providers/cluster_lock.h"

#include <poll.h>

#include <chrono>
#include <thread>

#include "engine/shell_quote.h"
#include "providers/connect_options.h"
#include "providers/session_pool.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {
namespace {

constexpr int kBusyExit = 75;  // EX_TEMPFAIL
constexpr int kAnswerTimeoutMs = 15000;
// A standby holder answers in milliseconds (flock -n does not wait). One that says nothing for this
// long is dead (its shell killed under a live session: sshd tells only once stdin is closed) or
// stalled; the lock is then taken by a fresh holder.
constexpr int kStandbyAnswerMs = 1000;

class SshFlock : public ClusterLock {
 public:
  SshFlock(std::unique_ptr<SshSession> session, std::unique_ptr<SshStream> holder, SessionPool* pool)
      : session_(std::move(session)), holder_(std::move(holder)), pool_(pool) {}
  ~SshFlock() override {
    // EOF on the holder's stdin ends `cat`, which takes the lock's file descriptor with it.
    // Should that fail, destroying the stream closes the channel, with the same effect.
    auto finished = holder_->Finish(2000);
    holder_.reset();
    // Only a session whose channel closed cleanly is fit to serve again.
    GiveBack(pool_, std::move(session_), finished.ok());
  }

 private:
  std::unique_ptr<SshSession> session_;  // outlives the stream
  std::unique_ptr<SshStream> holder_;
  SessionPool* pool_;
};

// Holds flock(1) on the lock file for as long as its stdin stays open. It first reads one line,
// the owner: a holder started ahead of need (a standby) waits there, lock-free, until told, and
// one whose channel closes first exits without locking anything. The owner is written beside the
// lock, so whoever finds it taken can be told who has it.
std::string HolderCommand(const std::string& lock_file) {
  const std::string lock = ShellQuote(lock_file);
  const std::string owner_file = ShellQuote(lock_file + ".owner");
  return "IFS= read -r owner || exit 0\n"
         "exec 9>>" + lock + " || exit 3\n"
         "if ! flock -n 9; then printf 'BUSY\\n'; cat -- " + owner_file + " 2>/dev/null; exit " +
         std::to_string(kBusyExit) + "; fi\n"
         "printf '%s\\n' \"$owner\" > " + owner_file + "\n"
         "printf 'LOCKED\\n'\n"
         "exec cat >/dev/null\n";
}

std::string StandbyTag(const std::string& lock_file) { return "cluster lock standby " + lock_file; }

// `owner` on one line, as the holder writes it and a refusal quotes it.
std::string OneLine(std::string owner) {
  for (char& c : owner) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return owner;
}

// Tells the holder who it holds for.
Status SendOwner(SshStream& holder, const std::string& owner_line) {
  const std::string owner = owner_line + "\n";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
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
Result<std::string> FirstAnswer(SshStream& holder, const std::string& cluster, const std::string& where,
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
    pollfd p{holder.socket(), holder.poll_events(), 0};
    poll(&p, 1, static_cast<int>(left.count()));
  }
  return answer;
}

// The holder's answer made a lock or the error that explains why not.
Result<std::unique_ptr<ClusterLock>> Conclude(std::unique_ptr<SshSession> session, std::unique_ptr<SshStream> holder,
                                              std::string answer, SessionPool* pool, const std::string& cluster,
                                              const std::string& where) {
  if (answer.rfind("LOCKED\n", 0) == 0) {
    return std::unique_ptr<ClusterLock>(new SshFlock(std::move(session), std::move(holder), pool));
  }
  // Not ours: read what the holder command printed, then its exit status.
  char buffer[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
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
    if (holder_text.empty()) holder_text = "another replplan apply";
    return Status::FailedPrecondition("cluster " + cluster + " is locked by " + holder_text + " (" + where +
                                      "); wait for it to finish");
  }
  std::string detail = exit.ok() ? "exit " + std::to_string(exit->exit_status) + ": " + exit->err : exit.status().message();
  return Status::Unavailable("cannot lock cluster " + cluster + " (" + where + "): " + detail);
}

}  // namespace

Result<std::unique_ptr<ClusterLock>> AcquireClusterLock(const Topology& topology, const std::string& owner,
                                                        SessionPool* pool) {
  const ServerSpec* primary = topology.FindServer(topology.cluster.primary);
  if (primary == nullptr) return Status::InvalidArgument("primary " + topology.cluster.primary + " is not declared");
  const std::string& cluster = topology.cluster.name;
  const std::string where = topology.cluster.lock_file + " on " + primary->name;
  const SshOptions options = SshOptionsFor(*primary);

  const std::string owner_line = OneLine(owner);
  // A standby holder (watch keeps one per server) needs one line to lock: no channel to open, no
  // shell to start.
  bool gave_up_standby = false;
  if (pool != nullptr) {
    SessionPool::Started standby = pool->TakeStarted(options, StandbyTag(topology.cluster.lock_file));
    if (standby.stream) {
      if (SendOwner(*standby.stream, owner_line).ok()) {
        auto answer = FirstAnswer(*standby.stream, cluster, where, kStandbyAnswerMs);
        if (answer.ok() && !answer->empty()) {
          standby.session->set_command_timeout_ms(options.command_timeout_ms);
          return Conclude(std::move(standby.session), std::move(standby.stream), *answer, pool, cluster, where);
        }
      }
      // Closed before a fresh holder starts: one that locked late after all lets go (its `cat`
      // sees EOF), one that never locked exits at its `read`.
      standby.stream.reset();
      standby.session.reset();
      gave_up_standby = true;
    }
  }

  // A fresh holder. Right after giving up on a standby, "locked by" ourselves means that standby
  // locked late and is still letting go: try again for a moment.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(gave_up_standby ? 3000 : 0);
  for (;;) {
    auto session = BorrowSsh(pool, options);
    if (!session.ok()) return session.status().WithContext("cannot lock cluster " + cluster + " (" + where + ")");
    auto holder = (*session)->Start(HolderCommand(topology.cluster.lock_file));
    if (!holder.ok()) return holder.status().WithContext("cannot lock cluster " + cluster);
    Status sent = SendOwner(**holder, owner_line);
    if (!sent.ok()) return sent.WithContext("cannot lock cluster " + cluster + " (" + where + ")");
    auto answer = FirstAnswer(**holder, cluster, where, kAnswerTimeoutMs);
    if (!answer.ok()) return answer.status();
    auto lock = Conclude(std::move(*session), std::move(*holder), *answer, pool, cluster, where);
    const bool ourselves = !lock.ok() && lock.status().code() == Status::Code::kFailedPrecondition &&
                           lock.status().message().find("is locked by " + owner_line + " (") != std::string::npos;
    if (!ourselves || std::chrono::steady_clock::now() >= until) return lock;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int KeepStandbyLocks(const Topology& topology, SessionPool& pool) {
  return pool.KeepStartedEverywhere(topology, StandbyTag(topology.cluster.lock_file),
                                    HolderCommand(topology.cluster.lock_file));
}

}  // namespace replplan
