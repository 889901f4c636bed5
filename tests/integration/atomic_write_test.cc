// AtomicWriteCommand (providers/ssh/atomic_write.h) run over real SSH on a lab host: the exact new
// bytes (a shorter file leaves no tail of the old one), owner and mode kept, the previous content
// in <file>.replplan.bak, no temp file left, a symlink followed, a new file created 0644, and a
// path that needs quoting.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "integration/lab_client.h"
#include "providers/connect_options.h"
#include "providers/ssh/atomic_write.h"
#include "providers/ssh/ssh_session.h"

namespace {

namespace fs = std::filesystem;

std::unique_ptr<replplan::SshSession> Session() {
  replplan::Topology topology = lab::LoadTopology();
  auto session = replplan::SshSession::Connect(replplan::SshOptionsFor(topology.servers.front()));
  REQUIRE_MESSAGE(session.ok(), session.status().message());
  return std::move(*session);
}

void Write(replplan::SshSession& ssh, const std::string& path, const std::string& text) {
  auto run = ssh.Run(replplan::AtomicWriteCommand(path), text);
  REQUIRE_MESSAGE(run.ok(), run.status().message());
  INFO("stderr: " << run->err);
  REQUIRE(run->exit_status == 0);
}

// Files in `dir` whose name has ".replplan." but is not the backup: temp files left behind.
int Leftovers(const std::string& dir) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.find(".replplan.") != std::string::npos && name.size() > 4 &&
        name.substr(name.size() - 4) != ".bak") {
      ++n;
    }
  }
  return n;
}

std::string Dir() {
  std::string dir = lab::Dir() + "/tmp/atomic write 'test'";  // a space and quotes: quoting matters
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("a shorter content replaces the file exactly; owner and mode stay; the old one is the backup") {
  lab::Reset(1);
  auto ssh = Session();
  std::string dir = Dir();
  std::string path = dir + "/database.yml";
  const std::string before = "production:\n  host: 192.168.178.61  # a long old line\n  port: 3306\n";
  std::ofstream(path, std::ios::binary) << before;
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  REQUIRE(::chown(path.c_str(), 0, 4) == 0);  // group adm: something to keep

  const std::string after = "production:\n  host: 10.0.0.1\n";
  Write(*ssh, path, after);
  CHECK(lab::ReadFile(path) == after);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_gid == 4u);
  CHECK(lab::ReadFile(path + ".replplan.bak") == before);
  CHECK(Leftovers(dir) == 0);

  // Bytes a shell could mangle: no trailing newline, a NUL, quotes, a backslash, $(...).
  const std::string odd = std::string("a'b\"c\\d\0e", 9) + "$(echo x)";
  Write(*ssh, path, odd);
  CHECK(lab::ReadFile(path) == odd);
  CHECK(lab::ReadFile(path + ".replplan.bak") == after);
  CHECK(Leftovers(dir) == 0);
}

TEST_CASE("a missing file is created 0644 with no backup; a symlink is followed, not replaced") {
  lab::Reset(1);
  auto ssh = Session();
  std::string dir = Dir();
  std::string created = dir + "/new.cnf";
  Write(*ssh, created, "[mysqld]\n");
  CHECK(lab::ReadFile(created) == "[mysqld]\n");
  struct stat st {};
  REQUIRE(::stat(created.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  CHECK_FALSE(fs::exists(created + ".replplan.bak"));

  fs::create_directories(dir + "/alternatives");
  std::string target = dir + "/alternatives/my.cnf";
  fs::copy_file(created, target);  // what the link points at (Debian's /etc/alternatives)
  std::string link = dir + "/my.cnf";
  fs::create_symlink(target, link);
  Write(*ssh, link, "[mysqld]\nserver_id = 2\n");
  CHECK(fs::is_symlink(link));
  CHECK(lab::ReadFile(target) == "[mysqld]\nserver_id = 2\n");
  CHECK(lab::ReadFile(target + ".replplan.bak") == "[mysqld]\n");
  CHECK(Leftovers(dir) == 0);
  CHECK(Leftovers(dir + "/alternatives") == 0);
}
