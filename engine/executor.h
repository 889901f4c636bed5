// The side of apply that touches servers, seen from the engine: one call per action. The real
// implementation (providers/live_executor.h) speaks SQL and SSH; tests use fakes that record calls.
//
// Contract: Execute is idempotent where the server allows it (it checks before it acts, e.g.
// CREATE USER only if absent), so an apply interrupted at any point and run again converges.
// It never throws; a failure is a Status carrying the server's own error text (redacted).
#pragma once

#include <functional>
#include <string>

#include "engine/action.h"
#include "engine/status.h"

namespace replplan {

// Progress of a long action (seeding): "1.2 GB, 85 MB/s, 14 s". Called from the executing thread.
using ProgressFn = std::function<void(const std::string& line)>;

class ActionExecutor {
 public:
  virtual ~ActionExecutor() = default;
  virtual Status Execute(const Action& action, const ProgressFn& progress) = 0;
};

}  // namespace replplan
