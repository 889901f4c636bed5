#include "providers/cluster_lock.h"

#include <poll.h>

#include <chrono>

#include "engine/shell_quote.h"
#include "providers/connect_options.h"
#include "providers/session_pool.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {
namespace {

constexpr int kBusyExit = 75;  // EX_TEMPFAIL
constexpr int kAnswerTimeoutMs = 15000;

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

// Holds flock(1) on the lock file for as long as its stdin stays open. The holder's description is
// written beside it, so whoever finds the lock taken can be told who has it.
std::string HolderCommand(const std::string& lock_file, const std::string& owner) {
  const std::string lock = ShellQuote(lock_file);
  const std::string owner_file = ShellQuote(lock_file + ".owner");
  return "exec 9>>" + lock + " || exit 3\n"
         "if ! flock -n 9; then printf 'BUSY\\n'; cat -- " + owner_file + " 2>/dev/null; exit " +
         std::to_string(kBusyExit) + "; fi\n"
         "printf '%s\\n' " + ShellQuote(owner) + " > " + owner_file + "\n"
         "printf 'LOCKED\\n'\n"
         "exec cat >/dev/null\n";
}

}  // namespace

Result<std::unique_ptr<ClusterLock>> AcquireClusterLock(const Topology& topology, const std::string& owner,
                                                        SessionPool* pool) {
  const ServerSpec* primary = topology.FindServer(topology.cluster.primary);
  if (primary == nullptr) return Status::InvalidArgument("primary " + topology.cluster.primary + " is not declared");
  const std::string where = topology.cluster.lock_file + " on " + primary->name;
  auto session = BorrowSsh(pool, SshOptionsFor(*primary));
  if (!session.ok()) return session.status().WithContext("cannot lock cluster " + topology.cluster.name + " (" + where + ")");
  auto holder = (*session)->Start(HolderCommand(topology.cluster.lock_file, owner));
  if (!holder.ok()) return holder.status().WithContext("cannot lock cluster " + topology.cluster.name);

  // Wait for the holder's first line: LOCKED, or BUSY followed by the current owner.
  std::string answer;
  char buffer[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
  while (answer.find('\n') == std::string::npos && !(*holder)->stdout_eof()) {
    auto n = (*holder)->ReadStdout(buffer, sizeof(buffer));
    if (!n.ok()) return n.status().WithContext("cannot lock cluster " + topology.cluster.name);
    if (*n > 0) {
      answer.append(buffer, *n);
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status::Unavailable("cannot lock cluster " + topology.cluster.name + ": no answer from " + where);
    }
    pollfd p{(*holder)->socket(), (*holder)->poll_events(), 0};
    poll(&p, 1, static_cast<int>(left.count()));
  }
  if (answer.rfind("LOCKED\n", 0) == 0) {
    return std::unique_ptr<ClusterLock>(new SshFlock(std::move(*session), std::move(*holder), pool));
  }

  // Not ours: read what the holder command printed, then its exit status.
  while (!(*holder)->stdout_eof()) {
    auto n = (*holder)->ReadStdout(buffer, sizeof(buffer));
    if (!n.ok() || std::chrono::steady_clock::now() > deadline) break;
    if (*n > 0) {
      answer.append(buffer, *n);
    } else {
      pollfd p{(*holder)->socket(), (*holder)->poll_events(), 0};
      poll(&p, 1, 100);
    }
  }
  auto exit = (*holder)->Finish(2000);
  if (answer.rfind("BUSY\n", 0) == 0) {
    std::string holder_text = answer.substr(5);
    while (!holder_text.empty() && holder_text.back() == '\n') holder_text.pop_back();
    if (holder_text.empty()) holder_text = "another replplan apply";
    return Status::FailedPrecondition("cluster " + topology.cluster.name + " is locked by " + holder_text + " (" +
                                      where + "); wait for it to finish");
  }
  std::string detail = exit.ok() ? "exit " + std::to_string(exit->exit_status) + ": " + exit->err : exit.status().message();
  return Status::Unavailable("cannot lock cluster " + topology.cluster.name + " (" + where + "): " + detail);
}

}  // namespace replplan
