// The watcher's warm connections (providers/session_pool.h) on the real lab: a connection given
// back is lent again instead of a new one, one its server closed is never lent, and the readers,
// the lock and the executor borrow from the pool and give back.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "integration/lab_client.h"
#include "providers/cluster_lock.h"
#include "providers/connect_options.h"
#include "providers/failover_facts.h"
#include "providers/live_executor.h"
#include "providers/provider.h"
#include "providers/session_pool.h"
#include "providers/ssh/ssh_session.h"
#include "providers/state_reader.h"

namespace {

using namespace std::chrono_literals;
using replplan::SessionPool;

const replplan::ServerSpec& Server(const replplan::Topology& topology, const std::string& name) {
  const replplan::ServerSpec* spec = topology.FindServer(name);
  REQUIRE(spec != nullptr);
  return *spec;
}

std::string ConnectionId(replplan::MysqlConnection& c) {
  auto rows = c.Query("SELECT CONNECTION_ID() AS id");
  REQUIRE_MESSAGE(rows.ok(), rows.status().message());
  return rows->front().at("id");
}

}  // namespace

TEST_CASE("an SQL connection given back is lent again; one its server closed is dropped, not lent") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  auto options = replplan::MysqlOptionsFor(Server(topology, "mercury"));
  REQUIRE(options.ok());
  SessionPool pool;

  auto first = pool.Sql(*options);
  REQUIRE_MESSAGE(first.ok(), first.status().message());
  std::string id = ConnectionId(**first);
  pool.Return(std::move(*first));
  CHECK(pool.idle_sql() == 1);

  auto again = pool.Sql(*options);
  REQUIRE(again.ok());
  CHECK(ConnectionId(**again) == id);  // the same server-side session: nothing was opened
  CHECK(pool.stats().sql_lent == 1);
  CHECK(pool.stats().sql_opened == 1);
  pool.Return(std::move(*again));

  // The server ends that session (as wait_timeout or a restart would): it must not be lent.
  lab::SqlValue("mercury", "KILL " + id);
  std::this_thread::sleep_for(300ms);  // the FIN crosses loopback (a loaded machine may be slow)
  auto fresh = pool.Sql(*options);
  REQUIRE_MESSAGE(fresh.ok(), fresh.status().message());
  CHECK(ConnectionId(**fresh) != id);
  CHECK(pool.stats().dropped == 1);
  CHECK(pool.stats().sql_opened == 2);

  // Other timeouts are another key: never lent a connection made with different ones.
  pool.Return(std::move(*fresh));
  replplan::MysqlOptions shorter = *options;
  shorter.read_timeout_ms = 1000;
  auto other = pool.Sql(shorter);
  REQUIRE(other.ok());
  CHECK(pool.stats().sql_opened == 3);
  CHECK(pool.idle_sql() == 1);
}

TEST_CASE("an SSH session given back is lent again; one whose sshd went away is dropped") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  replplan::SshOptions options = replplan::SshOptionsFor(Server(topology, "uranus"));
  SessionPool pool;

  auto first = pool.Ssh(options);
  REQUIRE_MESSAGE(first.ok(), first.status().message());
  pool.Return(std::move(*first));
  options.command_timeout_ms = 1234;
  auto again = pool.Ssh(options);
  REQUIRE(again.ok());
  CHECK(pool.stats().ssh_lent == 1);
  CHECK(pool.stats().ssh_opened == 1);
  CHECK((*again)->options().command_timeout_ms == 1234);  // the borrower's bound, not the lender's

  // End the session's sshd process from inside (as a restarted sshd or a rebooted host would).
  auto killed = (*again)->Run("kill -9 $PPID");
  (void)killed;  // the channel dies with them
  pool.Return(std::move(*again));
  std::this_thread::sleep_for(300ms);
  auto fresh = pool.Ssh(options);
  REQUIRE_MESSAGE(fresh.ok(), fresh.status().message());
  auto echo = (*fresh)->Run("echo alive");
  REQUIRE_MESSAGE(echo.ok(), echo.status().message());
  CHECK(echo->out == "alive\n");
  CHECK(pool.stats().dropped == 1);
  CHECK(pool.stats().ssh_opened == 2);
}

TEST_CASE("Warm opens what is missing once; readers, lock, facts and executor then open nothing") {
  lab::Reset(2);
  replplan::Topology topology = lab::LoadTopology();
  SessionPool pool;
  CHECK(pool.Warm(topology, 2) == 6);  // per server: 1 SQL + 2 SSH
  CHECK(pool.Warm(topology, 2) == 0);
  CHECK(pool.idle_sql() == 2);
  CHECK(pool.idle_ssh() == 4);
  {  // warmed with their SFTP channel: a failover's first file read starts no process on the server
    auto session = pool.Ssh(replplan::SshOptionsFor(topology.servers[0]));
    REQUIRE(session.ok());
    CHECK((*session)->sftp_active());
    pool.Return(std::move(*session));
  }

  {
    auto lock = replplan::AcquireClusterLock(topology, "pool test", &pool);
    REQUIRE_MESSAGE(lock.ok(), lock.status().message());
    auto provider = replplan::MakeLiveProvider(&pool);
    replplan::LiveState live = replplan::ReadLiveState(topology, *provider, 10);
    for (const auto& [name, server] : live.servers) {
      INFO(name << ": " << server.sql_error << " / " << server.ssh_error);
      CHECK(server.sql_ok);
      CHECK(server.ssh_ok);
    }
    replplan::FailoverFacts facts = replplan::CollectFailoverFacts(topology, &pool);
    CHECK(facts.primary_reachable);
    CHECK(facts.replica_errors.empty());
    auto executor = replplan::MakeLiveExecutor(topology, &pool);
    replplan::Action noop;  // read_only=OFF, as a fresh server already has it
    replplan::SetGlobalArgs read_only_off;
    read_only_off.read_only = false;
    noop.SetArgs(read_only_off);
    noop.host = "uranus";
    noop.id = "uranus/set-global";
    replplan::Status st = executor->Execute(noop, [](const std::string&) {});
    CHECK_MESSAGE(st.ok(), st.message());
  }
  CHECK(pool.stats().sql_opened == 0);
  CHECK(pool.stats().ssh_opened == 0);
  CHECK(pool.stats().ssh_lent >= 3);  // the lock, and each server's file read
  // All given back: the lock's session too, once released.
  CHECK(pool.idle_sql() == 2);
  CHECK(pool.idle_ssh() == 4);
}
