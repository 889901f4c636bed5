// `replplan watch` as a service (docs/watch-service.md): how its events are written (text or one
// JSON object per line), its HTTP endpoint (/metrics, /health), its pause record, the systemd
// protocol (READY=1 once the primary is watched, WATCHDOG=1 from the watch loop, STOPPING=1) and
// SIGHUP (read the topology file again). And `replplan watch pause|resume FILE`.
#pragma once

#include <memory>
#include <string>

#include "engine/applier.h"
#include "cli/etcd_flags.h"
#include "engine/status.h"
#include "ops/pause_store.h"
#include "ops/watch.h"
#include "ops/watch_metrics.h"

namespace replplan {
class MetricsServer;
}

namespace replplan::cli {

struct WatchServiceFlags {
  std::string log_format = "text";  // --log-format: "text" or "json"
  std::string http;                 // --http HOST:PORT; empty: no endpoint
  std::string state_dir;            // --state-dir: where the pause record lives; empty: beside the file
};

// Sets up everything above for one run of the watcher and points `options` at it (log or events,
// observer, metrics, pause, alive, reload). Fails (nothing started) on a bad --http address or one
// that cannot be bound. Sends STOPPING=1 when it goes.
class WatchService {
 public:
  WatchService();
  ~WatchService();
  Status Start(const std::string& topology_path, const WatchServiceFlags& flags, ops::WatchOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct PauseCommand {
  std::string path;
  std::string reason;
  std::string state_dir;
  EtcdFlags etcd;  // the watchers' etcd (flags over the file's [watch]); none: the local file
};
// `replplan watch pause FILE` (pause = true) or `resume FILE`: writes the record (in etcd when the
// flags or the file's [watch] name it, else the local file); 0, or 1 on error.
int RunWatchPauseCommand(const PauseCommand& command, bool pause);

}  // namespace replplan::cli
