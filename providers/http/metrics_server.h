// The watcher's HTTP endpoint (`replplan watch --http 127.0.0.1:9104`): GET /metrics (Prometheus
// text exposition format) and GET /health (200 while watching, 503 otherwise), served by
// cpp-httplib on a thread pool of its own. Read-only: nothing it serves changes anything, and it
// serves nothing else (404). Bind it to a local or otherwise trusted address: it has no
// authentication (the metrics hold names, addresses and timings, never a secret).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/status.h"

namespace replplan {

struct MetricsEndpoint {
  std::function<std::string()> metrics;  // the exposition text
  std::function<bool()> healthy;         // /health: 200 when true
};

class MetricsServer {
 public:
  // Listening on `address` ("HOST:PORT", "[::1]:PORT") before it returns, or why not:
  // InvalidArgument for an address that is not one, Unavailable when it cannot be bound.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address, MetricsEndpoint endpoint);
  virtual ~MetricsServer() = default;
  virtual int port() const = 0;  // the port bound (PORT 0: the one the system chose)
};

// "HOST:PORT" split; InvalidArgument naming the flag's form when it is not that.
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address);

}  // namespace replplan
