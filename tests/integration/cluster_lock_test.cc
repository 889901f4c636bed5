// The apply lock: one holder at a time, the others told who holds it, and released by the kernel
// when its holder dies without a word (kill -9).
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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
