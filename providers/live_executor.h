// The real ActionExecutor: carries out plan actions on live servers over SQL (libmariadb, as the
// topology's admin account, TCP) and SSH (libssh2, config files and restart commands). It holds the
// hosts, their sessions and a lock per host, and hands each action to its step
// (providers/steps/steps.h: what each kind does, by family).
//
// Invariants:
// - Idempotent: every action reads the server first and does only what is still missing, so an
//   apply killed at any point and run again converges, and executing an action twice changes
//   nothing the second time (no second restart, no second config write, no binlog event).
// - Nothing from an action's args reaches SQL or a shell unchecked: objects (servers, users,
//   databases, grants, apps) are looked up in the validated Topology by name, set-global's typed
//   values are held to the ranges and words engine/action.h's SetGlobalFromText allows, and
//   everything else goes through engine/sql_quote.h or engine/shell_quote.h.
//   Whether a saved plan still matches the topology is checked before apply runs it
//   (CheckPlanAgainstTopology, engine/plan_check.h); a name the topology lacks still fails here
//   with "stale plan", never half-applies.
// - Error text never holds a secret: every message passes through RedactSecrets with every
//   secret the topology names.
// - Every server is reached through two ServerSessions (providers/server_session.h), one per lane
//   of its host (engine/action.h LaneOf: the server's actions, its apps' actions), whose SQL
//   connection and SSH session open on first use and are kept; a connection that broke is dropped
//   and reopened by the next action of that lane. A restart command, an app's restart and the read
//   of another server's position get a session of their own from the same factory. Actions on
//   different hosts, and an app's and a server's action on one host, may run concurrently (each
//   lane of a host has its own lock and session, so no session is used by two threads); actions
//   in one lane of a host are serialized.
// - Seeding (providers/seeder.h) too: it streams a dump between two servers over a fresh session of
//   its own on each side (ServerSession::StartCommand), so a seed is a fake test (seeder_test.cc).
#pragma once

#include <memory>

#include "engine/executor.h"
#include "engine/topology.h"

namespace replplan {

class SessionFactory;
class SessionPool;

struct LiveExecutorOptions {
  // How long check-health waits for an app's health URL to answer 2xx after its restart. Not in
  // the plan: the planner never gave one, and a saved plan has no key for it. Tests shorten it.
  int health_timeout_s = 60;
};

// The executor keeps its own copy of `topology`. With a pool (providers/session_pool.h), its
// connections are borrowed from the pool and given back, sound, when the executor is destroyed.
std::unique_ptr<ActionExecutor> MakeLiveExecutor(const Topology& topology, SessionPool* pool = nullptr,
                                                 const LiveExecutorOptions& options = {});
// Over sessions from `factory` (which must outlive the executor): a fake's in unit tests
// (providers/testing/fake_server.h).
std::unique_ptr<ActionExecutor> MakeLiveExecutor(const Topology& topology, SessionFactory& factory,
                                                 const LiveExecutorOptions& options = {});

}  // namespace replplan
