#include "providers/local/atomic_file.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace replplan {
namespace {

namespace fs = std::filesystem;

// A directory of the test's own (runs may overlap), removed at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/replplan_atomic_file_test.XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Put(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Everything in `dir` but the names given: temp files left behind.
std::vector<std::string> Others(const std::string& dir, const std::vector<std::string>& known) {
  std::vector<std::string> others;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (std::find(known.begin(), known.end(), name) == known.end()) others.push_back(name);
  }
  return others;
}

}  // namespace

TEST_CASE("the file is replaced whole, its mode kept, no temp file left") {
  TempDir dir;
  const std::string path = dir.path + "/topology.toml";
  Put(path, "primary = \"a\"\n# a longer old line than the new content has\n");
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  REQUIRE(WriteFileAtomically(path, "primary = \"b\"\n").ok());
  CHECK(Read(path) == "primary = \"b\"\n");
  CHECK(ModeOf(path) == 0640);
  CHECK(Others(dir.path, {"topology.toml"}).empty());
}

TEST_CASE("a new file gets 0666 less the umask") {
  TempDir dir;
  const std::string path = dir.path + "/plan.json";
  mode_t before = ::umask(027);
  Status written = WriteFileAtomically(path, "{}\n");
  ::umask(before);
  REQUIRE(written.ok());
  CHECK(Read(path) == "{}\n");
  CHECK(ModeOf(path) == 0640);
}

TEST_CASE("a mode given is the file's mode, new or replaced (a 0600 state file)") {
  TempDir dir;
  const std::string path = dir.path + "/main.toml.pause";
  REQUIRE(WriteFileAtomically(path, "{}\n", 0600).ok());
  CHECK(ModeOf(path) == 0600);
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  REQUIRE(WriteFileAtomically(path, "{\"paused\": true}\n", 0600).ok());
  CHECK(ModeOf(path) == 0600);
  CHECK(Read(path) == "{\"paused\": true}\n");
}

TEST_CASE("a symlink planted at the old fixed temp name is ignored: its target is untouched") {
  TempDir dir;
  const std::string path = dir.path + "/topology.toml";
  const std::string victim = dir.path + "/victim";
  Put(path, "primary = \"a\"\n");
  Put(victim, "precious\n");
  REQUIRE(::chmod(victim.c_str(), 0644) == 0);
  // The name the rewrite used to open with O_CREAT|O_TRUNC, following links, then chmod.
  const std::string fixed = dir.path + "/.topology.toml.replplan.tmp";
  fs::create_symlink(victim, fixed);
  REQUIRE(WriteFileAtomically(path, "primary = \"b\"\n").ok());
  CHECK(Read(victim) == "precious\n");
  CHECK(ModeOf(victim) == 0644);
  CHECK(fs::is_symlink(fixed));
  CHECK(Read(path) == "primary = \"b\"\n");
  CHECK(Others(dir.path, {"topology.toml", "victim", ".topology.toml.replplan.tmp"}).empty());
}

TEST_CASE("a symlink at the path itself is replaced by the file, never written through") {
  TempDir dir;
  const std::string path = dir.path + "/plan.json";  // `plan --out /tmp/plan.json`, say
  const std::string victim = dir.path + "/victim";
  Put(victim, "precious\n");
  REQUIRE(::chmod(victim.c_str(), 0600) == 0);
  fs::create_symlink(victim, path);
  REQUIRE(WriteFileAtomically(path, "{}\n").ok());
  CHECK(Read(victim) == "precious\n");
  CHECK(ModeOf(victim) == 0600);
  CHECK_FALSE(fs::is_symlink(path));
  CHECK(Read(path) == "{}\n");
}

TEST_CASE("a write that cannot happen says why and leaves the file and the directory as they were") {
  TempDir dir;
  const std::string path = dir.path + "/taken";
  fs::create_directories(path + "/inside");
  Status written = WriteFileAtomically(path, "x\n");
  CHECK_FALSE(written.ok());
  CHECK(written.code() == Status::Code::kUnavailable);
  CHECK_MESSAGE(written.message().find(path) != std::string::npos, written.message());
  CHECK(fs::is_directory(path + "/inside"));
  CHECK(Others(dir.path, {"taken"}).empty());
  Status nowhere = WriteFileAtomically(dir.path + "/missing/file", "x\n");
  CHECK_FALSE(nowhere.ok());
  CHECK_MESSAGE(nowhere.message().find("No such file or directory") != std::string::npos, nowhere.message());
}

TEST_CASE("concurrent rewrites never mix: the file is always one writer's whole content") {
  TempDir dir;
  const std::string path = dir.path + "/topology.toml";
  Put(path, "start\n");
  // Long contents, so a shared temp file would interleave or truncate them.
  const std::string a(200000, 'a');
  const std::string b(150000, 'b');
  int failures = 0;
  std::vector<std::string> seen;
  {
    std::jthread one([&] {
      for (int i = 0; i < 100; ++i) failures += !WriteFileAtomically(path, a).ok();
    });
    std::jthread two([&] {
      for (int i = 0; i < 100; ++i) failures += !WriteFileAtomically(path, b).ok();
    });
    for (int i = 0; i < 200; ++i) seen.push_back(Read(path));
  }
  CHECK(failures == 0);
  for (const std::string& text : seen) {
    CHECK((text == "start\n" || text == a || text == b));
  }
  std::string last = Read(path);
  CHECK((last == a || last == b));
  CHECK(Others(dir.path, {"topology.toml"}).empty());
}

}  // namespace replplan
