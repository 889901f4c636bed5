// The topology parser's complexity guard: validating ten times the servers may cost about ten
// times the time, never a hundred (the uniqueness check once compared every server with every
// earlier one: 10,000 servers took 4.3 s). A ratio in one process, each size the best of two runs;
// the wall-clock figure is bench/validate_bench's.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "engine/topology_parser.h"
#include "engine/topology_text_fixture.h"

namespace replplan {
namespace {

double BestSecondsToParse(size_t servers) {
  const std::string text = testing::SyntheticTopologyToml(servers);
  double best = 1e9;
  for (int i = 0; i < 2; ++i) {
    auto begin = std::chrono::steady_clock::now();
    TopologyParse parse = ParseTopology(text, "synthetic.toml");
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    REQUIRE_MESSAGE(parse.ok(), (parse.errors.empty() ? std::string() : parse.errors.front().ToString()));
    CHECK(parse.topology.servers.size() == servers);
    best = std::min(best, seconds);
  }
  return best;
}

TEST_CASE("validating 20,000 servers takes well under 40 times as long as 2,000 (linear: 10; quadratic: 100)") {
  const double small = BestSecondsToParse(2000);
  const double large = BestSecondsToParse(20000);
  const double ratio = large / small;
  MESSAGE("2,000 servers: " << small << " s; 20,000: " << large << " s; ratio " << ratio);
  CHECK(ratio < 40);
}

TEST_CASE("a duplicate among many servers is still found, at the second and naming the first") {
  std::string text = testing::SyntheticTopologyToml(500);
  text += "\n[[server]]\nname = \"db7\"\naddress = \"10.9.9.9\"\nserver_id = 9999\nlog_bin = \"/var/log/mysql/mysql-bin.log\"\n";
  // db7's [[server]] header: the line before its name.
  const size_t name_at = text.find("name = \"db7\"\n");
  const auto header_line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(name_at), '\n');
  TopologyParse parse = ParseTopology(text, "synthetic.toml");
  REQUIRE(parse.errors.size() == 1);
  CHECK(parse.errors[0].message ==
        "duplicate server name 'db7' (first declared at line " + std::to_string(header_line) + ")");
}

}  // namespace
}  // namespace replplan
