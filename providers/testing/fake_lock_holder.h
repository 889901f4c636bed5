// Lock holders with no sshd, for unit tests of the cluster lock routine (providers/cluster_lock.h):
// each holder's conversation is one end of a socketpair, so the routine's poll() works as over SSH,
// and the test keeps the other end, the "remote" holder. Test-only, header-only.
//
// FakeHolderLauncher::script says how the next holders answer: kLocked ("LOCKED"), kBusy ("BUSY"
// and `busy_owner`), kSilent (never a byte: a holder that hangs before it answers, as one stuck on
// a frozen host does). Everything asked is kept: the commands started, per server, and what was
// written to each holder's stdin (the owner line), read back from the remote end.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "providers/cluster_lock.h"

namespace replplan::testing {

class FakeHolderLauncher : public HolderLauncher {
 public:
  enum class Script { kLocked, kBusy, kSilent };
  Script script = Script::kLocked;
  std::string busy_owner = "replplan apply by someone@elsewhere (pid 1)";

  ~FakeHolderLauncher() override {
    for (int fd : remote_) close(fd);
  }

  std::unique_ptr<HolderConversation> TakeStandby(const ServerSpec&, const std::string&) override { return nullptr; }

  Result<std::unique_ptr<HolderConversation>> Start(const ServerSpec& primary, const std::string& command,
                                                    bool& reached) override {
    reached = true;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) {
      return Status::Internal(std::string("socketpair: ") + std::strerror(errno));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    started_.push_back(primary.name + ": " + command);
    remote_.push_back(fds[1]);
    if (script == Script::kLocked) Send(fds[1], "LOCKED\n");
    if (script == Script::kBusy) {
      Send(fds[1], "BUSY\n" + busy_owner + "\n");
      shutdown(fds[1], SHUT_WR);  // the busy holder exits
    }
    return std::unique_ptr<HolderConversation>(std::make_unique<Conversation>(fds[0], *this));
  }

  // "mercury: <the holder command>", in the order started.
  std::vector<std::string> started() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return started_;
  }
  // Everything the routine wrote to the holders' stdin so far, in order.
  std::string written() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : remote_) {
      char buffer[4096];
      for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT)) > 0;) written_.append(buffer, n);
    }
    return written_;
  }
  // Every remote holder hangs up (its host closed the connection): a silent holder's EOF.
  void HangUp() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : remote_) shutdown(fd, SHUT_RDWR);
  }
  int holds() const { return holds_; }
  int releases() const { return releases_; }

 private:
  class Conversation : public HolderConversation {
   public:
    Conversation(int fd, FakeHolderLauncher& owner) : fd_(fd), owner_(owner) {}
    ~Conversation() override { close(fd_); }
    Result<size_t> ReadStdout(char* buffer, size_t size) override {
      ssize_t n = recv(fd_, buffer, size, MSG_DONTWAIT);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) {
        eof_ = true;
        return size_t{0};
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      return Status::Unavailable(std::string("fake holder: ") + std::strerror(errno));
    }
    Result<size_t> WriteStdin(const char* data, size_t size) override {
      ssize_t n = send(fd_, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      return Status::Unavailable(std::string("fake holder: ") + std::strerror(errno));
    }
    bool stdout_eof() const override { return eof_; }
    int socket() const override { return fd_; }
    short poll_events() const override { return POLLIN; }
    Result<StreamExit> Finish(int) override {
      shutdown(fd_, SHUT_WR);
      return StreamExit{owner_.script == Script::kBusy ? 75 : 0, ""};
    }
    void Hold() override { ++owner_.holds_; }
    void Release() override {
      shutdown(fd_, SHUT_WR);
      ++owner_.releases_;
    }

   private:
    int fd_;
    FakeHolderLauncher& owner_;
    bool eof_ = false;
  };

  static void Send(int fd, const std::string& text) { (void)!send(fd, text.data(), text.size(), MSG_NOSIGNAL); }

  mutable std::mutex mutex_;
  std::vector<std::string> started_;
  std::vector<int> remote_;
  std::string written_;
  int holds_ = 0;
  int releases_ = 0;
};

}  // namespace replplan::testing
