#include "ops/watch_events.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

namespace replplan::ops {
namespace {

using std::chrono::system_clock;

system_clock::time_point At(long long ms) { return system_clock::time_point(std::chrono::milliseconds(ms)); }

TEST_CASE("an event renders as one JSON line: time, event, message, then its typed fields") {
  WatchEvent event("failover", "failover report: mercury -> uranus\n  result: done\n");
  event.With("from", "mercury").With("to", std::string("uranus")).With("ok", true).With("duration_ms", 1234LL);
  event.With("lag", 0.5);
  const std::string line = RenderEventJson(event, At(1796613169123));
  CHECK(line.find('\n') == std::string::npos);  // the report's newlines are escaped
  CHECK(line ==
        R"({"time":"2026-12-07T03:12:49.123Z","event":"failover","message":"failover report: mercury -> uranus\n  )"
        R"(result: done\n","from":"mercury","to":"uranus","ok":true,"duration_ms":1234,"lag":0.5})");
  auto parsed = nlohmann::json::parse(line);
  CHECK(parsed["ok"].is_boolean());
  CHECK(parsed["duration_ms"].is_number_integer());
}

TEST_CASE("a field named like a fixed key does not replace it; NaN is null; bad UTF-8 is replaced") {
  WatchEvent event("note", std::string("bad \xff byte"));
  event.With("event", "other").With("age", std::nan(""));
  auto parsed = nlohmann::json::parse(RenderEventJson(event, At(0)));
  CHECK(parsed["event"] == "note");
  CHECK(parsed["field_event"] == "other");
  CHECK(parsed["age"].is_null());
  CHECK(parsed["time"] == "1970-01-01T00:00:00.000Z");
  CHECK(parsed["message"].get<std::string>().find("bad ") == 0);
}

TEST_CASE("With picks the field's JSON type from the C++ type: a bool stays a bool, an int a number") {
  WatchEvent event("x", "");
  event.With("b", false).With("i", 3).With("s", "text");
  auto parsed = nlohmann::json::parse(RenderEventJson(event, At(0)));
  CHECK(parsed["b"].is_boolean());
  CHECK(parsed["i"] == 3);
  CHECK(parsed["s"] == "text");
}

}  // namespace
}  // namespace replplan::ops
