// Golden tests for `replplan validate`: every tests/golden/invalid/NAME.toml must produce exactly
// the diagnostics in NAME.errors (joined with "\n", one trailing newline in the file is ignored).
// The file name in the messages is the path relative to the repository, as an operator running
// `replplan validate tests/golden/invalid/NAME.toml` from the checkout would see it.
//
// To add a case: write NAME.toml, run this test, check the printed actual text line by line, and
// save it as NAME.errors. REPLPLAN_UPDATE_GOLDEN=1 writes the .errors files instead of comparing;
// review the diff before committing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/topology_parser.h"

namespace replplan {
namespace {

namespace fs = std::filesystem;

const fs::path kRepo = REPLPLAN_SOURCE_DIR;
const fs::path kGoldenDir = "tests/golden/invalid";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> GoldenInputs() {
  std::vector<fs::path> inputs;
  for (const fs::directory_entry& entry : fs::directory_iterator(kRepo / kGoldenDir)) {
    if (entry.path().extension() == ".toml") inputs.push_back(entry.path().filename());
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

std::string Render(const TopologyParse& parse) {
  std::string out;
  for (const Diagnostic& d : parse.errors) out += (out.empty() ? "" : "\n") + d.ToString();
  return out;
}

}  // namespace

TEST_CASE("every invalid golden topology produces exactly its expected diagnostics") {
  const std::vector<fs::path> inputs = GoldenInputs();
  // An empty folder would make this test pass vacuously.
  REQUIRE(inputs.size() >= 10);
  const bool update = std::getenv("REPLPLAN_UPDATE_GOLDEN") != nullptr;
  for (const fs::path& name : inputs) {
    const std::string shown_name = (kGoldenDir / name).string();
    CAPTURE(shown_name);
    const TopologyParse parse = ParseTopology(ReadFile(kRepo / kGoldenDir / name), shown_name);
    const std::string actual = Render(parse);
    CHECK_MESSAGE(!parse.ok(), "an invalid example parsed without errors");

    fs::path expected_path = kRepo / kGoldenDir / name;
    expected_path.replace_extension(".errors");
    if (update) {
      std::ofstream(expected_path, std::ios::binary) << actual << "\n";
      MESSAGE("wrote " << expected_path.string());
      continue;
    }
    std::string expected = ReadFile(expected_path);
    if (!expected.empty() && expected.back() == '\n') expected.pop_back();
    CHECK_MESSAGE(actual == expected, "actual diagnostics:\n" << actual);
  }
}

TEST_CASE("golden diagnostics never echo a literal password") {
  const TopologyParse parse = ParseTopology(ReadFile(kRepo / kGoldenDir / "secrets.toml"), "secrets.toml");
  CHECK(Render(parse).find("correct horse battery staple") == std::string::npos);
  CHECK(Render(parse).find("replication.password must not be a literal string") != std::string::npos);
}

}  // namespace replplan
