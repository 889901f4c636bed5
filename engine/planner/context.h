// What the planner's rules read (engine/planner/rules.h): the topology, the live state and the
// options, each server as a (spec, state) pair, the file's primary, and the primary change, if
// any. Built once per plan and never changed after DetectPrimaryChange: every rule takes it const,
// so no rule can change what another one sees, and none looks a server up by name again.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "engine/live_state.h"
#include "engine/plan.h"
#include "engine/planner.h"
#include "engine/topology.h"

namespace replplan::planner {

// One server as the file declares it and as it was read: what a rule about one host takes. Only a
// server that was read has one (the planner plans nothing for a server missing from the live
// state); `state.sql_ok` and `state.ssh_ok` still say which half could be read.
struct Server {
  const ServerSpec& spec;
  const ServerState& state;
  size_t index;     // in topology.servers, and in the builder's slots and reports
  bool is_primary;  // the file's primary
};

// The live primary the file's primary takes over from (DetectPrimaryChange), or none.
struct PrimaryMove {
  const ServerSpec* old_primary = nullptr;  // a declared server; null: no primary change
  std::optional<PrimaryChange> change;      // set exactly when old_primary is
};

class PlanContext {
 public:
  // Pairs every declared server with its state (one lookup each, here and nowhere else).
  PlanContext(const Topology& topology, const LiveState& live, const PlanOptions& options);

  const Topology& topology;
  const LiveState& live;
  const PlanOptions& options;

  size_t size() const { return states_.size(); }
  const ServerSpec& spec(size_t index) const { return topology.servers[index]; }
  // What was read of server `index`; null when it was not read at all.
  const ServerState* state(size_t index) const { return states_[index]; }
  // The (spec, state) pair of a read server.
  Server server(size_t index) const;

  // Whether cluster.primary names a declared server. BuildPlan refuses the plan when it does not,
  // before any rule runs, so rules take the primary as given.
  bool has_primary() const { return primary_ != kNoServer; }
  // The file's primary.
  const ServerSpec& primary() const { return spec(primary_); }
  size_t primary_index() const { return primary_; }
  // What was read of the file's primary; null when it was not read.
  const ServerState* primary_state() const { return states_[primary_]; }

  // The primary change, set once by the driver from DetectPrimaryChange before any host is planned.
  void SetPrimaryMove(const PrimaryMove& move);
  const std::optional<PrimaryChange>& change() const { return move_.change; }
  const ServerSpec* old_primary() const { return move_.old_primary; }
  size_t old_primary_index() const { return old_primary_; }
  bool IsOldPrimary(const ServerSpec& spec) const { return &spec == move_.old_primary; }

 private:
  static constexpr size_t kNoServer = static_cast<size_t>(-1);
  std::vector<const ServerState*> states_;  // topology.servers order
  size_t primary_ = kNoServer;
  PrimaryMove move_;
  size_t old_primary_ = kNoServer;
};

// --- Words the rules share in their summaries, reasons and changes ---------------------------

// 'user'@'host', as SHOW GRANTS writes an account.
inline std::string Account(const std::string& user, const std::string& host) {
  return "'" + user + "'@'" + host + "'";
}
inline std::string OnOff(const std::optional<bool>& b) { return !b ? "(unknown)" : *b ? "ON" : "OFF"; }
inline std::string OrEmpty(const std::string& s) { return s.empty() ? "(empty)" : s; }

}  // namespace replplan::planner
