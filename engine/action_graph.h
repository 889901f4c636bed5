// The dependency graph of a plan's actions. Boost.Graph stays inside this class: callers add
// actions and "must happen before" edges, and ask for an execution order or for what is ready.
//
// Adding is O(1) amortized and ordering O(V + E), so a 10,000-server plan stays linear.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/action.h"
#include "engine/status.h"

namespace replplan {

class ActionGraph {
 public:
  ActionGraph();
  ~ActionGraph();
  ActionGraph(ActionGraph&&) noexcept;
  ActionGraph& operator=(ActionGraph&&) noexcept;

  // Returns the new action's index.
  size_t Add(Action action);
  // `before` must complete before `after` starts. Duplicate edges are ignored.
  void AddDependency(size_t before, size_t after);

  size_t size() const;
  // Room for about `actions` actions and `edges` dependencies, so the indexes do not rehash (and
  // reallocate) as a large plan grows.
  void Reserve(size_t actions, size_t edges);
  const Action& at(size_t index) const;
  // Indices of the actions `index` waits for, in insertion order.
  std::vector<size_t> DependenciesOf(size_t index) const;
  // Finds an action by id; returns size() when absent.
  size_t Find(const std::string& id) const;

  // A topological order (stable: among ready actions, insertion order wins), or a
  // FailedPrecondition whose message is the cycle as its path: "cycle: a -> b -> c -> a".
  Result<std::vector<size_t>> ExecutionOrder() const;

  // Moves the actions out (index order) of a graph about to be discarded, so BuildPlan hands them to
  // the Plan without copying 100,000 of them. Added to the contract for the planner benchmark.
  std::vector<Action> ReleaseActions() &&;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace replplan
