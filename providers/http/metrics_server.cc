#include "providers/http/metrics_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/text.h"

namespace replplan {
namespace {

class HttplibServer : public MetricsServer {
 public:
  explicit HttplibServer(MetricsEndpoint endpoint) : endpoint_(std::move(endpoint)) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(2); };
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second watcher would bind
    // the same port without an error and take half of the scrapes.
    server_.set_socket_options([](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content(endpoint_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server_.Get("/health", [this](const httplib::Request&, httplib::Response& response) {
      const bool ok = endpoint_.healthy();
      response.status = ok ? 200 : 503;
      response.set_content(ok ? "watching\n" : "not watching\n", "text/plain; charset=utf-8");
    });
  }
  ~HttplibServer() override {
    if (thread_.joinable()) {
      // Until it has stopped: stop() is lost on a server not running yet (Listen waited, but its
      // wait is bounded).
      while (!done_) {
        server_.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      thread_.join();
    }
  }
  Status Listen(const std::string& host, int port) {
    port_ = port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
    if (port_ < 0) {
      return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port) +
                                 " for --http (in use, or not an address of this machine): choose another");
    }
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      done_ = true;
    });
    // Serving before this returns, and so stoppable: a stop() before the thread runs would be lost
    // (httplib stops only a running server) and the destructor would wait for it forever.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!server_.is_running()) return Status::Unavailable("the HTTP server on " + host + " did not start");
    return Status::OK();
  }
  int port() const override { return port_; }

 private:
  MetricsEndpoint endpoint_;
  httplib::Server server_;
  int port_ = -1;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address) {
  auto bad = [&] {
    return Status::InvalidArgument("--http '" + address + "': give HOST:PORT, e.g. 127.0.0.1:9104 or [::1]:9104");
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return bad();  // an IPv6 address needs its brackets
  }
  if (!IsDigits(port) || port.size() > 5 || std::stoi(port) > 65535) return bad();
  return std::make_pair(host, std::stoi(port));
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address, MetricsEndpoint endpoint) {
  auto parsed = ParseListenAddress(address);
  if (!parsed.ok()) return parsed.status();
  auto server = std::make_unique<HttplibServer>(std::move(endpoint));
  Status listening = server->Listen(parsed->first, parsed->second);
  if (!listening.ok()) return listening;
  return std::unique_ptr<MetricsServer>(std::move(server));
}

}  // namespace replplan
