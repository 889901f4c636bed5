// The apply lock: one holder at a time, the others told who holds it, and released by the kernel
// when its holder dies without a word (kill -9); never taken through a planted symlink or in a
// directory others can write.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "integration/lab_client.h"
#include "providers/cluster_lock.h"
#include "providers/connect_options.h"
#include "providers/session_pool.h"

TEST_CASE("a second holder is refused and told who holds the lock; after release it can take it") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  auto first = replplan::AcquireClusterLock(topology, "replplan apply by tester@lab (pid 1) since now");
  REQUIRE_MESSAGE(first.ok(), first.status().message());

  auto second = replplan::AcquireClusterLock(topology, "second");
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().message() ==
        "cluster lab is locked by replplan apply by tester@lab (pid 1) since now (" + topology.cluster.lock_file +
            " on mercury); wait for it to finish");

  first.value().reset();  // released
  auto third = replplan::AcquireClusterLock(topology, "third");
  CHECK_MESSAGE(third.ok(), third.status().message());
}

TEST_CASE("a holder killed with -9 releases the lock") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto lock = replplan::AcquireClusterLock(topology, "doomed");
    char byte = lock.ok() ? 'y' : 'n';
    (void)!write(ready[1], &byte, 1);
    alarm(60);  // hold it until killed, and not forever if the test stops before it kills
    pause();
    _exit(0);
  }
  char byte = 0;
  REQUIRE(read(ready[0], &byte, 1) == 1);
  REQUIRE(byte == 'y');
  CHECK_FALSE(replplan::AcquireClusterLock(topology, "waiting").ok());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  // sshd notices the closed connection and the holder's cat sees EOF: quickly, but not instantly.
  bool taken = false;
  for (int i = 0; i < 100 && !taken; ++i) {
    taken = replplan::AcquireClusterLock(topology, "after").ok();
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(taken);
}

TEST_CASE("an unreachable primary cannot be locked, with the reason") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  topology.servers[0].address = lab::Net() + ".99";
  auto lock = replplan::AcquireClusterLock(topology, "x");
  REQUIRE_FALSE(lock.ok());
  CHECK(lock.status().message().find("cannot lock cluster lab") != std::string::npos);
}

TEST_CASE("a standby holder locks nothing while it waits, then locks with one line: exclusive, named, released") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  replplan::SessionPool pool;
  REQUIRE(replplan::KeepStandbyLocks(topology, pool) == 2);  // one per server
  CHECK(replplan::KeepStandbyLocks(topology, pool) == 0);    // kept, not started again

  // Standing by is not holding: anyone else can still take and release the lock.
  {
    auto other = replplan::AcquireClusterLock(topology, "an apply meanwhile");
    REQUIRE_MESSAGE(other.ok(), other.status().message());
  }

  const auto before = pool.stats();
  auto lock = replplan::AcquireClusterLock(topology, "the failover\nwith a newline", &pool);
  REQUIRE_MESSAGE(lock.ok(), lock.status().message());
  // Taken by the standby: no session borrowed or opened for it.
  CHECK(pool.stats().ssh_opened == before.ssh_opened);
  CHECK(pool.stats().ssh_lent == before.ssh_lent);
  CHECK_FALSE(pool.HasStarted(replplan::SshOptionsFor(topology.servers[0]),
                              "cluster lock standby " + topology.cluster.lock_file));

  auto second = replplan::AcquireClusterLock(topology, "second");
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == replplan::Status::Code::kFailedPrecondition);
  CHECK_MESSAGE(second.status().message().find("locked by the failover with a newline (") != std::string::npos,
                second.status().message());

  lock.value().reset();
  auto third = replplan::AcquireClusterLock(topology, "third");
  CHECK_MESSAGE(third.ok(), third.status().message());
}

TEST_CASE("a standby holder that died is not trusted: the lock is taken afresh, and really held") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  replplan::SessionPool pool;
  REQUIRE(replplan::KeepStandbyLocks(topology, pool) == 2);
  // Its remote shell killed under it (the session stays up): the pool cannot see that without a
  // round trip; the lock must notice that it answers nothing and start a holder of its own.
  auto killed = lab::Lab({"pkill", "KILL", "IFS= read -r owner"});
  REQUIRE(killed.exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  auto lock = replplan::AcquireClusterLock(topology, "after the standby died", &pool);
  REQUIRE_MESSAGE(lock.ok(), lock.status().message());
  auto second = replplan::AcquireClusterLock(topology, "second");
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().message().find("after the standby died") != std::string::npos);
}

TEST_CASE("standby holders end, without locking, when their connection closes") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  {
    replplan::SessionPool pool;
    REQUIRE(replplan::KeepStandbyLocks(topology, pool) == 2);
    REQUIRE(lab::Lab({"pgrep", "IFS= read -r owner"}).exit_code == 0);
  }  // the pool and its sessions are gone
  CHECK(lab::WaitFor([] { return lab::Lab({"pgrep", "IFS= read -r owner"}).exit_code != 0; },
                     std::chrono::seconds(5)));
  auto lock = replplan::AcquireClusterLock(topology, "free");
  CHECK_MESSAGE(lock.ok(), lock.status().message());
}

TEST_CASE("a server that cannot be reached gets no standby holder; the others do") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  topology.servers[1].address = lab::Net() + ".99";  // nothing listens there
  replplan::SessionPool pool;
  CHECK(replplan::KeepStandbyLocks(topology, pool) == 1);
  CHECK(pool.HasStarted(replplan::SshOptionsFor(topology.servers[0]), "cluster lock standby " + topology.cluster.lock_file));
  CHECK_FALSE(pool.HasStarted(replplan::SshOptionsFor(topology.servers[1]), "cluster lock standby " + topology.cluster.lock_file));
}

// Audit finding 16: the lock lived in the world-writable /run/lock, where any local user could plant
// a symlink (root then wrote through it) or hold the file to block every apply and failover.

namespace {

std::string Mode(const std::string& path) {
  struct stat info {};
  if (lstat(path.c_str(), &info) != 0) return "missing";
  char text[8];
  snprintf(text, sizeof(text), "%o", info.st_mode & 07777);
  return text;
}

}  // namespace

TEST_CASE("a symlink planted at the lock file or its owner file is refused, and its target is untouched") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  const std::string lock = topology.cluster.lock_file;
  const std::string precious = lab::WriteFile("precious", "precious\n");
  const std::string absent = lab::Dir() + "/tmp/created-through-link";

  for (const std::string& planted : {lock, lock + ".owner"}) {
    for (const std::string& target : {precious, absent}) {
      CAPTURE(planted);
      CAPTURE(target);
      std::filesystem::remove(lock);
      std::filesystem::remove(lock + ".owner");
      std::filesystem::remove(absent);
      std::filesystem::create_symlink(target, planted);
      auto taken = replplan::AcquireClusterLock(topology, "replplan apply by tester");
      CHECK_FALSE(taken.ok());
      if (!taken.ok()) {
        CHECK(taken.status().message().find(" is a symlink") != std::string::npos);
        CHECK(taken.status().message().find("nothing was written through it") != std::string::npos);
      }
      taken = replplan::Status::Internal("released");
      CHECK(lab::ReadFile(precious) == "precious\n");
      CHECK_FALSE(std::filesystem::exists(absent));
      std::filesystem::remove(planted);
    }
  }
  // With the links gone, the lock is taken as before.
  auto taken = replplan::AcquireClusterLock(topology, "replplan apply by tester");
  CHECK_MESSAGE(taken.ok(), taken.status().message());
}

TEST_CASE("the lock directory is created 0700 when missing, and refused when others can write it or it is a link") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  const std::string dir = lab::Dir() + "/tmp/lock-dir";
  std::filesystem::remove_all(dir);
  topology.cluster.lock_file = dir + "/lab.lock";
  {
    auto taken = replplan::AcquireClusterLock(topology, "first");
    REQUIRE_MESSAGE(taken.ok(), taken.status().message());
    CHECK(Mode(dir) == "700");
    CHECK(Mode(topology.cluster.lock_file) != "missing");
  }

  // World-writable, like /run/lock (sticky or not): refused, with the fix.
  for (const char* mode : {"777", "1777", "770"}) {
    CAPTURE(mode);
    REQUIRE(lab::Run({"chmod", mode, dir}).exit_code == 0);
    auto taken = replplan::AcquireClusterLock(topology, "second");
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.status().message().find("the lock directory " + dir + " (owner uid 0, mode " + mode +
                                        ") must belong to uid 0 and be writable by no one else: chown 0 " + dir +
                                        "; chmod 700 " + dir) != std::string::npos);
  }
  REQUIRE(lab::Run({"chmod", "755", dir}).exit_code == 0);  // others may read, not write: fine
  CHECK(replplan::AcquireClusterLock(topology, "third").ok());

  // A symlink to a directory is refused too.
  const std::string link = lab::Dir() + "/tmp/lock-dir-link";
  std::filesystem::remove(link);
  std::filesystem::create_directory_symlink(dir, link);
  topology.cluster.lock_file = link + "/lab.lock";
  auto through_link = replplan::AcquireClusterLock(topology, "fourth");
  REQUIRE_FALSE(through_link.ok());
  CHECK(through_link.status().message().find("the lock directory " + link + " is a symlink or not a directory") !=
        std::string::npos);
  std::filesystem::remove(link);
}

namespace {

// Bytes this machine has sent on its TCP connections to `address`:2222 (ss -tni), summed.
long long BytesSentTo(const std::string& address) {
  auto ss = lab::Run({"ss", "-tniH", "dst", address + ":2222"});
  long long total = 0;
  for (size_t at = ss.out.find("bytes_sent:"); at != std::string::npos; at = ss.out.find("bytes_sent:", at + 1)) {
    total += std::stoll(ss.out.substr(at + 11));
  }
  return total;
}

}  // namespace

TEST_CASE("a held lock's session sends SSH keepalives while the apply is otherwise silent on it") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  auto lock = replplan::AcquireClusterLock(topology, "keepalive");
  REQUIRE_MESSAGE(lock.ok(), lock.status().message());
  const long long before = BytesSentTo(lab::Address("mercury"));
  REQUIRE(before > 0);  // the lock's connection is the only one to mercury's sshd
  std::this_thread::sleep_for(std::chrono::seconds(16));  // one keepalive interval, and a margin
  CHECK(BytesSentTo(lab::Address("mercury")) > before);
}

TEST_CASE("moving the primary locks both primaries once; a shared lock file held by this owner is ours") {
  lab::Reset(2);
  replplan::Topology old_file = lab::LoadTopology();
  replplan::Topology new_file = old_file;
  new_file.cluster.primary = "uranus";
  const std::string owner = "replplan switchover by tester@lab (pid 2)";

  // The lab's servers share one machine, so one lock file: the second primary's holder answers that
  // this owner has it, and that is no error.
  replplan::ClusterLocks held;
  replplan::Status locked = replplan::AcquireClusterLocks(held, {&old_file, &new_file}, owner);
  REQUIRE_MESSAGE(locked.ok(), locked.message());
  REQUIRE(held.size() == 1);
  CHECK(held[0].primary == "mercury");
  // Asked again (as apply does for the live primary, after planning): nothing more is taken.
  locked = replplan::AcquireClusterLocks(held, {&old_file}, owner);
  CHECK_MESSAGE(locked.ok(), locked.message());
  CHECK(held.size() == 1);

  auto other = replplan::AcquireClusterLock(new_file, "another apply");
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message() == "cluster lab is locked by " + owner + " (" + old_file.cluster.lock_file +
                                        " on uranus); wait for it to finish");

  // "Ours" is the holder's answer naming exactly this owner, never the owner's text found somewhere
  // in a refusal: an owner whose description is a part of the holder's is refused, word for word.
  replplan::ClusterLocks partial;
  partial.push_back({"nobody", "/nowhere", nullptr});  // as if a lock were held already
  replplan::Status refused = replplan::AcquireClusterLocks(partial, {&new_file}, "replplan switchover by tester@lab");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == replplan::Status::Code::kFailedPrecondition);
  CHECK(refused.message() == "cluster lab is locked by " + owner + " (" + old_file.cluster.lock_file +
                                 " on uranus); wait for it to finish");
  // With nothing held yet, this owner's own lock elsewhere is a refusal too (another run of it).
  replplan::ClusterLocks none;
  replplan::Status again = replplan::AcquireClusterLocks(none, {&new_file}, owner);
  CHECK_FALSE(again.ok());
  CHECK(none.empty());

  held.clear();  // released
  replplan::ClusterLocks after;
  locked = replplan::AcquireClusterLocks(after, {&new_file, &old_file}, "third");
  CHECK_MESSAGE(locked.ok(), locked.message());
  CHECK(after.size() == 1);
  CHECK(after[0].primary == "uranus");
}
