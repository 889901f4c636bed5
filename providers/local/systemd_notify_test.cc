// The service protocol over a datagram socket the test binds as $NOTIFY_SOCKET, as systemd would:
// what NotifyServiceManager sends arrives there, and the watchdog timeout is read from the
// environment systemd sets.
#include "providers/local/systemd_notify.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace replplan {
namespace {

struct NotifySocket {
  std::string path = "/tmp/replplan_notify_test." + std::to_string(getpid()) + ".sock";
  int fd = -1;
  NotifySocket() {
    ::unlink(path.c_str());
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::copy(path.begin(), path.end(), address.sun_path);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd);
    ::unlink(path.c_str());
  }
  std::string Next() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return "";
    char buffer[512];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }
};

TEST_CASE("READY=1 and WATCHDOG=1 arrive on $NOTIFY_SOCKET as sent") {
  NotifySocket socket;
  CHECK(NotifyServiceManager("READY=1\nSTATUS=watching"));
  CHECK(socket.Next() == "READY=1\nSTATUS=watching");
  CHECK(NotifyServiceManager("WATCHDOG=1"));
  CHECK(socket.Next() == "WATCHDOG=1");
}

TEST_CASE("without $NOTIFY_SOCKET nothing is sent and nothing fails") {
  ::unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(NotifyServiceManager("READY=1"));
}

TEST_CASE("the watchdog timeout is systemd's WATCHDOG_USEC for this process, none otherwise") {
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  auto timeout = ServiceWatchdogTimeout();
  REQUIRE(timeout.has_value());
  CHECK(timeout->count() == 30000000);
  ::setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);  // another process's
  CHECK_FALSE(ServiceWatchdogTimeout().has_value());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  CHECK_FALSE(ServiceWatchdogTimeout().has_value());
}

}  // namespace
}  // namespace replplan
