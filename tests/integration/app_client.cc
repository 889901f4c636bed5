#include "app_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "lab_client.h"

namespace lab::app {
namespace {

// Closes the socket on every path out.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on the socket until the deadline: "" when ready, else why not.
std::string WaitReady(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return "";
    if (n == 0) return "timed out";
    if (errno != EINTR) return std::string("poll: ") + std::strerror(errno);
  }
}

// Non-blocking connect bounded by the deadline: "" when connected, else why not.
std::string Connect(int fd, const std::string& address, Clock::time_point deadline) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kPort);
  if (inet_pton(AF_INET, address.c_str(), &to.sin_addr) != 1) return "bad address " + address;
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) return "";
  if (errno != EINPROGRESS) return std::string("connect: ") + std::strerror(errno);
  std::string why = WaitReady(fd, POLLOUT, deadline);
  if (!why.empty()) return "connect: " + why;
  int error = 0;
  socklen_t size = sizeof error;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
  return error == 0 ? "" : std::string("connect: ") + std::strerror(error);
}

std::string SendAll(int fd, const std::string& data, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return std::string("send: ") + std::strerror(errno);
    std::string why = WaitReady(fd, POLLOUT, deadline);
    if (!why.empty()) return "send: " + why;
  }
  return "";
}

// Reads until the server closes (we sent Connection: close).
std::string ReceiveAll(int fd, std::string& out, Clock::time_point deadline) {
  char buffer[8192];
  for (;;) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      out.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return "";
    if (errno != EAGAIN && errno != EINTR) return std::string("recv: ") + std::strerror(errno);
    std::string why = WaitReady(fd, POLLIN, deadline);
    if (!why.empty()) return "recv: " + why;
  }
}

// Transfer-Encoding: chunked body -> plain body; false when malformed.
bool Dechunk(const std::string& in, std::string& out) {
  size_t pos = 0;
  for (;;) {
    size_t line_end = in.find("\r\n", pos);
    if (line_end == std::string::npos) return false;
    size_t size = 0;
    try {
      size = std::stoul(in.substr(pos, line_end - pos), nullptr, 16);
    } catch (const std::exception&) {
      return false;
    }
    pos = line_end + 2;
    if (size == 0) return true;
    if (pos + size > in.size()) return false;
    out.append(in, pos, size);
    pos += size + 2;
  }
}

HttpResponse Parse(const std::string& raw) {
  HttpResponse response;
  size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) {
    response.error = "not an HTTP response (" + std::to_string(raw.size()) + " bytes)";
    return response;
  }
  response.status = std::atoi(raw.c_str() + 9);
  std::string head = raw.substr(0, head_end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string body = raw.substr(head_end + 4);
  if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    if (!Dechunk(body, response.body)) response.error = "malformed chunked body";
  } else {
    response.body = std::move(body);
  }
  return response;
}

}  // namespace

HttpResponse Request(const std::string& host, const std::string& method, const std::string& target,
                     std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  const std::string address = lab::Address(host);
  HttpResponse failed;
  Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (socket.fd() < 0) {
    failed.error = std::string("socket: ") + std::strerror(errno);
    return failed;
  }
  failed.error = Connect(socket.fd(), address, deadline);
  if (!failed.error.empty()) return failed;
  const std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + address + ":" +
                              std::to_string(kPort) +
                              "\r\nContent-Length: 0\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
  failed.error = SendAll(socket.fd(), request, deadline);
  if (!failed.error.empty()) return failed;
  std::string raw;
  failed.error = ReceiveAll(socket.fd(), raw, deadline);
  if (!failed.error.empty()) return failed;
  return Parse(raw);
}

PostResult Post(const std::string& host, int64_t seq, std::chrono::milliseconds timeout) {
  HttpResponse response = Request(host, "POST", "/items?seq=" + std::to_string(seq), timeout);
  PostResult result;
  result.status = response.status;
  if (response.status != 201) {
    result.error = response.status == 0 ? response.error
                                        : "HTTP " + std::to_string(response.status) + ": " + response.body;
    return result;
  }
  try {
    auto json = nlohmann::json::parse(response.body);
    if (json.at("seq").get<int64_t>() != seq) {
      result.error = "answer names another seq: " + response.body;
      return result;
    }
    result.id = json.at("id").get<int64_t>();
    result.ok = true;
  } catch (const std::exception&) {
    result.error = "201 with an unreadable body: " + response.body;
  }
  return result;
}

int Up(const std::string& host, std::chrono::milliseconds timeout) {
  return Request(host, "GET", "/up", timeout).status;
}

Writer::Writer(std::string host, std::chrono::milliseconds interval, int64_t first_seq)
    : host_(std::move(host)), interval_(interval), first_seq_(first_seq), next_seq_(first_seq) {
  thread_ = std::thread([this] { Loop(); });
}

Writer::~Writer() { Stop(); }

void Writer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Writer::Loop() {
  Clock::time_point next = Clock::now();
  while (!stop_) {
    const int64_t seq = next_seq_.fetch_add(1);
    PostResult result = Post(host_, seq);
    const Clock::time_point now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (result.ok) {
        acks_.push_back({seq, result.id, now});
      } else {
        failures_.push_back({seq, result.status, result.error, now});
      }
    }
    // An app that refuses at once (puma restarting, no listener) must not turn this into a busy
    // loop that starves the app it waits for: failures back off a little.
    if (!result.ok && interval_.count() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (interval_.count() > 0) {
      next += interval_;
      while (!stop_ && Clock::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

std::vector<Ack> Writer::Acknowledged() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return acks_;
}

std::vector<Failure> Writer::Failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

std::optional<Ack> Writer::FirstSuccessAfter(Clock::time_point t) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Ack& ack : acks_) {
    if (ack.at > t) return ack;
  }
  return std::nullopt;
}

std::vector<int64_t> MissingOn(const std::string& server, const std::vector<Ack>& acknowledged) {
  std::set<int64_t> present;
  for (const auto& row : lab::Sql(server, "SELECT seq FROM secondhand_production.items")) {
    if (!row.empty()) present.insert(std::stoll(row[0]));
  }
  std::vector<int64_t> missing;
  for (const Ack& ack : acknowledged) {
    if (present.count(ack.seq) == 0) missing.push_back(ack.seq);
  }
  return missing;
}

CommandResult Script(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv = {"bash", std::string(REPLPLAN_SOURCE_DIR) + "/tests/lab/app.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, "", extra_env);
}

}  // namespace lab::app
