// Which lab servers are down, watched from outside replplan (issue 15's "never two servers down"):
// a TCP connect to every server's port 3306 every 20 ms, as a client would find them. Used by the
// rolling restart and takeover tests. Header-only and free of doctest, like lab_client.h.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/lab_client.h"

namespace lab {

// Whether something accepts a TCP connection at address:3306 within 200 ms.
inline bool Answers(const std::string& address) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(3306);
  inet_pton(AF_INET, address.c_str(), &to.sin_addr);
  bool up = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
    up = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 200) == 1) {
      int error = 0;
      socklen_t len = sizeof error;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      up = error == 0;
    }
  }
  close(fd);
  return up;
}

// Every 20 ms, which of `hosts` answer: the most that were down in one round, and the order in
// which each went down first. Read the results after Stop().
class DownWatcher {
 public:
  explicit DownWatcher(std::vector<std::string> hosts) : hosts_(std::move(hosts)), thread_([this] { Run(); }) {}
  ~DownWatcher() { Stop(); }
  DownWatcher(const DownWatcher&) = delete;
  DownWatcher& operator=(const DownWatcher&) = delete;
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int max_down() const { return max_down_; }
  std::vector<std::string> order() const { return order_; }
  std::string rounds_with_two() const { return two_; }

 private:
  void Run() {
    std::set<std::string> seen;
    while (!stop_) {
      std::vector<std::string> down;
      for (const std::string& host : hosts_) {
        if (!Answers(Address(host))) down.push_back(host);
      }
      if (static_cast<int>(down.size()) > max_down_) max_down_ = static_cast<int>(down.size());
      if (down.size() > 1 && two_.size() < 400) {
        for (const std::string& d : down) two_ += d + " ";
        two_ += "| ";
      }
      for (const std::string& d : down) {
        if (seen.insert(d).second) order_.push_back(d);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  const std::vector<std::string> hosts_;
  std::atomic<bool> stop_{false};
  int max_down_ = 0;
  std::vector<std::string> order_;
  std::string two_;
  std::thread thread_;  // last: started once every other member is there
};

}  // namespace lab
