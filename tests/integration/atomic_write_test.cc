// AtomicWrite and AtomicWriteCommand (providers/ssh/atomic_write.h) run over real SSH on a lab
// host, each test both ways (the SFTP-assisted write, and the one command a server without SFTP
// gets): the exact new bytes (a shorter file leaves no tail of the old one), owner and mode kept,
// the previous content in <file>.replplan.bak, no temp file left, a symlink followed, a new file
// created 0644, a path that needs quoting, and a write that cannot happen.
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

enum class Via { kAtomicWrite, kCommand };

replplan::Status TryWrite(replplan::SshSession& ssh, const std::string& path, const std::string& text, Via via) {
  if (via == Via::kAtomicWrite) return replplan::AtomicWrite(ssh, path, text);
  auto run = ssh.Run(replplan::AtomicWriteCommand(path), text);
  if (!run.ok()) return run.status();
  return run->exit_status == 0 ? replplan::Status::OK() : replplan::Status::Internal(run->err);
}

void Write(replplan::SshSession& ssh, const std::string& path, const std::string& text, Via via) {
  replplan::Status written = TryWrite(ssh, path, text, via);
  REQUIRE_MESSAGE(written.ok(), written.message());
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
  for (Via via : {Via::kAtomicWrite, Via::kCommand}) {
  CAPTURE(static_cast<int>(via));
  std::string dir = Dir();
  std::string path = dir + "/database.yml";
  const std::string before = "production:\n  host: 192.168.178.61  # a long old line\n  port: 3306\n";
  std::ofstream(path, std::ios::binary) << before;
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  REQUIRE(::chown(path.c_str(), 0, 4) == 0);  // group adm: something to keep

  const std::string after = "production:\n  host: 10.0.0.1\n";
  Write(*ssh, path, after, via);
  // The fast way is SFTP's (the file is a regular one), with the command only for the rename.
  if (via == Via::kAtomicWrite) CHECK(ssh->sftp_active());
  CHECK(lab::ReadFile(path) == after);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_gid == 4u);
  CHECK(lab::ReadFile(path + ".replplan.bak") == before);
  CHECK(Leftovers(dir) == 0);

  // Bytes a shell could mangle: no trailing newline, a NUL, quotes, a backslash, $(...).
  const std::string odd = std::string("a'b\"c\\d\0e", 9) + "$(echo x)";
  Write(*ssh, path, odd, via);
  CHECK(lab::ReadFile(path) == odd);
  CHECK(lab::ReadFile(path + ".replplan.bak") == after);
  CHECK(Leftovers(dir) == 0);
  // A mode with more bits than a umask lets through, and another owner, kept exactly.
  REQUIRE(::chmod(path.c_str(), 0664) == 0);
  REQUIRE(::chown(path.c_str(), 1, 1) == 0);  // daemon:daemon
  Write(*ssh, path, after, via);
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0664);
  CHECK(st.st_uid == 1u);
  CHECK(st.st_gid == 1u);
  CHECK(lab::ReadFile(path) == after);
  CHECK(Leftovers(dir) == 0);
  }
}

TEST_CASE("a missing file is created 0644 with no backup; a symlink is followed, not replaced") {
  lab::Reset(1);
  auto ssh = Session();
  for (Via via : {Via::kAtomicWrite, Via::kCommand}) {
  CAPTURE(static_cast<int>(via));
  std::string dir = Dir();
  std::string created = dir + "/new.cnf";
  Write(*ssh, created, "[mysqld]\n", via);
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
  Write(*ssh, link, "[mysqld]\nserver_id = 2\n", via);
  CHECK(fs::is_symlink(link));
  CHECK(lab::ReadFile(target) == "[mysqld]\nserver_id = 2\n");
  CHECK(lab::ReadFile(target + ".replplan.bak") == "[mysqld]\n");
  CHECK(Leftovers(dir) == 0);
  CHECK(Leftovers(dir + "/alternatives") == 0);
  }
}

TEST_CASE("a write that cannot happen says why, changes nothing and leaves no temp file") {
  lab::Reset(1);
  auto ssh = Session();
  for (Via via : {Via::kAtomicWrite, Via::kCommand}) {
    CAPTURE(static_cast<int>(via));
    std::string dir = Dir();
    // A directory where the file should be: neither way may replace it.
    std::string taken = dir + "/database.yml";
    fs::create_directories(taken + "/inside");
    replplan::Status written = TryWrite(*ssh, taken, "production:\n", via);
    CHECK_FALSE(written.ok());
    CHECK(written.code() == replplan::Status::Code::kInternal);
    CHECK_MESSAGE(written.message().find("database.yml") != std::string::npos, written.message());
    CHECK(fs::is_directory(taken + "/inside"));
    CHECK(Leftovers(dir) == 0);

    // A regular file in a directory nobody may write to: the temp file cannot be made beside it.
    std::string locked_dir = dir + "/locked";
    fs::create_directories(locked_dir);
    std::string file = locked_dir + "/database.yml";
    std::ofstream(file, std::ios::binary) << "production:\n  host: old\n";
    // root ignores directory modes, so the directory is made immutable instead where the
    // filesystem allows it; elsewhere this half of the test has nothing to prove.
    if (lab::Run({"chattr", "+i", locked_dir}).exit_code == 0) {
      replplan::Status refused = TryWrite(*ssh, file, "production:\n  host: new\n", via);
      lab::Run({"chattr", "-i", locked_dir});
      CHECK_FALSE(refused.ok());
      CHECK(lab::ReadFile(file) == "production:\n  host: old\n");
      CHECK(Leftovers(locked_dir) == 0);
    }
  }
}
