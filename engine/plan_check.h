// Does a plan still fit the topology file? A saved plan (`plan --out`) is a file: it may have been
// made from another version of the topology, or edited by hand. apply checks its topology_digest
// against the file, and then this: every rule by which an action's args must agree with the file,
// in one place, pure. Checks that need the live server (is the replica still on the source the
// plan expects?) stay in the executor; whether the servers moved is the state fingerprint's and
// plan_compare's question.
//
// The rules, per action (the plan's kinds and types were checked by PlanFromJson already):
// - every action runs on a server of the file; the plan's cluster, primary, flavor and
//   replication mode are the file's;
// - edit-config edits the server's config_file, and each key it sets is one replplan manages with
//   the value the file gives;
// - set-global sets each variable to what the file gives that server (read_only OFF only on the
//   primary, the primary side of semi-sync ON only on a semi-sync primary);
// - the replication account's actions name the file's account and its one grant; a declared
//   user's or database's name one of the file, with its grants, charset and collation;
// - seed-replica, change-source and rewrite-app-config name the file's primary, in the file's
//   replication mode; a rejoin from the binlog uses GTID with slave_pos;
// - wait-for-catch-up, apply-relay-log and promote-replica run on the file's primary and name
//   another server of the file; fence-primary, start-replica and seed-replica never run on it;
// - the app steps name an app of the file that runs on the action's host; check-health one with
//   a health URL.
#pragma once

#include "engine/plan.h"
#include "engine/status.h"
#include "engine/topology.h"

namespace replplan {

// OK when every action fits `topology`; otherwise FailedPrecondition listing each action that does
// not, one line each: "stale plan: venus/set-global sets read_only=OFF, but venus is a replica in
// lab.toml (plan again)".
Status CheckPlanAgainstTopology(const Plan& plan, const Topology& topology);

}  // namespace replplan
