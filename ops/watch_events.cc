#include "ops/watch_events.h"

#include <cmath>
#include <ctime>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace replplan::ops {

std::string IsoTimeMillis(std::chrono::system_clock::time_point at) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[80];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
  return text;
}

std::string RenderEventJson(const WatchEvent& event, std::chrono::system_clock::time_point at) {
  nlohmann::ordered_json line;
  line["time"] = IsoTimeMillis(at);
  line["event"] = event.event;
  line["message"] = event.message;
  for (const auto& [key, value] : event.fields) {
    const std::string name = key == "time" || key == "event" || key == "message" ? "field_" + key : key;
    switch (value.kind) {
      case WatchEvent::Value::Kind::kText:
        line[name] = value.text;
        break;
      case WatchEvent::Value::Kind::kInteger:
        line[name] = value.integer;
        break;
      case WatchEvent::Value::Kind::kNumber:
        if (std::isfinite(value.number)) {
          line[name] = value.number;
        } else {
          line[name] = nullptr;  // JSON has no NaN
        }
        break;
      case WatchEvent::Value::Kind::kBool:
        line[name] = value.flag;
        break;
    }
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace replplan::ops
