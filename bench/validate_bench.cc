// Validation scaling: a synthetic topology file of N servers (engine/topology_text_fixture.h)
// parsed and validated end to end, as `replplan validate` does, 1,000 then 10,000 servers in one
// process; prints the time ratio (~10 linear, ~100 quadratic). Target: 10,000 servers under 0.5 s.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/topology_parser.h"
#include "engine/topology_text_fixture.h"

namespace {

double SecondsToValidate(size_t servers) {
  const std::string text = replplan::testing::SyntheticTopologyToml(servers);
  auto begin = std::chrono::steady_clock::now();
  replplan::TopologyParse parse = replplan::ParseTopology(text, "synthetic.toml");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  if (!parse.ok()) {
    std::fprintf(stderr, "validation failed: %s\n", parse.errors.front().ToString().c_str());
    std::exit(1);
  }
  return seconds;
}

}  // namespace

int main() {
  const double small = SecondsToValidate(1000);
  const double large = SecondsToValidate(10000);
  std::printf("validate 10000 servers: %.3f s (target 0.5 s: %.2f of it); 1000 servers: %.3f s; ratio %.1f "
              "(linear = 10)\n",
              large, large / 0.5, small, large / small);
  return 0;
}
