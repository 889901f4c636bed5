// Proves the lab keeps its contract (tests/lab/README.md), since every other integration test
// trusts it: fresh hosts that look like a new Debian install, reachable as replplan reaches them
// (admin over TCP on the host's own address, root over SSH with strict host keys), and the
// commands tests use to break and repair them.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/lab_client.h"

namespace {

// One line of `lab.sh status`, as its printf pads it ("%-8s %-11s mysqld %-4s sshd %s"), whatever
// the lab's /24 (REPLPLAN_LAB_NET) makes the address length.
std::string StatusLine(const std::string& host, const std::string& mysqld, const std::string& sshd) {
  char line[160];
  std::snprintf(line, sizeof(line), "%-8s %-11s mysqld %-4s sshd %s", host.c_str(), lab::Address(host).c_str(),
                mysqld.c_str(), sshd.c_str());
  return line;
}

const std::vector<std::string> kThreeHosts = {"mercury", "uranus", "venus"};

// The `restart = "..."` command lab.toml gives for `host`, exactly as replplan would run it.
std::string RestartCommandFromToml(const std::string& host) {
  std::string toml = lab::ReadFile(lab::TopologyPath());
  size_t server = toml.find("name        = \"" + host + "\"");
  REQUIRE(server != std::string::npos);
  size_t line = toml.find("restart     = \"", server);
  REQUIRE(line != std::string::npos);
  size_t start = line + std::string("restart     = \"").size();
  return toml.substr(start, toml.find('"', start) - start);
}

std::string KnownHostsWithout(const std::string& address) {
  std::string kept;
  std::string all = lab::ReadFile(lab::Dir() + "/client/known_hosts");
  for (size_t start = 0; start < all.size();) {
    size_t end = all.find('\n', start);
    std::string line = all.substr(start, end == std::string::npos ? std::string::npos : end - start + 1);
    if (line.rfind("[" + address + "]:2222 ", 0) != 0) kept += line;
    start = end == std::string::npos ? all.size() : end + 1;
  }
  return kept;
}

}  // namespace

TEST_CASE("after reset every host answers admin over TCP on its own address, as a fresh install") {
  lab::Reset(3);
  for (const auto& host : kThreeHosts) {
    CAPTURE(host);
    auto r = lab::AdminSql(host, "SELECT @@server_id, @@log_bin, @@read_only, @@bind_address, @@socket");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    std::string socket = lab::Dir() + "/hosts/" + host + "/mysqld.sock";
    CHECK(r.out == "1\t0\t0\t" + lab::Address(host) + "\t" + socket + "\n");
    auto log_bin = lab::AdminSql(host, "SHOW GLOBAL VARIABLES LIKE 'log_bin'");
    CHECK(log_bin.out == "log_bin\tOFF\n");
  }
}

TEST_CASE("admin holds every privilege with grant option and root has no TCP login") {
  lab::Reset(3);
  auto grants = lab::AdminSql("mercury", "SHOW GRANTS");
  REQUIRE_MESSAGE(grants.exit_code == 0, grants.err);
  CHECK(grants.out.find("GRANT ALL PRIVILEGES ON *.* TO `admin`@`%`") != std::string::npos);
  CHECK(grants.out.find("WITH GRANT OPTION") != std::string::npos);

  auto wrong = lab::Run({"mariadb", "--no-defaults", "-h", lab::Address("mercury"), "-P", "3306", "-u", "admin", "-e", "SELECT 1"},
                        "", {"MYSQL_PWD=not-the-password"});
  CHECK(wrong.exit_code != 0);
  CHECK(wrong.err.find("Access denied") != std::string::npos);
  auto root = lab::Run({"mariadb", "--no-defaults", "-h", lab::Address("mercury"), "-P", "3306", "-u", "root", "-e", "SELECT 1"});
  CHECK(root.exit_code != 0);
}

TEST_CASE("fresh hosts have only the system schemas and the accounts of a new install") {
  lab::Reset(3);
  for (const auto& host : kThreeHosts) {
    CAPTURE(host);
    CHECK(lab::Sql(host, "SHOW DATABASES") ==
          std::vector<std::vector<std::string>>{{"information_schema"}, {"mysql"}, {"performance_schema"}, {"sys"}});
    // No anonymous user (it would shadow 'repl'@'%'), no test database.
    CHECK(lab::SqlValue(host, "SELECT COUNT(*) FROM mysql.user WHERE user = ''") == "0");
    CHECK(lab::SqlValue(host, "SELECT GROUP_CONCAT(CONCAT(user, '@', host) ORDER BY user) FROM mysql.user") ==
          "admin@%,mariadb.sys@localhost,root@localhost");
  }
}

TEST_CASE("ssh as root with the lab key works and strict host key checking rejects an unknown host") {
  lab::Reset(3);
  for (const auto& host : kThreeHosts) {
    CAPTURE(host);
    auto ok = lab::Ssh(host, "true");
    CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  }
  std::string without_mercury = lab::WriteFile("known_hosts_without_mercury", KnownHostsWithout(lab::Address("mercury")));
  auto refused = lab::Ssh("mercury", "true", without_mercury);
  CHECK(refused.exit_code == 255);
  CHECK(refused.err.find("Host key verification failed") != std::string::npos);
  // The same file still vouches for the others: the failure is about mercury's key, not the file.
  CHECK(lab::Ssh("uranus", "true", without_mercury).exit_code == 0);
}

TEST_CASE("kill makes a host refuse TCP and start brings it back") {
  lab::Reset(3);
  REQUIRE(lab::Lab({"kill", "uranus"}).exit_code == 0);
  auto refused = lab::AdminSql("uranus", "SELECT 1");
  CHECK(refused.exit_code != 0);
  CHECK_MESSAGE(refused.err.find("Can't connect") != std::string::npos, refused.err);
  CHECK_MESSAGE(lab::Lab({"status"}).out.find(StatusLine("uranus", "down", "up")) != std::string::npos,
                lab::Lab({"status"}).out);
  CHECK(lab::AdminSql("mercury", "SELECT 1").exit_code == 0);  // the others are untouched

  auto started = lab::Lab({"start", "uranus"});
  REQUIRE_MESSAGE(started.exit_code == 0, started.err);
  auto back = lab::AdminSql("uranus", "SELECT @@bind_address");
  CHECK(back.out == lab::Address("uranus") + "\n");
}

TEST_CASE("the restart command of lab.toml restarts the server when run over ssh") {
  lab::Reset(3);
  // A runtime-only setting is lost by a real restart, so it tells a restart from a no-op.
  lab::Sql("mercury", "SET GLOBAL max_connections = 77");
  std::string pid_before = lab::ReadFile(lab::Dir() + "/hosts/mercury/mysqld.pid");

  auto restarted = lab::Ssh("mercury", RestartCommandFromToml("mercury"));
  REQUIRE_MESSAGE(restarted.exit_code == 0, restarted.err);
  CHECK(lab::AdminSql("mercury", "SELECT @@max_connections").out == "151\n");
  CHECK(lab::ReadFile(lab::Dir() + "/hosts/mercury/mysqld.pid") != pid_before);
}

TEST_CASE("restart picks up an edited my.cnf and reset restores the fresh one") {
  lab::Reset(3);
  std::string cnf_path = lab::Dir() + "/hosts/venus/my.cnf";
  std::string fresh = lab::ReadFile(cnf_path);
  CHECK(fresh.find("server-id") == std::string::npos);
  CHECK(fresh.find("server_id") == std::string::npos);
  CHECK(fresh.find("log_bin") == std::string::npos);
  CHECK(fresh.find("read_only") == std::string::npos);

  std::string log_bin = lab::Dir() + "/hosts/venus/binlog/mysql-bin.log";
  std::ofstream(cnf_path, std::ios::app) << "\n[mysqld]\nserver_id = 3\nlog_bin = " << log_bin << "\n";
  auto restarted = lab::Lab({"restart", "venus"});
  REQUIRE_MESSAGE(restarted.exit_code == 0, restarted.err);
  CHECK(lab::AdminSql("venus", "SELECT @@server_id, @@log_bin").out == "3\t1\n");
  CHECK(lab::Run({"test", "-s", lab::Dir() + "/hosts/venus/binlog/mysql-bin.000001"}).exit_code == 0);

  lab::Reset(3);
  CHECK(lab::ReadFile(cnf_path) == fresh);
  CHECK(lab::AdminSql("venus", "SELECT @@server_id, @@log_bin").out == "1\t0\n");
  CHECK(lab::Run({"find", lab::Dir() + "/hosts/venus/binlog", "-mindepth", "1"}).out.empty());
}

TEST_CASE("reset removes a database created before it") {
  lab::Reset(3);
  lab::Sql("mercury", "CREATE DATABASE lab_scratch; CREATE TABLE lab_scratch.t (id INT PRIMARY KEY)");
  REQUIRE(lab::SqlValue("mercury", "SHOW DATABASES LIKE 'lab_scratch'") == "lab_scratch");
  lab::Reset(3);
  CHECK(lab::SqlValue("mercury", "SHOW DATABASES LIKE 'lab_scratch'").empty());
}

TEST_CASE("reset to fewer hosts stops the rest and lab.toml lists exactly the hosts up") {
  lab::Reset(2);
  CHECK(lab::AdminSql("venus", "SELECT 1").exit_code != 0);
  CHECK_MESSAGE(lab::Lab({"status"}).out.find(StatusLine("venus", "down", "down")) != std::string::npos,
                lab::Lab({"status"}).out);
  std::string toml = lab::ReadFile(lab::TopologyPath());
  CHECK(toml.find("address     = \"" + lab::Address("uranus") + "\"") != std::string::npos);
  CHECK(toml.find("venus") == std::string::npos);

  lab::Reset(3);
  toml = lab::ReadFile(lab::TopologyPath());
  CHECK(toml.find("primary = \"mercury\"") != std::string::npos);
  CHECK(toml.find("server_id   = 3") != std::string::npos);
  CHECK(toml.find("password      = { file = \"" + lab::Dir() + "/secrets/repl.pw\" }") != std::string::npos);
  // Secrets are named by file, never written into the topology.
  for (const auto& secret : {"admin.pw", "repl.pw", "app.pw"}) {
    CAPTURE(secret);
    std::string value = lab::SecretValue(secret);
    CHECK(value.size() >= 16);
    CHECK(toml.find(value) == std::string::npos);
  }
}

TEST_CASE("pkill signals the processes of lab ssh sessions only, never a process of the machine's with the same words") {
  lab::Reset(1);
  const std::string words = "lab-pkill-probe-words";
  // Outside the lab: a local process whose command line holds the same words (a CI runner's own
  // script could); it must survive. The words are its argv[0], so no child of its own outlives it.
  const std::string title = "sleep " + words;
  pid_t outside = fork();
  REQUIRE(outside >= 0);
  if (outside == 0) {
    execlp("sleep", title.c_str(), "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Inside the lab: the same words in the command line of a process run over SSH on mercury (its
  // argv[0], so that no child outlives it holding the session's output open).
  lab::CommandResult remote;
  std::jthread session([&] { remote = lab::Ssh("mercury", "exec -a " + words + " sleep 60"); });
  const bool seen = lab::WaitFor([&] { return lab::Lab({"pgrep", words}).exit_code == 0; }, std::chrono::seconds(10));
  const std::string listed = lab::Lab({"pgrep", words}).out;
  const int killed = lab::Lab({"pkill", "KILL", words}).exit_code;
  session.join();
  const int again = lab::Lab({"pkill", "KILL", words}).exit_code;
  const bool survived = waitpid(outside, nullptr, WNOHANG) == 0;  // 0: still running, not reaped
  kill(outside, SIGKILL);
  waitpid(outside, nullptr, 0);

  CHECK(seen);
  CHECK(listed.find(std::to_string(outside)) == std::string::npos);  // the local one is not the lab's
  CHECK(killed == 0);
  CHECK(remote.exit_code != 0);  // its process was killed
  CHECK(again == 1);             // nothing left to signal
  CHECK(survived);
}

// --- silent failures: freeze, partition --------------------------------------------------------

namespace {

// A TCP connect to ADDRESS:PORT, from FROM's address when given, bounded by 2 s: "open", "refused"
// (the host answered no) or "silent" (no answer at all: a stopped listener's kernel still accepts,
// so silence here means the packets were dropped).
std::string Tcp(const std::string& address, int port, const std::string& from = "") {
  auto r = lab::Run({"python3", "-c",
                     "import socket, sys\n"
                     "s = socket.socket(); s.settimeout(2)\n"
                     "if sys.argv[3]: s.bind((sys.argv[3], 0))\n"
                     "try:\n  s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
                     "except socket.timeout: print('silent')\n"
                     "except OSError: print('refused')\n",
                     address, std::to_string(port), from});
  return r.out.substr(0, r.out.find('\n'));
}

// SELECT 1 as admin within a few seconds (a frozen server accepts the connection and never greets).
bool AnswersSql(const std::string& host) {
  return lab::Run({"timeout", "4", "mariadb", "--no-defaults", "-h", lab::Address(host), "-P", "3306", "-u", "admin",
                   "--connect-timeout=2", "-N", "-B", "-e", "SELECT 1"},
                  "", {"MYSQL_PWD=" + lab::SecretValue("admin.pw")})
             .out == "1\n";
}

bool AnswersSsh(const std::string& host) {
  return lab::Run({"timeout", "4", "ssh", "-F", "/dev/null", "-i", lab::Dir() + "/client/id_ed25519", "-o",
                   "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + lab::Dir() + "/client/known_hosts", "-o",
                   "BatchMode=yes", "-o", "ConnectTimeout=2", "-p", "2222", "root@" + lab::Address(host), "echo up"})
             .out == "up\n";
}

// This lab's partition rules, as iptables lists them.
std::vector<std::string> PartitionRules() {
  std::vector<std::string> rules;
  std::string all = lab::Run({"iptables", "-w", "-S", "INPUT"}).out;
  size_t start = 0;
  for (size_t end; (end = all.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string line = all.substr(start, end - start);
    if (line.find("replplan-lab-" + lab::Net() + "-") != std::string::npos) rules.push_back(line);
  }
  return rules;
}

// "lab: mercury: frozen (...) at 1796602581568 ms": the instant, 13 digits.
bool SaysWhen(const std::string& out) {
  size_t at = out.rfind(" at ");
  return at != std::string::npos && out.size() >= at + 4 + 13 + 4 && out.compare(at + 4 + 13, 3, " ms") == 0 &&
         out.substr(at + 4, 13).find_first_not_of("0123456789") == std::string::npos;
}

char ProcessState(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("State:", 0) == 0) return line.size() > 7 ? line[line.find_first_not_of(" \t", 6)] : '?';
  }
  return '?';
}

}  // namespace

TEST_CASE("freeze stops a host's mariadbd without closing its socket, and thaw resumes it") {
  lab::Reset(3);
  auto frozen = lab::Lab({"freeze", "mercury"});
  REQUIRE(frozen.exit_code == 0);
  CHECK_MESSAGE(SaysWhen(frozen.out), frozen.out);
  CHECK(Tcp(lab::Address("mercury"), 3306) == "open");  // the kernel still accepts: nothing is refused
  CHECK_FALSE(AnswersSql("mercury"));                    // and nobody greets
  CHECK(AnswersSsh("mercury"));                          // only the process: sshd serves
  CHECK(AnswersSql("uranus"));
  REQUIRE(lab::Lab({"thaw", "mercury"}).exit_code == 0);
  CHECK(lab::WaitFor([] { return AnswersSql("mercury"); }, std::chrono::seconds(10)));
}

TEST_CASE("freeze --host stops its sshd and the sessions already open too, as a paused machine") {
  lab::Reset(3);
  const std::string words = "lab-freeze-probe-session";
  lab::CommandResult remote;
  std::jthread session([&] { remote = lab::Ssh("mercury", "exec -a " + words + " sleep 30"); });
  REQUIRE(lab::WaitFor([&] { return lab::Lab({"pgrep", words}).exit_code == 0; }, std::chrono::seconds(10)));
  const std::string pid = lab::Lab({"pgrep", words}).out.substr(0, lab::Lab({"pgrep", words}).out.find('\n'));

  auto frozen = lab::Lab({"freeze", "mercury", "--host"});
  const char state = ProcessState(pid);
  const bool sql = AnswersSql("mercury"), ssh = AnswersSsh("mercury"), other = AnswersSsh("uranus");
  REQUIRE(lab::Lab({"thaw", "mercury"}).exit_code == 0);
  const bool ssh_back = lab::WaitFor([] { return AnswersSsh("mercury"); }, std::chrono::seconds(10));
  lab::Lab({"pkill", "KILL", words});
  session.join();

  CHECK(frozen.exit_code == 0);
  CHECK_MESSAGE(SaysWhen(frozen.out), frozen.out);
  CHECK(state == 'T');  // the session opened before the freeze is stopped too
  CHECK_FALSE(sql);
  CHECK_FALSE(ssh);
  CHECK(other);
  CHECK(ssh_back);
  CHECK(AnswersSql("mercury"));
}

TEST_CASE("partition drops every packet to and from a host, both ways, and heal removes only its rules") {
  lab::Reset(3);
  REQUIRE(PartitionRules().empty());
  auto cut = lab::Lab({"partition", "mercury"});
  REQUIRE(cut.exit_code == 0);
  CHECK_MESSAGE(SaysWhen(cut.out), cut.out);
  REQUIRE(lab::Lab({"partition", "mercury"}).exit_code == 0);  // twice: still one rule per direction
  const std::vector<std::string> rules = PartitionRules();
  CHECK(rules.size() == 2);
  for (const std::string& rule : rules) {
    CHECK_MESSAGE(rule.find(lab::Address("mercury") + "/32") != std::string::npos, rule);
    CHECK_MESSAGE(rule.find("-i lo") != std::string::npos, rule);
  }
  const std::string mercury = lab::Address("mercury"), uranus = lab::Address("uranus");
  CHECK(Tcp(mercury, 3306) == "silent");            // to it: dropped, not refused
  CHECK(Tcp(mercury, 2222) == "silent");            // SSH too
  CHECK(Tcp(uranus, 3306, mercury) == "silent");    // from it
  CHECK(Tcp(uranus, 3306) == "open");               // the others are untouched
  CHECK(Tcp(uranus, 3306, lab::Address("venus")) == "open");

  REQUIRE(lab::Lab({"heal", "mercury"}).exit_code == 0);
  CHECK(PartitionRules().empty());
  CHECK(Tcp(mercury, 3306) == "open");
  CHECK(Tcp(uranus, 3306, mercury) == "open");
  CHECK(AnswersSql("mercury"));
}

TEST_CASE("reset heals and thaws hosts a run left partitioned or frozen") {
  lab::Reset(3);
  REQUIRE(lab::Lab({"partition", "mercury"}).exit_code == 0);
  REQUIRE(lab::Lab({"freeze", "uranus", "--host"}).exit_code == 0);
  lab::Reset(3);
  CHECK(PartitionRules().empty());
  for (const char* host : {"mercury", "uranus", "venus"}) {
    CHECK_MESSAGE(AnswersSql(host), host);
    CHECK_MESSAGE(AnswersSsh(host), host);
  }
}
