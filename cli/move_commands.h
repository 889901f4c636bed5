// `replplan switchover` and `replplan failover`: moving the primary from the command line
// (ops/move.h and ops/watch.h do the work).
#pragma once

#include <string>

#include "cli/watch_service.h"
#include "cli/etcd_flags.h"

namespace replplan::cli {

struct MoveCommand {
  std::string path;
  std::string to;  // switchover only
  bool yes = false;
  bool allow_destructive = false;  // --allow-destructive: the only approval of destructive actions
  int parallelism = 10;
  int min_confirmations = 0;  // failover only; 0 = a majority of the declared replicas (kMajorityOfReplicas)
};

struct WatchCommand {
  std::string path;
  int interval_ms = 200;
  int probe_timeout_ms = 300;
  int block_period_s = 3600;
  int min_confirmations = 0;  // 0 = a majority of the declared replicas
  int max_failovers = 0;
  int parallelism = 10;
  bool allow_destructive = false;
  WatchServiceFlags service;  // --log-format, --http, --state-dir (cli/watch_service.h)
  EtcdFlags etcd;  // several watchers on etcd (cli/etcd_flags.h)
};

int RunSwitchoverCommand(const MoveCommand& command);
// Runs until SIGINT/SIGTERM (or --max-failovers); exit 0, or 1 when the last failover failed.
int RunWatchCommand(const WatchCommand& command);
int RunFailoverCommand(const MoveCommand& command);

}  // namespace replplan::cli
