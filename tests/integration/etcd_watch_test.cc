// Several `watch`es on a real etcd (tests/lab/etcd.sh, one member on the lab's net) over the real
// lab: one leads, only it fails over, once per loss, journaled in etcd; every watcher keeps its own
// copy of the topology file, rewritten from etcd (ops/coordination.h). Each test uses a key prefix
// of its own, so what an earlier one left in etcd is never read.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/app_client.h"
#include "integration/lab_client.h"

namespace {

using namespace std::chrono_literals;
using lab::app::Clock;

const std::string kEtcdScript = std::string(REPLPLAN_SOURCE_DIR) + "/tests/lab/etcd.sh";

std::string Endpoint() { return "http://" + lab::Net() + ".50:2379"; }

lab::CommandResult Etcd(const std::string& verb, const std::string& member = "") {
  std::vector<std::string> argv = {"bash", kEtcdScript, verb};
  if (!member.empty()) argv.push_back(member);
  return lab::Run(argv);
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// Every key under `prefix` in etcd and its value, as etcdctl prints them (key line, value line).
// `tls`: the directory of the TLS member's certificates (etcd.sh tls-dir), for that member.
std::string EtcdDump(const std::string& prefix, const std::string& endpoint = Endpoint(), const std::string& tls = "") {
  std::vector<std::string> argv = {"env", "ETCDCTL_API=3", "etcdctl", "--endpoints=" + endpoint, "--command-timeout=3s"};
  if (!tls.empty()) {
    argv.insert(argv.end(), {"--cacert=" + tls + "/ca.pem", "--cert=" + tls + "/client.pem", "--key=" + tls + "/client.key"});
  }
  argv.insert(argv.end(), {"get", "--prefix", prefix});
  auto r = lab::Run(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// The lab applied, semi-synchronous, mercury the primary; the file's text (each watcher gets a copy).
std::string AppliedLab() {
  lab::Reset(3);
  std::string text = lab::ReadFile(lab::TopologyPath());
  const size_t at = text.find("[replication]\n");
  REQUIRE(at != std::string::npos);
  text.insert(at + 14, "semi_sync = true\n");
  std::string path = lab::WriteFile("etcd-applied.toml", text);
  auto apply = lab::Replplan({"apply", path, "--yes"});
  INFO(apply.out << apply.err);
  REQUIRE(apply.exit_code == 0);
  return lab::ReadFile(path);
}

// The app (tests/lab/app.sh) on mercury's host, stopped when the test ends.
struct AppOnMercury {
  AppOnMercury() { lab::app::Script({"stop", "mercury"}); }
  ~AppOnMercury() { lab::app::Script({"stop", "mercury"}); }
};

// AppliedLab with the app deployed on mercury's host, writing to mercury, and its [[app]] in the
// file `name`; the file's path.
std::string AppliedLabWithApp(const std::string& name) {
  const std::string app_path = lab::WriteFile(name, AppliedLab());
  for (const std::vector<std::string>& step : std::vector<std::vector<std::string>>{
           {"deploy", "mercury", "mercury"}, {"setup", "mercury"}, {"start", "mercury"}, {"toml", app_path, "mercury"}}) {
    auto r = lab::app::Script(step);
    INFO(step.front() << ": " << r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  return app_path;
}

std::string NewPrimaryIn(const std::string& out);  // below

// N watchers, each with its own copy of the file (`name`-wI.toml) and id wI, on one prefix; w1
// is started first and leads.
// kFlags: etcd named by watch's flags; kFile: by the file's [watch] table.
enum class EtcdIn { kFlags, kFile };

struct Watchers {
  // `watch_lines`: more of the file's [watch] (kFile), e.g. its TLS files. `http_port` not 0: watcher
  // i serves /metrics on this lab's NET.250:http_port+i (Metrics(i)).
  Watchers(const std::string& name, const std::string& text, int n, std::string endpoints = Endpoint(),
           EtcdIn in = EtcdIn::kFlags, std::string watch_lines = "", int http_port = 0)
      : prefix("/replplan-test/" + name + "-" + std::to_string(getpid()) + "/"), etcd(std::move(endpoints)), in(in),
        watch_lines(std::move(watch_lines)), http_port(http_port) {
    for (int i = 1; i <= n; ++i) Start(name, text, i);
  }
  void Start(const std::string& name, const std::string& text, int i) {
    const std::string id = "w" + std::to_string(i);
    std::vector<std::string> args = {"watch", "", "--watcher-id", id, "--interval-ms", "200"};
    if (in == EtcdIn::kFlags) {
      paths.push_back(lab::WriteFile(name + "-" + id + ".toml", text));
      args.insert(args.end(), {"--etcd", etcd, "--etcd-prefix", prefix});
    } else {
      paths.push_back(lab::WriteFile(name + "-" + id + ".toml", text + "\n[watch]\netcd = [\"" + etcd +
                                                                  "\"]\nprefix = \"" + prefix + "\"\n" + watch_lines));
    }
    args[1] = paths.back();
    if (http_port != 0) args.insert(args.end(), {"--http", HttpAddress(i)});
    w.push_back(std::make_unique<lab::Background>(args));
    const std::string role = i == 1 ? "leading the watchers" : "standing by: w1 leads";
    REQUIRE_MESSAGE(w.back()->WaitForOutput(role, 20s), w.back()->Output());
  }
  void WaitWarm() {
    for (auto& one : w) REQUIRE_MESSAGE(one->WaitForOutput("warm: ", 30s), one->Output());
  }
  std::string HttpAddress(int i) const { return lab::Net() + ".250:" + std::to_string(http_port + i); }
  // Watcher i's (from 1) sample of the unlabelled-but-cluster series `name`, "" when absent.
  std::string Metric(int i, const std::string& name) const {
    auto r = lab::Run({"curl", "-s", "--max-time", "5", "http://" + HttpAddress(i) + "/metrics"});
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + "{", 0) == 0) return line.substr(line.rfind(' ') + 1);
    }
    return "";
  }
  std::string Logs() {
    std::string all;
    for (size_t i = 0; i < w.size(); ++i) all += "--- w" + std::to_string(i + 1) + ":\n" + w[i]->Output();
    return all;
  }
  // The primary the failover reported by watcher `by` promoted, once every copy of the file names it
  // (60 s at most); "" when that did not happen.
  std::string WaitForFailover(size_t by = 0) {
    std::string promoted;
    const bool moved = lab::WaitFor([&] {
      promoted = NewPrimaryIn(w[by]->Output());
      return !promoted.empty() && AllSay(promoted);
    }, 60s);
    return moved ? promoted : "";
  }
  // Every watcher's copy names `primary`.
  bool AllSay(const std::string& primary) {
    for (const std::string& p : paths) {
      if (lab::PrimaryIn(p) != primary) return false;
    }
    return true;
  }
  std::string prefix;
  std::string etcd;  // the endpoints
  EtcdIn in;
  std::string watch_lines;
  int http_port = 0;
  std::vector<std::string> paths;
  std::vector<std::unique_ptr<lab::Background>> w;
};


std::string NewPrimaryIn(const std::string& out) {
  const std::string head = "failover report: mercury -> ";
  size_t at = out.find(head);
  if (at == std::string::npos) return "";
  at += head.size();
  return out.substr(at, out.find_first_of(" \n", at) - at);
}


// With etcd away (every watcher has said so): mercury killed, and past slave_net_timeout + 2 s
// nothing is failed over or changed; then `back` brings etcd back and the watchers fail over.
// Returns how many failovers their logs report once every copy of the file names the new primary.
size_t KilledWhileEtcdAway(Watchers& watchers, const std::function<lab::CommandResult()>& back) {
  lab::Lab({"kill", "mercury"});
  std::this_thread::sleep_for(std::chrono::seconds(lab::LoadTopology().replication.slave_net_timeout + 4));
  {
    const std::string logs = watchers.Logs();
    INFO(logs);
    CHECK(logs.find("no failover and no fencing is started while it is") != std::string::npos);
    CHECK(watchers.w[0]->Output().find("primary mercury unreachable (") != std::string::npos);
    CHECK(logs.find("failover report: ") == std::string::npos);
    CHECK(watchers.AllSay("mercury"));
    for (const char* replica : {"uranus", "venus"}) CHECK(lab::SqlValue(replica, "SELECT @@global.read_only") == "1");
  }
  auto started = back();
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  std::string promoted;
  const bool moved = lab::WaitFor([&] {
    for (auto& w : watchers.w) {
      if (promoted.empty()) promoted = NewPrimaryIn(w->Output());
    }
    return !promoted.empty() && watchers.AllSay(promoted);
  }, 60s);
  const std::string logs = watchers.Logs();
  INFO(logs);
  REQUIRE(moved);
  CHECK(logs.find("etcd answers again") != std::string::npos);
  // The pause record is etcd's too: unreadable meanwhile (acting as paused), readable again, no pause.
  CHECK(logs.find("the pause record can be read again (") != std::string::npos);
  return Count(logs, "failover report: ");
}

}  // namespace

TEST_CASE("etcd fixture answers") {
  auto r = Etcd("status");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

TEST_CASE("three watchers on etcd, kill -9 of the primary under writes: one failover, by the leader, journaled "
          "once; every watcher's file rewritten once; every acknowledged write on the new primary") {
  AppOnMercury stop_app;
  const std::string app_path = AppliedLabWithApp("etcd-app.toml");
  Watchers watchers("kill9", lab::ReadFile(app_path), 3);
  watchers.WaitWarm();
  lab::app::Writer writer("mercury");
  REQUIRE(lab::WaitFor([&] { return writer.Acknowledged().size() >= 40; }, 30s));

  lab::Lab({"kill", "mercury"});
  const auto killed = Clock::now();
  const std::string promoted = watchers.WaitForFailover();
  const bool moved = !promoted.empty();
  // A few more rounds for any second failover or rewrite to show.
  std::this_thread::sleep_for(3s);
  const std::string logs = watchers.Logs();
  INFO(logs);
  REQUIRE(moved);
  CHECK((promoted == "uranus" || promoted == "venus"));
  CHECK(Count(logs, "failover report: ") == 1);
  CHECK(Count(logs, "  result: done") == 1);
  CHECK(Count(watchers.w[0]->Output(), "journaled in etcd: failover of mercury done, " + promoted + " is the primary") == 1);
  // The two standbys: their file rewritten from etcd, once each; the leader's by its failover.
  for (int i : {1, 2}) {
    const std::string out = watchers.w[i]->Output();
    CHECK(Count(out, "the topology file rewritten from etcd: primary = \"" + promoted + "\"") == 1);
    CHECK(Count(out, "the topology file rewritten from etcd") == 1);
    CHECK(out.find("watching " + promoted) != std::string::npos);
  }
  CHECK(watchers.w[0]->Output().find("the topology file rewritten from etcd") == std::string::npos);
  // The journal: one failover of the loss of mercury at epoch 0, done, to the promoted server; its
  // steps each under w1's term; etcd's primary is the promoted one, at the epoch every file has.
  const std::string journal = EtcdDump(watchers.prefix + "failover/");
  INFO("journal:\n" << journal);
  CHECK(Count(journal, "\"state\":\"done\"") == 1);
  CHECK(Count(journal, "\"to\":\"" + promoted + "\"") == 1);
  CHECK(journal.find("\"step\":\"start " + promoted + "/promote-replica\"") != std::string::npos);
  CHECK(journal.find("\"step\":\"done " + promoted + "/promote-replica\"") != std::string::npos);
  CHECK(journal.find("\"by\":\"w2\"") == std::string::npos);
  CHECK(journal.find("\"by\":\"w3\"") == std::string::npos);
  const std::string record = EtcdDump(watchers.prefix + "primary");
  CHECK(record.find("\"primary\":\"" + promoted + "\"") != std::string::npos);
  for (const std::string& p : watchers.paths) {
    const std::string copy = lab::ReadFile(p);
    const size_t at = record.find("\"epoch\":");
    REQUIRE(at != std::string::npos);
    const std::string epoch = record.substr(at + 8, record.find_first_of(",}", at) - at - 8);
    CHECK_MESSAGE(copy.find("\nepoch = " + epoch + "\n") != std::string::npos, p << " lacks epoch " << epoch);
  }
  // Nothing acknowledged is lost.
  CHECK(lab::WaitFor([&] { return writer.FirstSuccessAfter(killed).has_value(); }, 30s));
  writer.Stop();
  auto missing = lab::app::MissingOn(promoted, writer.Acknowledged());
  CHECK_MESSAGE(missing.empty(), missing.size() << " acknowledged writes missing on " << promoted);
}

TEST_CASE("the leader watcher frozen (SIGSTOP), then the primary killed: the standby takes over within the TTL "
          "+ 1 s with warm connections and fails over; the old leader, woken, changes nothing") {
  Watchers watchers("frozen", AppliedLab(), 2);
  watchers.WaitWarm();
  watchers.w[0]->Signal(SIGSTOP);
  const auto frozen = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(watchers.w[1]->WaitForOutput("leading the watchers", 10s), watchers.Logs());
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - frozen);
  MESSAGE("standby leading " << took.count() << " ms after the leader froze (TTL 2 s)");
  CHECK(took < 3500ms);  // TTL + 1 s, and the test's own polling
  lab::Lab({"kill", "mercury"});
  std::string promoted;
  REQUIRE_MESSAGE(lab::WaitFor([&] {
    promoted = NewPrimaryIn(watchers.w[1]->Output());
    return !promoted.empty();
  }, 60s), watchers.Logs());
  CHECK(watchers.w[1]->Output().find("0 SQL and 0 SSH opened during the failover") != std::string::npos);
  watchers.w[0]->Signal(SIGCONT);
  // Woken: it finds mercury dead, and must leave everything alone; its file follows etcd.
  CHECK(lab::WaitFor([&] { return watchers.AllSay(promoted); }, 20s));
  std::this_thread::sleep_for(4s);
  const std::string old = watchers.w[0]->Output();
  INFO(watchers.Logs());
  CHECK(old.find("failover report: ") == std::string::npos);
  CHECK(old.find("fenced ") == std::string::npos);
  CHECK(old.find("leads no more") != std::string::npos);
  const std::string journal = EtcdDump(watchers.prefix + "failover/");
  INFO("journal:\n" << journal);
  CHECK(Count(journal, "\"state\":\"done\"") == 1);
  CHECK(journal.find("\"by\":\"w1\"") == std::string::npos);
  CHECK(lab::SqlValue(promoted, "SELECT @@global.read_only") == "0");
}

TEST_CASE("the leader watcher killed (kill -9), then the primary: the standby fails over, once (etcd named by "
          "the file's [watch])") {
  Watchers watchers("killed", AppliedLab(), 2, Endpoint(), EtcdIn::kFile);
  watchers.WaitWarm();
  watchers.w[0]->Kill9();
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(watchers.w[1]->WaitForOutput("leading the watchers", 10s), watchers.Logs());
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed);
  MESSAGE("standby leading " << took.count() << " ms after the leader was killed (TTL 2 s)");
  CHECK(took < 3500ms);
  lab::Lab({"kill", "mercury"});
  std::string promoted;
  REQUIRE_MESSAGE(lab::WaitFor([&] {
    promoted = NewPrimaryIn(watchers.w[1]->Output());
    return !promoted.empty() && lab::PrimaryIn(watchers.paths[1]) == promoted;
  }, 60s), watchers.Logs());
  CHECK(Count(watchers.w[1]->Output(), "failover report: ") == 1);
  CHECK(Count(EtcdDump(watchers.prefix + "failover/"), "\"state\":\"done\"") == 1);
}

namespace {

}  // namespace

TEST_CASE("the leader watcher alone cut off from the primary (iptables), the two others see it: no failover, "
          "the majority of watchers refuses before any replica is asked") {
  if (lab::Cgroup2Root().empty()) {
    MESSAGE("SKIPPED: no cgroup v2 mount: cannot cut off one watcher alone");
    return;
  }
  const std::string text = AppliedLab();
  // w1 starts inside a cgroup of its own (the test joins it just for the fork, then goes back).
  // The rule, the group and w1 (its last member: `watchers`, declared after, goes first) go
  // whatever happens below.
  lab::CgroupCutOff cutoff("replplan-etcd-cutoff", lab::Address("mercury"));
  std::unique_ptr<Watchers> watchers;
  REQUIRE_MESSAGE(cutoff.JoinSelf(), "cannot move this test into the cut-off cgroup");
  watchers = std::make_unique<Watchers>("cutoff", text, 1);
  REQUIRE_MESSAGE(cutoff.LeaveSelf(), "cannot move this test back into its own cgroup");
  watchers->Start("cutoff", text, 2);
  watchers->Start("cutoff", text, 3);
  watchers->WaitWarm();
  auto inserted = cutoff.Cut();
  INFO(inserted.out << inserted.err);
  REQUIRE(inserted.exit_code == 0);
  REQUIRE_MESSAGE(watchers->w[0]->WaitForOutput("primary mercury unreachable", 10s), watchers->Logs());
  // Past slave_net_timeout + 2 s: every attempt the leader makes for this loss.
  const int wait_s = lab::LoadTopology().replication.slave_net_timeout + 4;
  std::this_thread::sleep_for(std::chrono::seconds(wait_s));
  cutoff.Restore();
  const std::string logs = watchers->Logs();
  INFO(logs);
  CHECK(watchers->w[0]->Output().find("1 of 3 watchers see mercury down: a majority is needed") != std::string::npos);
  CHECK(logs.find("failover report: ") == std::string::npos);
  CHECK(watchers->AllSay("mercury"));
  CHECK(lab::SqlValue("mercury", "SELECT @@global.read_only") == "0");
  CHECK(EtcdDump(watchers->prefix + "failover/").empty());
}

TEST_CASE("etcd stopped: the primary killed is not failed over, the watchers say why and the cluster is left "
          "alone; etcd back: the leader resumes and fails over once") {
  Watchers watchers("etcddown", AppliedLab(), 2, Endpoint(), EtcdIn::kFlags, "", 9120);
  watchers.WaitWarm();
  // /metrics: w1 leads, w2 stands by, both reach etcd.
  CHECK(lab::WaitFor([&] { return watchers.Metric(1, "replplan_watch_leader") == "1"; }, 5s));
  CHECK(watchers.Metric(2, "replplan_watch_leader") == "0");
  CHECK(watchers.Metric(1, "replplan_watch_etcd_up") == "1");
  CHECK(watchers.Metric(2, "replplan_watch_etcd_up") == "1");
  struct Restart {
    ~Restart() { Etcd("start"); }
  } restart;
  auto stopped = Etcd("stop");
  REQUIRE(stopped.exit_code == 0);
  for (auto& w : watchers.w) {
    REQUIRE_MESSAGE(w->WaitForOutput("etcd unreachable (", 10s), watchers.Logs());
  }
  // And /metrics says why nobody acts: etcd does not answer, no watcher leads.
  for (int i = 1; i <= 2; ++i) {
    CAPTURE(i);
    CHECK(lab::WaitFor([&] { return watchers.Metric(i, "replplan_watch_etcd_up") == "0"; }, 5s));
    CHECK(watchers.Metric(i, "replplan_watch_leader") == "0");
  }
  CHECK(KilledWhileEtcdAway(watchers, [] { return Etcd("start"); }) == 1);
}

TEST_CASE("the primary frozen, failed over by the leader, which then dies: the old primary wakes writable and the "
          "new leader fences it, journaled under its term") {
  Watchers watchers("fence", AppliedLab(), 2);
  watchers.WaitWarm();
  struct Thaw {
    ~Thaw() { lab::Lab({"thaw", "mercury"}); }
  } thaw;
  lab::Lab({"freeze", "mercury"});
  std::string promoted;
  REQUIRE_MESSAGE(lab::WaitFor([&] {
    promoted = NewPrimaryIn(watchers.w[0]->Output());
    return !promoted.empty() && watchers.AllSay(promoted);
  }, 40s), watchers.Logs());
  watchers.w[0]->Kill9();
  REQUIRE_MESSAGE(watchers.w[1]->WaitForOutput("leading the watchers", 10s), watchers.Logs());
  lab::Lab({"thaw", "mercury"});
  // mercury wakes writable (read_only=OFF at runtime from its time as primary): w2 fences it.
  const bool fenced =
      lab::WaitFor([] { return lab::SqlValue("mercury", "SELECT @@global.read_only") == "1"; }, 15s);
  // The fence's line comes once its action ends (read_only is set first, then the sessions go).
  const bool said = watchers.w[1]->WaitForOutput("fenced mercury", 10s);
  const std::string logs = watchers.Logs();
  INFO(logs);
  CHECK(fenced);
  CHECK(said);
  const std::string fences = EtcdDump(watchers.prefix + "fence/");
  INFO("fences:\n" << fences);
  CHECK(fences.find("\"step\":\"start mercury/fence-primary\",\"term\"") != std::string::npos);
  CHECK(fences.find("\"by\":\"w2\"") != std::string::npos);
  CHECK(lab::SqlValue(promoted, "SELECT @@global.read_only") == "0");
}

TEST_CASE("the leader killed in the middle of its failover (at the promotion): the next leader completes it or "
          "rolls it forward; one server promoted, the live watcher's file and etcd agree, the journal done once") {
  Watchers watchers("midway", AppliedLab(), 2);
  watchers.WaitWarm();
  lab::AdminSql("mercury", "CREATE TABLE IF NOT EXISTS mysql.replplan_midway (id INT PRIMARY KEY); "
                           "INSERT INTO mysql.replplan_midway VALUES (1)");
  REQUIRE(lab::WaitFor([] {
    return lab::SqlValue("uranus", "SELECT COUNT(*) FROM mysql.replplan_midway") == "1" &&
           lab::SqlValue("venus", "SELECT COUNT(*) FROM mysql.replplan_midway") == "1";
  }, 10s));
  lab::Lab({"kill", "mercury"});
  REQUIRE_MESSAGE(watchers.w[0]->WaitForOutput("/promote-replica             started", 30s), watchers.Logs());
  watchers.w[0]->Kill9();
  std::string promoted;
  const bool agreed = lab::WaitFor([&] {
    promoted = lab::PrimaryIn(watchers.paths[1]);  // w1's copy stays as it was: w1 is dead
    return promoted != "mercury" &&
           EtcdDump(watchers.prefix + "primary").find("\"primary\":\"" + promoted + "\"") != std::string::npos &&
           EtcdDump(watchers.prefix + "failover/").find("\"state\":\"done\"") != std::string::npos;
  }, 60s);
  const std::string logs = watchers.Logs();
  INFO(logs);
  const std::string journal = EtcdDump(watchers.prefix + "failover/");
  INFO("journal:\n" << journal);
  REQUIRE(agreed);
  const std::string w2 = watchers.w[1]->Output();
  MESSAGE(std::string(w2.find("rolled forward") != std::string::npos ? "w2 rolled the journal forward"
                                                                     : "w2 carried the failover out itself"));
  CHECK(Count(journal, "\"state\":\"done\"") == 1);
  CHECK(Count(journal, "\"state\":\"begun\"") == 0);
  int writable = 0;
  for (const char* name : {"uranus", "venus"}) writable += lab::SqlValue(name, "SELECT @@global.read_only") == "0";
  CHECK(writable == 1);
  CHECK(lab::SqlValue(promoted, "SELECT @@global.read_only") == "0");
  CHECK(lab::SqlValue(promoted, "SELECT COUNT(*) FROM mysql.replplan_midway") == "1");
}

TEST_CASE("the leader killed after its promotion, before the replicas and the app are repointed: the next leader "
          "finishes that failover; every acknowledged write on the new primary, the other replica and the app follow "
          "it, the file plans no change") {
  AppOnMercury stop_app;
  const std::string app_path = AppliedLabWithApp("etcd-finish-app.toml");
  const std::string text = lab::ReadFile(app_path);
  // w1 kills itself right after its promotion is journaled done (ops/coordination.h); w2 is as ever.
  setenv("REPLPLAN_TEST_KILL_AFTER_PROMOTION", "1", 1);
  Watchers watchers("finish", text, 1);
  unsetenv("REPLPLAN_TEST_KILL_AFTER_PROMOTION");
  watchers.Start("finish", text, 2);
  watchers.WaitWarm();
  lab::app::Writer writer("mercury");
  REQUIRE(lab::WaitFor([&] { return writer.Acknowledged().size() >= 40; }, 30s));

  lab::Lab({"kill", "mercury"});
  const auto killed = Clock::now();
  REQUIRE_MESSAGE(watchers.w[0]->Wait(60s) == 128 + SIGKILL, watchers.Logs());
  // Where w1 left it: one server promoted, nothing else journaled after it, etcd's primary unchanged,
  // the app still on mercury.
  const std::string yml = lab::Dir() + "/hosts/mercury/app/config/database.yml";
  std::string promoted, other;
  {
    const std::string left = EtcdDump(watchers.prefix + "failover/");
    INFO("journal w1 left:\n" << left);
    for (const char* name : {"uranus", "venus"}) {
      if (left.find("\"step\":\"done " + std::string(name) + "/promote-replica\"") != std::string::npos) promoted = name;
    }
    REQUIRE(!promoted.empty());
    other = promoted == "uranus" ? "venus" : "uranus";
    CHECK(left.find("\"step\":\"start " + other + "/") == std::string::npos);
    CHECK(left.find("\"state\":\"done\"") == std::string::npos);
    CHECK(EtcdDump(watchers.prefix + "primary").find("\"primary\":\"mercury\"") != std::string::npos);
    CHECK(lab::ReadFile(yml).find(lab::Address("mercury")) != std::string::npos);
  }
  const bool finished = lab::WaitFor([&] {
    return NewPrimaryIn(watchers.w[1]->Output()) == promoted && lab::PrimaryIn(watchers.paths[1]) == promoted;
  }, 60s);
  std::this_thread::sleep_for(2s);  // any second failover or promotion would show now
  const std::string logs = watchers.Logs();
  INFO(logs);
  const std::string journal = EtcdDump(watchers.prefix + "failover/");
  INFO("journal:\n" << journal);
  REQUIRE(finished);
  const std::string w2 = watchers.w[1]->Output();
  CHECK(w2.find("left unfinished after " + promoted + " was promoted: this leader finishes it") != std::string::npos);
  CHECK(Count(w2, "failover report: ") == 1);
  CHECK(Count(w2, "  result: done") == 1);
  // One promotion (w1's), the rest journaled by w2 under its term, the end journaled once.
  CHECK(Count(journal, "/promote-replica\"") == 2);  // start and done, by w1
  CHECK(journal.find("\"step\":\"start " + other + "/") != std::string::npos);
  CHECK(Count(journal, "\"state\":\"done\"") == 1);
  CHECK(journal.find("\"finished_for\":\"w1\"") != std::string::npos);
  CHECK(journal.find("\"to\":\"" + promoted + "\"") != std::string::npos);
  CHECK(EtcdDump(watchers.prefix + "primary").find("\"primary\":\"" + promoted + "\"") != std::string::npos);
  CHECK(lab::SqlValue(promoted, "SELECT @@global.read_only") == "0");
  CHECK(lab::SqlValue(other, "SELECT @@global.read_only") == "1");
  // Nothing acknowledged is lost; the app writes to the new primary.
  CHECK(lab::WaitFor([&] { return writer.FirstSuccessAfter(killed).has_value(); }, 30s));
  writer.Stop();
  const auto acks = writer.Acknowledged();
  auto missing = lab::app::MissingOn(promoted, acks);
  CHECK_MESSAGE(missing.empty(), missing.size() << " acknowledged writes missing on " << promoted);
  CHECK(lab::ReadFile(yml).find(lab::Address(promoted)) != std::string::npos);
  // The other replica replicates from the promoted server: every acknowledged row reaches it, and a
  // row written on the new primary after the failover too.
  CHECK(lab::WaitFor([&] { return lab::app::MissingOn(other, acks).empty(); }, 15s));
  lab::AdminSql(promoted, "CREATE TABLE IF NOT EXISTS mysql.replplan_finish (id INT PRIMARY KEY); "
                          "INSERT INTO mysql.replplan_finish VALUES (7)");
  CHECK(lab::WaitFor([&] { return lab::SqlValue(other, "SELECT COUNT(*) FROM mysql.replplan_finish") == "1"; }, 10s));
  // The old primary back (as an init system would start it) rejoins with apply; then nothing is left.
  watchers.w[1]->Terminate();
  REQUIRE(lab::Lab({"start", "mercury"}).exit_code == 0);
  auto rejoin = lab::Replplan({"apply", watchers.paths[1], "--yes"});
  INFO("apply (rejoin): " << rejoin.out << rejoin.err);
  CHECK(rejoin.exit_code == 0);
  auto plan = lab::Replplan({"plan", watchers.paths[1], "--detailed-exitcode"});
  INFO("plan: " << plan.out << plan.err);
  CHECK(plan.exit_code == 0);
}

TEST_CASE("watch pause in etcd, taken on one watcher's machine: the primary killed is failed over by no watcher; "
          "resumed from another machine: the leader fails over once") {
  Watchers watchers("pause", AppliedLab(), 2);
  watchers.WaitWarm();
  // w2's machine pauses (its own copy of the file names the cluster); the record is etcd's.
  auto paused = lab::Replplan({"watch", "pause", watchers.paths[1], "--reason", "kernel upgrade", "--etcd",
                               watchers.etcd, "--etcd-prefix", watchers.prefix});
  INFO(paused.out << paused.err);
  REQUIRE(paused.exit_code == 0);
  CHECK(paused.out.find("key " + watchers.prefix + "pause") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(watchers.paths[1] + ".pause"));  // no local record
  CHECK(EtcdDump(watchers.prefix + "pause").find("\"reason\": \"kernel upgrade\"") != std::string::npos);
  for (auto& w : watchers.w) REQUIRE_MESSAGE(w->WaitForOutput("(kernel upgrade)", 5s), watchers.Logs());
  lab::Lab({"kill", "mercury"});
  REQUIRE_MESSAGE(watchers.w[0]->WaitForOutput("but the cluster is paused: not failing over", 10s), watchers.Logs());
  std::this_thread::sleep_for(std::chrono::seconds(lab::LoadTopology().replication.slave_net_timeout + 4));
  {
    const std::string logs = watchers.Logs();
    INFO(logs);
    CHECK(logs.find("failover report: ") == std::string::npos);
    CHECK(watchers.AllSay("mercury"));
    for (const char* replica : {"uranus", "venus"}) CHECK(lab::SqlValue(replica, "SELECT @@global.read_only") == "1");
    CHECK(EtcdDump(watchers.prefix + "failover/").empty());
  }
  // w1's machine resumes.
  auto resumed = lab::Replplan({"watch", "resume", watchers.paths[0], "--etcd", watchers.etcd, "--etcd-prefix",
                                watchers.prefix});
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  const std::string promoted = watchers.WaitForFailover();
  const bool moved = !promoted.empty();
  std::this_thread::sleep_for(2s);
  const std::string logs = watchers.Logs();
  INFO(logs);
  REQUIRE(moved);
  CHECK(watchers.w[1]->Output().find("cluster resumed at ") != std::string::npos);
  CHECK(Count(logs, "failover report: ") == 1);
  CHECK(Count(EtcdDump(watchers.prefix + "failover/"), "\"state\":\"done\"") == 1);
  CHECK(lab::SqlValue(promoted, "SELECT @@global.read_only") == "0");
}

TEST_CASE("etcd over TLS with client certificates, named by the file's [watch] (etcd_cacert, etcd_cert, "
          "etcd_key): the watchers lead, stand by and fail over once; a wrong CA stops watch at start naming the "
          "endpoint, nothing changed") {
  auto up = Etcd("start-tls");
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  struct Wipe {
    ~Wipe() { Etcd("wipe-tls"); }
  } wipe;
  auto line = [](std::string out) { return out.substr(0, out.find('\n')); };
  const std::string endpoint = line(Etcd("endpoint-tls").out);
  const std::string tls = line(Etcd("tls-dir").out);
  auto files = [&](const std::string& ca) {
    return "etcd_cacert = \"" + tls + "/" + ca + "\"\netcd_cert = \"" + tls + "/client.pem\"\netcd_key = \"" + tls +
           "/client.key\"\n";
  };
  const std::string text = AppliedLab();
  {
    // A CA that signed none of etcd's certificates: refused at start, with the endpoint and the fix.
    const std::string prefix = "/replplan-test/tls-wrong-" + std::to_string(getpid()) + "/";
    const std::string wrong = text + "\n[watch]\netcd = [\"" + endpoint + "\"]\nprefix = \"" + prefix + "\"\n" +
                              files("other-ca.pem");
    const std::string path = lab::WriteFile("tls-wrong.toml", wrong);
    lab::Background watch({"watch", path, "--watcher-id", "w9", "--interval-ms", "200"});
    const int code = watch.Wait(30s);
    const std::string out = watch.Output();
    INFO(out);
    CHECK(code == 1);
    CHECK(out.find("watch on etcd not started: etcd at " + endpoint + ": TLS: ") != std::string::npos);
    CHECK(out.find("[watch] etcd_cacert") != std::string::npos);
    CHECK(out.find("nothing was changed") != std::string::npos);
    CHECK(lab::ReadFile(path) == wrong);
    CHECK(EtcdDump(prefix, endpoint, tls).empty());
    CHECK(lab::SqlValue("mercury", "SELECT @@global.read_only") == "0");
  }
  Watchers watchers("tls", text, 2, endpoint, EtcdIn::kFile, files("ca.pem"));
  watchers.WaitWarm();
  CHECK(EtcdDump(watchers.prefix + "leader", endpoint, tls).find("w1") != std::string::npos);
  lab::Lab({"kill", "mercury"});
  const std::string promoted = watchers.WaitForFailover();
  const bool moved = !promoted.empty();
  std::this_thread::sleep_for(2s);
  const std::string logs = watchers.Logs();
  INFO(logs);
  REQUIRE(moved);
  CHECK(Count(logs, "failover report: ") == 1);
  CHECK(logs.find("etcd unreachable") == std::string::npos);
  CHECK(Count(EtcdDump(watchers.prefix + "failover/", endpoint, tls), "\"state\":\"done\"") == 1);
  CHECK(lab::SqlValue(promoted, "SELECT @@global.read_only") == "0");
}

TEST_CASE("a three-member etcd that loses its quorum: the primary killed is not failed over, the watchers say why; "
          "the quorum back: the leader fails over once") {
  auto up = Etcd("start3");
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  struct Wipe {
    ~Wipe() { Etcd("wipe3"); }
  } wipe;
  const std::string endpoints = Etcd("endpoints3").out.substr(0, Etcd("endpoints3").out.find('\n'));
  Watchers watchers("quorum", AppliedLab(), 3, endpoints);
  watchers.WaitWarm();
  REQUIRE(Etcd("stop3", "2").exit_code == 0);
  REQUIRE(Etcd("stop3", "3").exit_code == 0);
  for (auto& w : watchers.w) REQUIRE_MESSAGE(w->WaitForOutput("etcd unreachable (", 15s), watchers.Logs());
  // Two of three back: a quorum again.
  CHECK(KilledWhileEtcdAway(watchers, [] { return Etcd("start3", "2"); }) == 1);
}
