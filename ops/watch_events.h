// What `replplan watch` reports, as structured events: a name ("watching", "primary-unreachable",
// "failover", "step", ...), the operator's text line (as the text log has always shown it) and typed
// fields (the primary, a duration, a result), so a log shipper or alerting rule reads fields, never
// parses the text. A sink renders them: the text log prints the line, `--log-format json` prints one
// JSON object per line (RenderEventJson). Nothing in an event is a secret: the fields are names,
// addresses, counts, durations and the same messages the text log prints.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace replplan::ops {

struct WatchEvent {
  // A field's value: text, an integer, a number or a boolean (a tagged struct, not std::variant,
  // which GCC 12 warns falsely about when built with -O2 -Werror).
  struct Value {
    enum class Kind { kText, kInteger, kNumber, kBool } kind = Kind::kText;
    std::string text;
    int64_t integer = 0;
    double number = 0;
    bool flag = false;
  };
  std::string event;    // kebab-case name, stable (docs/watch-service.md lists them)
  std::string message;  // the text log's line (may hold several lines: a failover report)
  std::vector<std::pair<std::string, Value>> fields;  // never "time", "event" or "message"

  WatchEvent(std::string name, std::string text) : event(std::move(name)), message(std::move(text)) {}
  WatchEvent& With(std::string key, Value value) {
    fields.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  WatchEvent& With(std::string key, bool value) {
    return With(std::move(key), Value{Value::Kind::kBool, {}, 0, 0, value});
  }
  WatchEvent& With(std::string key, double value) {
    return With(std::move(key), Value{Value::Kind::kNumber, {}, 0, value, false});
  }
  WatchEvent& With(std::string key, std::string value) {
    return With(std::move(key), Value{Value::Kind::kText, std::move(value), 0, 0, false});
  }
  WatchEvent& With(std::string key, const char* value) { return With(std::move(key), std::string(value)); }
  WatchEvent& With(std::string key, long long value) {
    return With(std::move(key), Value{Value::Kind::kInteger, {}, static_cast<int64_t>(value), 0, false});
  }
  WatchEvent& With(std::string key, int value) { return With(std::move(key), static_cast<long long>(value)); }
  WatchEvent& With(std::string key, long value) { return With(std::move(key), static_cast<long long>(value)); }
  WatchEvent& With(std::string key, unsigned long value) { return With(std::move(key), static_cast<long long>(value)); }
};

// Called from the watcher's threads (the probe loop, the fence guard, the pool keeper): an
// implementation serializes its output itself.
class WatchEventSink {
 public:
  virtual ~WatchEventSink() = default;
  virtual void Emit(const WatchEvent& event) = 0;
};

// "2026-12-07T03:12:49.123Z": UTC with milliseconds, as both log formats print the time.
std::string IsoTimeMillis(std::chrono::system_clock::time_point at);

// One line, no newline at its end: {"time":"...","event":"...","message":"...",<fields>}. A field
// whose name is one of the three fixed keys is written as "field_<name>"; invalid UTF-8 in a
// message is replaced, never fails the line.
std::string RenderEventJson(const WatchEvent& event, std::chrono::system_clock::time_point at);

}  // namespace replplan::ops
