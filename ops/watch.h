// `replplan watch`: a long-running monitor of the primary that fails over by itself.
//
// Detection: one persistent SQL connection to the primary, probed every `interval` (ops/probe.h:
// no answer within `probe_timeout` is silence, suspected at once with no reconnect; a connection
// broken at once is reopened once). Between probes the watcher waits on that connection's socket,
// so a primary whose process dies (its kernel closes the socket) is suspected at once, not at the
// next probe; the probes remain for what closes no socket (a frozen process or host, dropped
// packets). Suspicion is not failure: the decision is Failover's (ops/move.h), which asks every
// replica whether its IO thread lost the primary too, and refuses when any reachable one still
// sees it (the watcher alone may be cut off). A silent primary is not tried again by the confirm
// step (the probe's verdict stands, MoveRequest::primary_silent) until the probe left in flight is
// answered, which ends the confirmation. While the replicas have not yet noticed (their IO thread
// notices a killed primary at once, a silent one within slave_net_timeout), the watcher asks
// again every 10 ms until slave_net_timeout + 2 s have passed; a replica still connected that
// received nothing from the primary for longer than the silence bound B (engine/failover_choice.h
// ReceiptWatch, docs/failover.md "Confirmation") confirms before that. That receipt is observed all
// along, every probe interval (100 ms at the most) while the primary answers, so a silence is counted
// from the last receipt seen, not from the suspicion.
//
// Warm connections: the watcher keeps an SQL connection and two SSH sessions to every server in a
// SessionPool (providers/session_pool.h), reopened in the background when a server closes one,
// and the failover borrows them: no TCP handshake, key exchange or login on the hot path. The
// report says how many it borrowed and how many it still had to open.
//
// No flapping: after a failover, no other one happens within `block_period`; a primary lost in
// that time is reported and left to the operator. The watcher re-reads the topology file (which
// the failover rewrote) and watches the new primary.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "engine/applier.h"
#include "engine/failover_choice.h"
#include "engine/status.h"
#include "ops/pause_store.h"
#include "ops/watch_events.h"
#include "ops/watch_metrics.h"
#include "ops/world.h"

namespace replplan::ops {

class WatchCoordination;  // ops/watch_coordination.h

struct WatchOptions {
  std::string topology_path;
  std::chrono::milliseconds interval{200};
  std::chrono::milliseconds probe_timeout{300};  // no answer within it: silent (docs/failover.md, Detection)
  std::chrono::seconds block_period{3600};
  int min_confirmations = kMajorityOfReplicas;
  int parallelism = 10;
  std::string owner;
  // Whether a failover's plan may carry destructive actions (--allow-destructive); without it such a
  // failover is refused, nothing changed, and the log says which actions.
  bool allow_destructive = false;
  ApplyObserver* observer = nullptr;
  // One line per event ("watching mercury (127.0.0.61:3306)", "primary lost: ...", reports).
  std::function<void(const std::string&)> log;
  // Stop after this many failovers (0: never stop on that account); tests and benchmarks use 1.
  int max_failovers = 0;
  // The service side (docs/watch-service.md), each optional. `events`: every report as a structured
  // event (ops/watch_events.h); when set, `log` is not called. `metrics`: updated as the loop goes,
  // the replicas' lag and heartbeat age from the receipt observer's reads (no reads of their own).
  // `pause`: read every probe interval; while paused nothing is failed over or fenced
  // (ops/pause_store.h). `alive`: called after every probe of the primary, answered or not (the
  // service's watchdog ping; its first call: READY). `reload`: set (by SIGHUP) to read the file
  // again at the next probe interval; a file that does not parse is reported and the one read before
  // is kept.
  WatchEventSink* events = nullptr;
  WatchMetrics* metrics = nullptr;
  PauseStore* pause = nullptr;
  std::function<void()> alive;
  std::atomic<bool>* reload = nullptr;
  // Several watchers on etcd (ops/coordination.h): only the leader fails over, with a majority of
  // them seeing the primary down. Null: this watcher is alone (a single point of failure, said at start).
  WatchCoordination* coordination = nullptr;
};

// Runs until `stop` becomes true (checked at least every interval) or max_failovers is reached.
// Returns the status of the last failover attempted (OK when none failed). Everything goes through
// `world` (ops/world.h): the file through its Files, the probe and the fence guard's check over
// fresh sessions from its SessionFactory, the failovers as ops/move.h's, the fence under its lock
// routine and through its executor, the warm connections through its WarmConnections.
Status Watch(const World& world, const WatchOptions& options, const std::atomic<bool>& stop);
// Over the real world (LiveWorld) with a SessionPool kept warm.
Status Watch(const WatchOptions& options, const std::atomic<bool>& stop);

}  // namespace replplan::ops
