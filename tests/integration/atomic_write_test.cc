// AtomicWrite and AtomicWriteCommand (providers/ssh/atomic_write.h) run over real SSH on a lab
// host, each test both ways (the SFTP-assisted write, and the one command a server without SFTP
// gets): the exact new bytes (a shorter file leaves no tail of the old one), owner and mode kept,
// the previous content in <file>.replplan.bak, no temp file left, a symlink followed, a new file
// created 0644, a path that needs quoting, and a write that cannot happen; a file replplan alone
// owns (the app restart marker) is never written through a symlink, and always 0600; and no other
// user can open the temp file while it is written (watched for, as `nobody`, with inotify).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
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

replplan::Status TryWrite(replplan::SshSession& ssh, const std::string& path, const std::string& text, Via via,
                          const replplan::AtomicWriteOptions& options = {}) {
  if (via == Via::kAtomicWrite) return replplan::AtomicWrite(ssh, path, text, options);
  auto run = ssh.Run(replplan::AtomicWriteCommand(path, options), text);
  if (!run.ok()) return run.status();
  return run->exit_status == 0 ? replplan::Status::OK() : replplan::Status::Internal(run->err);
}

void Write(replplan::SshSession& ssh, const std::string& path, const std::string& text, Via via,
           const replplan::AtomicWriteOptions& options = {}) {
  replplan::Status written = TryWrite(ssh, path, text, via, options);
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

namespace {

// What a local user who is not root saw of the temp files in a directory while it was watched.
struct Watched {
  int created = 0;       // temp files (".replplan.", not the backup) created while watched
  int opened = 0;        // of them, how many it could open for reading
  std::string leaked;    // what it read through those descriptors once the write was done
};

// A child process, as `nobody`, that opens every temp file the moment inotify reports it, keeps
// what it could open, and reads it once `during` (run by the parent) is over: the audit's attack.
template <typename Fn>
Watched WatchAsNobody(const std::string& dir, Fn during) {
  int ready[2], done[2], report[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(done) == 0);
  REQUIRE(::pipe(report) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    ::close(done[1]);
    ::close(report[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    int in = ::inotify_init1(IN_NONBLOCK);
    if (in < 0 || ::inotify_add_watch(in, dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) ::_exit(3);
    (void)!::write(ready[1], "r", 1);
    int created = 0;
    std::vector<int> fds;
    for (;;) {
      pollfd waits[2] = {{in, POLLIN, 0}, {done[0], POLLIN, 0}};
      ::poll(waits, 2, 5000);
      alignas(inotify_event) char buffer[8192];
      ssize_t n = ::read(in, buffer, sizeof buffer);
      for (ssize_t off = 0; n > 0 && off < n;) {
        auto* event = reinterpret_cast<inotify_event*>(buffer + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        std::string name = event->len > 0 ? event->name : "";
        if (!(event->mask & IN_CREATE) || name.find(".replplan.") == std::string::npos ||
            name.find(".bak") != std::string::npos) {
          continue;
        }
        ++created;
        // Tried until it opens or is gone: its mode may be open for a moment only.
        std::string path = dir + "/" + name;
        for (int attempt = 0; attempt < 20000; ++attempt) {
          int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
          if (fd >= 0) {
            fds.push_back(fd);
            break;
          }
          if (errno == ENOENT) break;
        }
      }
      if (waits[1].revents != 0) break;
    }
    std::string out = std::to_string(created) + " " + std::to_string(fds.size()) + "\n";
    for (int fd : fds) {
      char text[4096];
      ssize_t got = ::pread(fd, text, sizeof text, 0);
      if (got > 0) out.append(text, static_cast<size_t>(got));
    }
    (void)!::write(report[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(done[0]);
  ::close(report[1]);
  char byte;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  during();
  ::close(done[1]);
  std::string out;
  char chunk[4096];
  for (ssize_t n; (n = ::read(report[0], chunk, sizeof chunk)) > 0;) out.append(chunk, static_cast<size_t>(n));
  ::close(ready[0]);
  ::close(report[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), "the watcher failed: " << status);
  Watched watched;
  size_t nl = out.find('\n');
  REQUIRE(nl != std::string::npos);
  REQUIRE(std::sscanf(out.c_str(), "%d %d", &watched.created, &watched.opened) == 2);
  watched.leaked = out.substr(nl + 1);
  return watched;
}

}  // namespace

TEST_CASE("nobody else can open the temp file while a 0600 file is written, under umask 022") {
  lab::Reset(1);
  auto ssh = Session();
  // The directory must be one `nobody` can watch: the lab's own is root's alone.
  std::string dir = "/tmp/replplan-atomic-write-" + lab::Net();
  fs::remove_all(dir);
  fs::create_directories(dir);
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  std::string path = dir + "/my.cnf";
  const std::string secret = "password = " + lab::SecretValue("admin.pw") + "\n";
  // The SSH user's umask is sshd's default, 022: the old command's temp file was 0644 until cp -p.
  CHECK(lab::Ssh("mercury", "umask").out.find("0022") != std::string::npos);
  for (Via via : {Via::kAtomicWrite, Via::kCommand}) {
    CAPTURE(static_cast<int>(via));
    std::ofstream(path, std::ios::binary) << "[client]\n";
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    int written = 0;
    Watched watched = WatchAsNobody(dir, [&] {
      for (int round = 0; round < 5; ++round, ++written) Write(*ssh, path, "[client]\n" + secret, via);
    });
    CHECK(watched.created == written);  // it saw every temp file: the check below is not vacuous
    CHECK_MESSAGE(watched.opened == 0, watched.opened << " of " << watched.created << " temp files opened");
    CHECK_MESSAGE(watched.leaked.find(lab::SecretValue("admin.pw")) == std::string::npos, "nobody read the password");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(lab::ReadFile(path) == "[client]\n" + secret);
  }
  fs::remove_all(dir);
}

TEST_CASE("a file replplan alone owns: 0600 and the SSH user's, no backup, never written through a symlink") {
  lab::Reset(1);
  auto ssh = Session();
  const replplan::AtomicWriteOptions own = {
      .follow_symlink = false, .keep_owner_and_mode = false, .new_mode = 0600, .backup = false};
  for (Via via : {Via::kAtomicWrite, Via::kCommand}) {
    CAPTURE(static_cast<int>(via));
    std::string dir = Dir();
    std::string path = dir + "/owned.state";
    Write(*ssh, path, "first\n", via, own);
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_uid == 0u);
    // An existing one of another owner and mode (the app's user made it) is replaced, not kept.
    REQUIRE(::chmod(path.c_str(), 0666) == 0);
    REQUIRE(::chown(path.c_str(), 1, 1) == 0);
    Write(*ssh, path, "second\n", via, own);
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_uid == 0u);
    CHECK(lab::ReadFile(path) == "second\n");
    CHECK_FALSE(fs::exists(path + ".replplan.bak"));

    // A symlink planted at the name, to a root-owned file outside: refused, the file untouched.
    std::string victim = lab::Dir() + "/tmp/victim-" + std::to_string(static_cast<int>(via));
    std::ofstream(victim, std::ios::binary) << "precious\n";
    REQUIRE(::chmod(victim.c_str(), 0644) == 0);
    fs::remove(path);
    fs::create_symlink(victim, path);
    replplan::Status refused = TryWrite(*ssh, path, "third\n", via, own);
    CHECK_FALSE(refused.ok());
    CHECK_MESSAGE(refused.message().find("is not a regular file") != std::string::npos, refused.message());
    CHECK(lab::ReadFile(victim) == "precious\n");
    CHECK(fs::is_symlink(path));
    // So is one to a file that does not exist yet (it would be created where the link says).
    fs::remove(path);
    fs::create_symlink(dir + "/elsewhere", path);
    CHECK_FALSE(TryWrite(*ssh, path, "third\n", via, own).ok());
    CHECK_FALSE(fs::exists(dir + "/elsewhere"));
    CHECK(Leftovers(dir) == 0);
    fs::remove(victim);
  }
}
