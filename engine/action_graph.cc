// ActionGraph: a boost::adjacency_list (bidirectional, so an action's dependencies are its in-edges)
// plus two hash indexes: id -> vertex for Find, and (before, after) pairs so a duplicate edge costs
// one hash lookup instead of a scan of the vertex's out-edges (the primary's actions gain an
// in-edge per replica, 10,000 of them in the benchmark).
#include "engine/action_graph.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include <boost/graph/adjacency_list.hpp>

namespace replplan {

struct ActionGraph::Impl {
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;
  Graph graph;
  std::vector<Action> actions;  // vertex index == action index
  std::unordered_map<std::string, size_t> by_id;
  std::unordered_set<uint64_t> edges;  // before << 32 | after

  // Indices of the unfinished predecessors of `v`, smallest first: used to walk back to a cycle.
  std::vector<size_t> Predecessors(size_t v) const {
    std::vector<size_t> out;
    auto [it, end] = boost::in_edges(v, graph);
    for (; it != end; ++it) out.push_back(boost::source(*it, graph));
    std::sort(out.begin(), out.end());
    return out;
  }

  // Called when Kahn's algorithm stalls: every vertex left has an unfinished predecessor, so walking
  // predecessors from any of them must revisit a vertex; that loop is a cycle. Reported forward,
  // starting at its earliest-added action, so the message is deterministic.
  std::string DescribeCycle(const std::vector<size_t>& remaining_in_degree) const {
    size_t start = 0;
    while (remaining_in_degree[start] == 0) ++start;
    std::unordered_map<size_t, size_t> position;
    std::vector<size_t> walk;
    size_t v = start;
    while (!position.count(v)) {
      position[v] = walk.size();
      walk.push_back(v);
      for (size_t p : Predecessors(v)) {
        if (remaining_in_degree[p] > 0) {
          v = p;
          break;
        }
      }
    }
    // walk[position[v]..] is the cycle, each element a predecessor of the one before it.
    std::vector<size_t> cycle(walk.begin() + static_cast<std::ptrdiff_t>(position[v]), walk.end());
    std::reverse(cycle.begin(), cycle.end());
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    std::string text = "cycle: ";
    for (size_t i : cycle) text += actions[i].id + " -> ";
    return text + actions[cycle.front()].id;
  }
};

ActionGraph::ActionGraph() : impl_(std::make_unique<Impl>()) {}
ActionGraph::~ActionGraph() = default;
ActionGraph::ActionGraph(ActionGraph&&) noexcept = default;
ActionGraph& ActionGraph::operator=(ActionGraph&&) noexcept = default;

size_t ActionGraph::Add(Action action) {
  size_t index = boost::add_vertex(impl_->graph);
  impl_->by_id.emplace(action.id, index);
  impl_->actions.push_back(std::move(action));
  return index;
}

void ActionGraph::AddDependency(size_t before, size_t after) {
  uint64_t key = (static_cast<uint64_t>(before) << 32) | static_cast<uint64_t>(after);
  if (!impl_->edges.insert(key).second) return;
  boost::add_edge(before, after, impl_->graph);
}

size_t ActionGraph::size() const { return impl_->actions.size(); }

void ActionGraph::Reserve(size_t actions, size_t edges) {
  impl_->actions.reserve(actions);
  impl_->by_id.reserve(actions);
  impl_->edges.reserve(edges);
}

const Action& ActionGraph::at(size_t index) const { return impl_->actions.at(index); }

std::vector<size_t> ActionGraph::DependenciesOf(size_t index) const { return impl_->Predecessors(index); }

size_t ActionGraph::Find(const std::string& id) const {
  auto it = impl_->by_id.find(id);
  return it == impl_->by_id.end() ? size() : it->second;
}

std::vector<Action> ActionGraph::ReleaseActions() && { return std::move(impl_->actions); }

Result<std::vector<size_t>> ActionGraph::ExecutionOrder() const {
  const auto& graph = impl_->graph;
  const size_t n = size();
  std::vector<size_t> in_degree(n, 0);
  for (size_t v = 0; v < n; ++v) in_degree[v] = boost::in_degree(v, graph);

  // Kahn's algorithm with a min-heap on the insertion index: among ready actions the one added first
  // runs first, so the order follows the planner's (file order) wherever dependencies allow.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t v = 0; v < n; ++v) {
    if (in_degree[v] == 0) ready.push(v);
  }
  std::vector<size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    size_t v = ready.top();
    ready.pop();
    order.push_back(v);
    auto [it, end] = boost::out_edges(v, graph);
    for (; it != end; ++it) {
      size_t next = boost::target(*it, graph);
      if (--in_degree[next] == 0) ready.push(next);
    }
  }
  if (order.size() != n) return Status::FailedPrecondition(impl_->DescribeCycle(in_degree));
  return order;
}

}  // namespace replplan
