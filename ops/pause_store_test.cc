#include "ops/pause_store.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <fstream>

#include "providers/testing/fake_kv_store.h"

namespace replplan::ops {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/replplan_pause_store_test.XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST_CASE("the pause file lives beside the topology file, or in the state directory under its name") {
  CHECK(PauseFilePath("/etc/replplan/main.toml", "") == "/etc/replplan/main.toml.pause");
  CHECK(PauseFilePath("/etc/replplan/main.toml", "/var/lib/replplan") == "/var/lib/replplan/main.toml.pause");
  CHECK(PauseFilePath("main.toml", "/var/lib/replplan/") == "/var/lib/replplan/main.toml.pause");
}

TEST_CASE("no record is not paused; a record written is read back whole, mode 0600") {
  TempDir dir;
  LocalPauseStore store(dir.path + "/main.toml.pause");
  auto none = store.Read();
  REQUIRE(none.ok());
  CHECK_FALSE(none->paused);
  PauseState state{true, "kernel upgrade on mercury", "root@ops1 (pid 7)", "2026-12-07T03:12:49Z"};
  REQUIRE(store.Write(state).ok());
  auto back = store.Read();
  REQUIRE(back.ok());
  CHECK(*back == state);
  struct stat st {};
  REQUIRE(::stat(store.Where().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("a record root creates is owned like the topology file (the watcher's user must read it)") {
  if (::geteuid() != 0) {
    MESSAGE("not root: a record is the writer's own, nothing to give");
    return;
  }
  TempDir dir;
  const std::string topology = dir.path + "/main.toml";
  std::ofstream(topology) << "# the service's file\n";
  REQUIRE(::chown(topology.c_str(), 65534, 65534) == 0);
  LocalPauseStore store(dir.path + "/main.toml.pause", topology);
  REQUIRE(store.Write({true, "upgrade", "root@ops1 (pid 7)", "2026-12-07T04:00:00Z"}).ok());
  struct stat st {};
  REQUIRE(::stat(store.Where().c_str(), &st) == 0);
  CHECK(st.st_uid == 65534);
  CHECK(st.st_gid == 65534);
  CHECK((st.st_mode & 07777) == 0600);
  // Rewritten (resume): the owner it has is kept.
  REQUIRE(store.Write({false, "", "root@ops1 (pid 8)", "2026-12-07T04:10:00Z"}).ok());
  REQUIRE(::stat(store.Where().c_str(), &st) == 0);
  CHECK(st.st_uid == 65534);
}

TEST_CASE("a record that is not one is an error naming the file and the fix") {
  auto bad = ParsePauseState("{\"paused\": \"yes\"}", "/x.pause");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "/x.pause: not a pause record (\"paused\" is not true or false); write it again with `replplan watch pause` "
        "or `replplan watch resume`");
  CHECK_FALSE(ParsePauseState("not json", "/x.pause").ok());
}

TEST_CASE("the watcher's reading reports each change once; an unreadable record counts as paused") {
  TempDir dir;
  LocalPauseStore store(dir.path + "/c.toml.pause");
  PauseWatch watch(&store);
  auto first = watch.Read();
  CHECK_FALSE(first.paused);
  CHECK_FALSE(first.change.has_value());  // never paused: nothing to say
  REQUIRE(store.Write({true, "upgrade", "ops@a (pid 1)", "2026-12-07T03:00:00Z"}).ok());
  auto paused = watch.Read();
  CHECK(paused.paused);
  REQUIRE(paused.change.has_value());
  CHECK(paused.change->event == "paused");
  CHECK(paused.change->message.find("(upgrade)") != std::string::npos);
  CHECK_FALSE(watch.Read().change.has_value());  // once
  std::ofstream(store.Where()) << "garbage";
  auto garbled = watch.Read();
  CHECK(garbled.paused);
  REQUIRE(garbled.change.has_value());
  CHECK(garbled.change->event == "pause-unreadable");
  CHECK_FALSE(watch.Read().change.has_value());
  REQUIRE(store.Write({false, "", "ops@a (pid 2)", "2026-12-07T04:00:00Z"}).ok());
  auto resumed = watch.Read();
  CHECK_FALSE(resumed.paused);
  REQUIRE(resumed.change.has_value());
  CHECK(resumed.change->event == "resumed");
}

// The record in etcd: two watchers' stores over one etcd (as two machines), one writes, the other reads.
TEST_CASE("the pause in etcd: written through one watcher's store, read by another's; the key under the prefix; "
          "etcd away is an error kept for the retry time, then asked again") {
  replplan::testing::FakeKvStore etcd;
  KvPauseStore here(etcd, "/replplan/lab/pause", std::chrono::milliseconds(200));
  KvPauseStore there(etcd, "/replplan/lab/pause", std::chrono::milliseconds(200));
  auto none = there.Read();
  REQUIRE(none.ok());
  CHECK_FALSE(none->paused);
  const PauseState paused{true, "kernel upgrade", "ops@a (pid 1)", "2026-12-07T03:00:00Z"};
  REQUIRE(here.Write(paused).ok());
  auto read = there.Read();
  REQUIRE(read.ok());
  CHECK(*read == paused);
  CHECK(ParsePauseState(etcd.Value("/replplan/lab/pause"), "etcd").value() == paused);
  CHECK(there.Where() == etcd.Describe() + ", key /replplan/lab/pause");
  PauseWatch watch(&there);
  CHECK(watch.Read().paused);

  etcd.down = true;
  const long before = etcd.calls;
  auto away = there.Read();
  CHECK(away.status().code() == Status::Code::kUnavailable);
  CHECK(away.status().message().find("cannot read the pause record (" + there.Where() + ")") != std::string::npos);
  CHECK_FALSE(there.Read().ok());
  CHECK(etcd.calls == before + 1);  // the second read within the retry time did not ask
  CHECK(watch.Read().paused);       // unreadable counts as paused
  CHECK_FALSE(here.Write(paused).ok());
  etcd.down = false;
  {
    // A watcher that never saw a pause, etcd away then back: the record readable again, no pause.
    replplan::testing::FakeKvStore other;
    KvPauseStore record(other, "/replplan/other/pause", std::chrono::milliseconds(0));
    PauseWatch fresh(&record);
    other.down = true;
    CHECK(fresh.Read().change->event == "pause-unreadable");
    other.down = false;
    auto back = fresh.Read();
    CHECK_FALSE(back.paused);
    REQUIRE(back.change.has_value());
    CHECK(back.change->event == "resumed");
    CHECK(back.change->message == "the pause record can be read again (the fake etcd, key /replplan/other/pause): "
                                  "not paused; failing over again when the primary is lost");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  REQUIRE(here.Write({false, "", "ops@b (pid 2)", "2026-12-07T04:00:00Z"}).ok());
  auto resumed = there.Read();
  REQUIRE(resumed.ok());
  CHECK_FALSE(resumed->paused);
  CHECK(resumed->by == "ops@b (pid 2)");
}

TEST_CASE("the pause in etcd, read again within its freshness: the last answer stands, etcd is not asked; "
          "asked again after it, and after a write through the same store") {
  replplan::testing::FakeKvStore etcd;
  KvPauseStore watcher(etcd, "/replplan/lab/pause", std::chrono::seconds(1), std::chrono::milliseconds(300));
  KvPauseStore operator_(etcd, "/replplan/lab/pause");
  REQUIRE_FALSE(watcher.Read().value().paused);
  const long asked = etcd.calls;
  REQUIRE(operator_.Write({true, "kernel upgrade", "ops@a (pid 1)", "2026-12-07T03:00:00Z"}).ok());
  const long written = etcd.calls;
  CHECK(written == asked + 1);
  CHECK_FALSE(watcher.Read().value().paused);  // within 300 ms of the last answer: that answer
  CHECK(etcd.calls == written);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  CHECK(watcher.Read().value().paused);  // asked again
  CHECK(etcd.calls == written + 1);
  REQUIRE(watcher.Write({false, "", "ops@b (pid 2)", "2026-12-07T04:00:00Z"}).ok());
  CHECK_FALSE(watcher.Read().value().paused);  // its own write forgets the last answer
  CHECK(etcd.calls == written + 3);
}

}  // namespace
}  // namespace replplan::ops
