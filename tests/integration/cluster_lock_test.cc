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
    pause();  // hold it until killed
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
