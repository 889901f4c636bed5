// `replplan status`: the cluster now (ops/status.h), once or refreshed in place (--watch).
#pragma once

#include <string>

namespace replplan::cli {

struct StatusCommand {
  std::string path;
  bool json = false;
  bool watch = false;      // refresh until SIGINT/SIGTERM
  int interval_ms = 2000;  // between refreshes with --watch
  int parallelism = 10;
};

// 0 healthy, 1 degraded, 2 broken (of the last read, with --watch); 3 when nothing could be
// checked (the file does not validate, a secret cannot be resolved).
int RunStatusCommand(const StatusCommand& command);

}  // namespace replplan::cli
