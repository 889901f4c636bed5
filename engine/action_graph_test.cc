#include "engine/action_graph.h"

#include <doctest/doctest.h>

#include <chrono>

namespace replplan {
namespace {

Action Named(const std::string& id) {
  Action a;
  a.id = id;
  return a;
}

std::vector<std::string> OrderIds(const ActionGraph& g) {
  auto order = g.ExecutionOrder();
  REQUIRE(order.ok());
  std::vector<std::string> ids;
  for (size_t i : *order) ids.push_back(g.at(i).id);
  return ids;
}

TEST_CASE("without dependencies the execution order is the insertion order") {
  ActionGraph g;
  g.Add(Named("c"));
  g.Add(Named("a"));
  g.Add(Named("b"));
  CHECK(OrderIds(g) == std::vector<std::string>{"c", "a", "b"});
}

TEST_CASE("a dependency moves an action after what it waits for, the rest keeps insertion order") {
  ActionGraph g;
  size_t seed = g.Add(Named("uranus/seed-replica"));
  size_t other = g.Add(Named("venus/set-global"));
  size_t edit = g.Add(Named("mercury/edit-config"));
  size_t restart = g.Add(Named("mercury/restart-server"));
  g.AddDependency(restart, seed);
  g.AddDependency(edit, restart);
  CHECK(OrderIds(g) == std::vector<std::string>{"venus/set-global", "mercury/edit-config",
                                                "mercury/restart-server", "uranus/seed-replica"});
  (void)other;
}

TEST_CASE("among ready actions the earliest added runs first, even when it became ready later") {
  ActionGraph g;
  size_t a = g.Add(Named("a"));
  size_t b = g.Add(Named("b"));
  size_t c = g.Add(Named("c"));
  size_t d = g.Add(Named("d"));
  g.AddDependency(d, b);  // b waits for d: a and c (added before d) still run first
  CHECK(OrderIds(g) == std::vector<std::string>{"a", "c", "d", "b"});
  (void)a;
  (void)c;
}

TEST_CASE("duplicate dependencies are stored once") {
  ActionGraph g;
  size_t a = g.Add(Named("a"));
  size_t b = g.Add(Named("b"));
  size_t c = g.Add(Named("c"));
  g.AddDependency(b, c);
  g.AddDependency(a, c);
  g.AddDependency(b, c);
  g.AddDependency(a, c);
  CHECK(g.DependenciesOf(c) == std::vector<size_t>{a, b});
  CHECK(g.DependenciesOf(a).empty());
}

TEST_CASE("Find returns the index of an id, or size() when absent") {
  ActionGraph g;
  g.Add(Named("mercury/edit-config"));
  size_t b = g.Add(Named("uranus/start-replica"));
  CHECK(g.Find("uranus/start-replica") == b);
  CHECK(g.Find("venus/start-replica") == g.size());
}

TEST_CASE("a cycle is reported as its path of action ids") {
  ActionGraph g;
  size_t a = g.Add(Named("a"));
  size_t b = g.Add(Named("b"));
  g.AddDependency(a, b);
  g.AddDependency(b, a);
  auto order = g.ExecutionOrder();
  REQUIRE_FALSE(order.ok());
  CHECK(order.status().code() == Status::Code::kFailedPrecondition);
  CHECK(order.status().message() == "cycle: a -> b -> a");
}

TEST_CASE("a cycle behind other actions is reported without the actions that lead to it") {
  ActionGraph g;
  size_t start = g.Add(Named("start"));
  size_t tail = g.Add(Named("tail"));
  size_t x = g.Add(Named("x"));
  size_t y = g.Add(Named("y"));
  size_t z = g.Add(Named("z"));
  g.AddDependency(start, tail);
  g.AddDependency(tail, x);
  g.AddDependency(x, y);
  g.AddDependency(y, z);
  g.AddDependency(z, x);
  g.AddDependency(z, tail);  // tail waits for the cycle too: walking back from it reaches the cycle
  auto order = g.ExecutionOrder();
  REQUIRE_FALSE(order.ok());
  // tail -> x -> y -> z -> tail is also a cycle; either way the path is closed and names real ids.
  const std::string& message = order.status().message();
  CHECK((message == "cycle: tail -> x -> y -> z -> tail" || message == "cycle: x -> y -> z -> x"));
}

TEST_CASE("a self-dependency is a cycle of one") {
  ActionGraph g;
  size_t a = g.Add(Named("a"));
  g.AddDependency(a, a);
  auto order = g.ExecutionOrder();
  REQUIRE_FALSE(order.ok());
  CHECK(order.status().message() == "cycle: a -> a");
}

TEST_CASE("100,000 actions with a fan-in of 10,000 on one action order in linear time") {
  // The planner's shape: every replica's seed waits for the primary's actions.
  ActionGraph g;
  size_t root = g.Add(Named("root"));
  std::vector<size_t> nodes;
  for (int i = 0; i < 100000; ++i) nodes.push_back(g.Add(Named("n" + std::to_string(i))));
  auto begin = std::chrono::steady_clock::now();
  for (size_t i = 0; i < nodes.size(); ++i) {
    g.AddDependency(root, nodes[i]);
    if (i % 10 != 0) g.AddDependency(nodes[i - 1], nodes[i]);
    g.AddDependency(root, nodes[i]);  // duplicate: cheap and ignored
  }
  auto order = g.ExecutionOrder();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  REQUIRE(order.ok());
  CHECK(order->size() == g.size());
  CHECK(order->front() == root);
  CHECK(g.DependenciesOf(nodes[1]) == std::vector<size_t>{root, nodes[0]});
  CHECK(seconds < 5.0);  // quadratic would be minutes; generous for a loaded CI machine
}

}  // namespace
}  // namespace replplan
