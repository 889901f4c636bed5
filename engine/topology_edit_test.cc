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

namespace replplan {

// toml++ counts columns in code points: a non-ASCII name before the primary on the same line (an
// inline [cluster] table) once made the rewrite land a byte early and refuse ("cannot locate").
TEST_CASE("non-ASCII text before the primary on its line is located by byte, not by code point") {
  std::string before = Seed();
  const size_t begin = before.find("[cluster]");
  const size_t end = before.find("[replication]");
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  // "secondhand-café €" (é: 2 bytes, €: 3), and a non-ASCII comment on the line before.
  before.replace(begin, end - begin,
                 "# Brücke: die Primäre steht unten\n"
                 "cluster = { name = \"secondhand-caf\xC3\xA9 \xE2\x82\xAC\", flavor = \"mariadb\", primary = "
                 "\"mercury\" }  # \xC3\xA9t\xC3\xA9\n\n");
  auto after = SetPrimaryInTopology(before, "secondhand.toml", "uranus");
  REQUIRE_MESSAGE(after.ok(), after.status().message());
  std::string expected = before;
  expected.replace(expected.find("primary = \"mercury\" }"), std::string("primary = \"mercury\" }").size(),
                   "primary = \"uranus\" }");
  CHECK(*after == expected);

  // The same with a byte order mark before the inline table on the first line (toml++ does not
  // count it as a column).
  const std::string bom = "\xEF\xBB\xBF";
  const std::string first_line = before.substr(before.find("cluster = {"));
  auto with_bom = SetPrimaryInTopology(bom + first_line, "secondhand.toml", "uranus");
  REQUIRE_MESSAGE(with_bom.ok(), with_bom.status().message());
  CHECK(*with_bom == bom + expected.substr(expected.find("cluster = {")));
}

TEST_CASE("a non-ASCII cluster name and comment on the lines before primary keep every other byte") {
  std::string before = Seed();
  const std::string name_line = "name    = \"secondhand\"";
  REQUIRE(before.find(name_line) != std::string::npos);
  before.replace(before.find(name_line), name_line.size(),
                 "name    = \"secondhand-\xE4\xB8\xAD\xE5\x8F\xA4\"  # gebrauchte Waren, \xC3\xA9t\xC3\xA9");
  auto after = SetPrimaryInTopology(before, "secondhand.toml", "uranus");
  REQUIRE_MESSAGE(after.ok(), after.status().message());
  std::string expected = before;
  expected.replace(expected.find("primary = \"mercury\""), std::string("primary = \"mercury\"").size(),
                   "primary = \"uranus\"");
  CHECK(*after == expected);
}

}  // namespace replplan
