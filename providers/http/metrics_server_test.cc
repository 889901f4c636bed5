// The HTTP endpoint on a port the system chooses, asked with cpp-httplib's client: /metrics serves
// what the registry renders, /health follows the watcher's state, anything else is 404.
#include "providers/http/metrics_server.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <string>

namespace replplan {
namespace {

TEST_CASE("/metrics, /health (200 watching, 503 not) and 404 for anything else") {
  std::atomic<bool> watching = false;
  auto server = MetricsServer::Start("127.0.0.1:0", MetricsEndpoint{[] { return std::string("replplan_watch_up 1\n"); },
                                                                     [&] { return watching.load(); }});
  REQUIRE_MESSAGE(server.ok(), server.status().message());
  httplib::Client client("127.0.0.1", (*server)->port());
  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->body == "replplan_watch_up 1\n");
  CHECK(metrics->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 503);
  watching = true;
  health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto other = client.Get("/");
  REQUIRE(other);
  CHECK(other->status == 404);
}

TEST_CASE("an address that is not HOST:PORT, or one that cannot be bound, says so and what to give") {
  auto endpoint = MetricsEndpoint{[] { return std::string(); }, [] { return true; }};
  auto bad = MetricsServer::Start("9104", endpoint);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "--http '9104': give HOST:PORT, e.g. 127.0.0.1:9104 or [::1]:9104");
  CHECK_FALSE(MetricsServer::Start("127.0.0.1:99999", endpoint).ok());
  CHECK_FALSE(MetricsServer::Start("::1:9104", endpoint).ok());
  auto first = MetricsServer::Start("127.0.0.1:0", endpoint);
  REQUIRE(first.ok());
  auto taken = MetricsServer::Start("127.0.0.1:" + std::to_string((*first)->port()), endpoint);
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.status().message().find("cannot listen on 127.0.0.1:") == 0);
  auto parsed = ParseListenAddress("[::1]:9104");
  REQUIRE(parsed.ok());
  CHECK(parsed->first == "::1");
  CHECK(parsed->second == 9104);
}

}  // namespace
}  // namespace replplan
