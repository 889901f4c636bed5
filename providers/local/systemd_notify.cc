#include "providers/local/systemd_notify.h"

#include <systemd/sd-daemon.h>

namespace replplan {

bool NotifyServiceManager(const std::string& state) { return sd_notify(0, state.c_str()) > 0; }

std::optional<std::chrono::microseconds> ServiceWatchdogTimeout() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

}  // namespace replplan
