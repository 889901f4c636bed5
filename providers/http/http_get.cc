#include "providers/http/http_get.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace replplan {
namespace {

using Clock = std::chrono::steady_clock;

std::string Describe(const HttpUrl& url) { return url.host + ":" + std::to_string(url.port); }

// Closes the socket on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int MsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error (errno set).
int WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, MsLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

// A non-blocking socket connected to one of the host's addresses, each tried until the deadline.
Result<int> Connect(const HttpUrl& url, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
  if (rc != 0) return Status::Unavailable("cannot resolve " + url.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    Fd guard{fd};
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = std::strerror(errno);
        continue;
      }
      int ready = WaitFor(fd, POLLOUT, deadline);
      if (ready == 0) return Status::Unavailable("connecting to " + Describe(url) + " timed out");
      int err = 0;
      socklen_t len = sizeof err;
      if (ready < 0) err = errno;
      else ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = std::strerror(err);
        continue;
      }
    }
    guard.fd = -1;
    return fd;
  }
  return Status::Unavailable("cannot connect to " + Describe(url) + ": " + last);
}

Status SendAll(int fd, const std::string& data, const HttpUrl& url, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (WaitFor(fd, POLLOUT, deadline) > 0) continue;
      return Status::Unavailable("sending to " + Describe(url) + " timed out");
    }
    return Status::Unavailable("sending to " + Describe(url) + ": " + std::strerror(errno));
  }
  return Status::OK();
}

// "HTTP/1.1 200 OK" -> 200; 0 when the line is no status line.
int StatusCode(const std::string& head) {
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12 || head[8] != ' ') return 0;
  int code = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return 0;
    code = code * 10 + (head[i] - '0');
  }
  return code;
}

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("health URL '" + std::string(url) + "': " + why);
  };
  if (url.substr(0, kScheme.size()) != kScheme) return bad("not an http:// URL");
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!out.target.empty() && out.target[0] != '/') out.target = "/" + out.target;
  size_t hash = out.target.find('#');
  if (hash != std::string::npos) out.target.resize(hash);  // fragments are never sent
  if (authority.find('@') != std::string_view::npos) return bad("credentials in the URL are not supported");
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated [IPv6] host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return bad("junk after [IPv6] host");
    if (!after.empty()) port = after.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (!port.empty() || authority.find(':') != std::string_view::npos) {
    if (port.empty() || port.size() > 5) return bad("bad port");
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return bad("bad port");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) return bad("bad port");
    out.port = p;
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return bad("spaces or control characters in the path");
  }
  return out;
}

Result<HttpResponse> HttpGet(const HttpUrl& url, const HttpGetOptions& options) {
  auto connect_deadline = Clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
  auto fd = Connect(url, connect_deadline);
  if (!fd.ok()) return fd.status();
  Fd guard{*fd};
  auto deadline = Clock::now() + std::chrono::milliseconds(options.read_timeout_ms);
  bool v6 = url.host.find(':') != std::string::npos;
  std::string host_header = (v6 ? "[" + url.host + "]" : url.host) + (url.port == 80 ? "" : ":" + std::to_string(url.port));
  std::string request = "GET " + url.target + " HTTP/1.1\r\nHost: " + host_header +
                        "\r\nUser-Agent: replplan\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  Status sent = SendAll(*fd, request, url, deadline);
  if (!sent.ok()) return sent;

  // Read until the headers and body_head_bytes of body are in, the server closes, or time is up.
  std::string data;
  char buffer[4096];
  for (;;) {
    size_t end = data.find("\r\n\r\n");
    if (end != std::string::npos && data.size() >= end + 4 + options.body_head_bytes) break;
    int ready = WaitFor(*fd, POLLIN, deadline);
    if (ready == 0) {
      if (end != std::string::npos) break;  // headers complete; a slow body does not matter
      return Status::Unavailable("no answer from " + Describe(url) + " within " +
                                 std::to_string(options.read_timeout_ms) + " ms");
    }
    ssize_t n = ::recv(*fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return Status::Unavailable("reading from " + Describe(url) + ": " + std::strerror(errno));
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > 64 * 1024 && data.find("\r\n\r\n") == std::string::npos) {
      return Status::Internal(Describe(url) + " sent 64 KiB of headers");
    }
  }
  if (data.empty()) return Status::Unavailable(Describe(url) + " closed the connection without an answer");
  HttpResponse response;
  response.status = StatusCode(data);
  if (response.status == 0) {
    return Status::Internal(Describe(url) + " answered something that is not HTTP: " +
                            data.substr(0, std::min<size_t>(data.size(), 40)));
  }
  size_t end = data.find("\r\n\r\n");
  if (end != std::string::npos) response.body_head = data.substr(end + 4, options.body_head_bytes);
  return response;
}

}  // namespace replplan
