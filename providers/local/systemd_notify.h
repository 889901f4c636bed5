// The systemd service protocol (sd_notify(3), through libsystemd): READY=1 once the watcher
// watches, WATCHDOG=1 from its loop, STOPPING=1, STATUS=... . Without $NOTIFY_SOCKET (not run by
// systemd with Type=notify) every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace replplan {

// Sends `state` ("READY=1", "WATCHDOG=1\nSTATUS=watching mercury") to the service manager; false
// when there is none or the message could not be sent.
bool NotifyServiceManager(const std::string& state);

// The watchdog's timeout when systemd asks for pings (WatchdogSec=, $WATCHDOG_USEC and
// $WATCHDOG_PID naming this process), else nullopt. Ping at least twice within it.
std::optional<std::chrono::microseconds> ServiceWatchdogTimeout();

}  // namespace replplan
