#include "engine/topology_edit.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

namespace replplan {
namespace {

std::string Seed() {
  std::ifstream in(std::string(REPLPLAN_SOURCE_DIR) + "/examples/secondhand.toml");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("switching the primary rewrites only its value; every other byte stays") {
  std::string before = Seed();
  REQUIRE(before.find("primary = \"mercury\"") != std::string::npos);
  auto after = SetPrimaryInTopology(before, "secondhand.toml", "uranus");
  REQUIRE_MESSAGE(after.ok(), after.status().message());
  std::string expected = before;
  expected.replace(expected.find("primary = \"mercury\""), std::string("primary = \"mercury\"").size(),
                   "primary = \"uranus\"");
  CHECK(*after == expected);
}

TEST_CASE("a trailing comment, odd spacing and literal quotes are kept") {
  std::string before = Seed();
  const size_t at = before.find("\nprimary = ") + 1;
  std::string line = before.substr(at, before.find('\n', at) - at);
  std::string odd = "primary   =   'mercury'   # writes go here";
  before.replace(before.find(line), line.size(), odd);
  auto after = SetPrimaryInTopology(before, "secondhand.toml", "uranus");
  REQUIRE_MESSAGE(after.ok(), after.status().message());
  CHECK(after->find("primary   =   'uranus'   # writes go here") != std::string::npos);
  CHECK(after->size() == before.size() - 1);  // "mercury" -> "uranus": one byte shorter, nothing else
}

TEST_CASE("switching to an undeclared server is refused") {
  auto after = SetPrimaryInTopology(Seed(), "secondhand.toml", "venus");
  REQUIRE_FALSE(after.ok());
  CHECK(after.status().message() == "'venus' is not a server declared in secondhand.toml");
}

TEST_CASE("a file that does not validate is refused before anything is rewritten") {
  auto after = SetPrimaryInTopology("[cluster]\nname = 1\n", "broken.toml", "uranus");
  REQUIRE_FALSE(after.ok());
  CHECK(after.status().message().rfind("broken.toml does not validate: broken.toml:", 0) == 0);
}

TEST_CASE("rewriting to the current primary returns the same text") {
  std::string before = Seed();
  auto after = SetPrimaryInTopology(before, "secondhand.toml", "mercury");
  REQUIRE(after.ok());
  CHECK(*after == before);
}

}  // namespace replplan
