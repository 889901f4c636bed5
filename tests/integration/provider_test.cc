// Proves the real providers against real servers (the lab: mariadbd + sshd on 127.0.0.x): the SQL
// connection and its error classes, the SSH session and its host key check, and a whole-lab read
// in which one dead host does not stop the others.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/sql_quote.h"
#include "engine/topology.h"
#include "integration/lab_client.h"
#include "providers/live_provider.h"
#include "providers/lost_transactions.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/ssh/read_files.h"
#include "providers/ssh/ssh_session.h"
#include "providers/state_reader.h"

namespace replplan {
namespace {

using Clock = std::chrono::steady_clock;

long long MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

MysqlOptions AdminOptions(const std::string& host) {
  MysqlOptions options;
  options.host = lab::Address(host);
  options.user = "admin";
  options.password = Secret(lab::SecretValue("admin.pw"));
  options.connect_timeout_ms = 3000;
  return options;
}

SshOptions LabSsh(const std::string& host) {
  SshOptions options;
  options.host = lab::Address(host);
  options.port = 2222;
  options.user = "root";
  options.identity = lab::Dir() + "/client/id_ed25519";
  options.known_hosts = lab::Dir() + "/client/known_hosts";
  options.connect_timeout_ms = 3000;
  return options;
}

SecretRef FileSecret(const std::string& name) {
  return SecretRef{SecretRef::Kind::kFile, lab::Dir() + "/secrets/" + name, {}};
}

// The lab topology as lab.toml describes it, built by hand so this test depends on the providers
// only, not on the topology parser.
Topology LabTopology() {
  Topology topology;
  topology.file = "lab.toml";
  topology.cluster.name = "lab";
  topology.cluster.primary = "mercury";
  topology.replication.user = "repl";
  topology.replication.password = FileSecret("repl.pw");
  uint32_t id = 1;
  for (const std::string name : {"mercury", "uranus", "venus"}) {
    ServerSpec server;
    server.name = name;
    server.address = lab::Address(name);
    server.server_id = id++;
    server.ssh.user = "root";
    server.ssh.port = 2222;
    server.ssh.identity = lab::Dir() + "/client/id_ed25519";
    server.ssh.known_hosts = lab::Dir() + "/client/known_hosts";
    server.ssh.connect_timeout_ms = 3000;
    server.mysql.port = 3306;
    server.mysql.user = "admin";
    server.mysql.password = FileSecret("admin.pw");
    server.mysql.connect_timeout_ms = 3000;
    server.config_file = lab::Dir() + "/hosts/" + name + "/my.cnf";
    topology.servers.push_back(server);
  }
  UserSpec pierre;
  pierre.name = "pierre";
  pierre.host = "%";
  pierre.password = FileSecret("app.pw");
  topology.users.push_back(pierre);
  return topology;
}

// One pristine 3-host lab for the whole file; the test that breaks a host repairs it last.
void EnsureLab() {
  static bool done = false;
  if (!done) lab::Reset(3);
  done = true;
}

}  // namespace

TEST_CASE("a connection to the lab primary reads rows by column name, NULL as empty") {
  EnsureLab();
  auto connection = MysqlConnection::Connect(AdminOptions("mercury"));
  REQUIRE_MESSAGE(connection.ok(), connection.status().message());
  auto rows = (*connection)->Query("SELECT @@server_id AS id, @@bind_address AS bind, NULL AS nothing");
  REQUIRE_MESSAGE(rows.ok(), rows.status().message());
  REQUIRE(rows->size() == 1);
  CHECK(rows->at(0).at("id") == "1");
  CHECK(rows->at(0).at("bind") == lab::Address("mercury"));
  CHECK(rows->at(0).at("nothing") == "");
  // The connection is reused: a second statement on it works too.
  CHECK((*connection)->Execute("DO 1").ok());
  auto empty = (*connection)->Query("SELECT 1 FROM DUAL WHERE 0");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("Escape lets any value round-trip through a string literal") {
  EnsureLab();
  auto connection = MysqlConnection::Connect(AdminOptions("mercury"));
  REQUIRE(connection.ok());
  const std::string tricky = std::string("it's a \"test\" \\ with\nnewline and \0 nul", 38);
  auto rows = (*connection)->Query("SELECT '" + (*connection)->Escape(tricky) + "' AS v");
  REQUIRE_MESSAGE(rows.ok(), rows.status().message());
  CHECK(rows->at(0).at("v") == tricky);
}

TEST_CASE("a server whose global sql_mode has NO_BACKSLASH_ESCAPES still reads every quoted value as written") {
  EnsureLab();
  auto admin = MysqlConnection::Connect(AdminOptions("mercury"));
  REQUIRE(admin.ok());
  const std::string mode = (*admin)->Query("SELECT @@GLOBAL.sql_mode AS m")->at(0).at("m");
  REQUIRE((*admin)->Execute("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')").ok());
  // With the mode, 'a\'b' would end after a\ and the rest would be SQL of its own.
  const std::string tricky = "a\\' OR '1'='1 \\ \"q\" \\n";
  auto connection = MysqlConnection::Connect(AdminOptions("mercury"));
  Result<std::vector<Row>> rows = Status::Internal("not connected");
  Result<std::vector<Row>> session_mode = Status::Internal("not connected");
  if (connection.ok()) {
    rows = (*connection)->Query("SELECT " + replplan::QuoteString(tricky) + " AS v, " +
                                "'" + (*connection)->Escape(tricky) + "' AS w");
    session_mode = (*connection)->Query("SELECT @@SESSION.sql_mode AS m");
  }
  // Put the server back before any check can stop the test.
  REQUIRE((*admin)->Execute("SET GLOBAL sql_mode = " + replplan::QuoteString(mode)).ok());
  REQUIRE_MESSAGE(connection.ok(), connection.status().message());
  REQUIRE_MESSAGE(rows.ok(), rows.status().message());
  CHECK(rows->at(0).at("v") == tricky);
  CHECK(rows->at(0).at("w") == tricky);
  REQUIRE(session_mode.ok());
  CHECK(session_mode->at(0).at("m").find("NO_BACKSLASH_ESCAPES") == std::string::npos);
}

TEST_CASE("a wrong password is AuthFailed and its message never contains the password") {
  EnsureLab();
  MysqlOptions options = AdminOptions("mercury");
  options.password = Secret("wrong-Pa55word-xyz");
  auto connection = MysqlConnection::Connect(options);
  REQUIRE_FALSE(connection.ok());
  CHECK(connection.status().code() == Status::Code::kAuthFailed);
  CHECK(connection.status().message().find("(1045)") != std::string::npos);
  CHECK(connection.status().message().find(lab::Address("mercury") + ":3306") != std::string::npos);
  CHECK(connection.status().message().find("wrong-Pa55word-xyz") == std::string::npos);
  CHECK(connection.status().sql_errno() == 1045);
}

TEST_CASE("a syntax error in a statement that carries a secret shows no part of it, even cut or escaped") {
  EnsureLab();
  auto connection = MysqlConnection::Connect(AdminOptions("mercury"));
  REQUIRE(connection.ok());
  // The server quotes 80 characters from the error on: this secret is cut there, so its whole text
  // matches nothing; and a quote in it is escaped in the statement.
  const Secret secret("pre'fix-" + std::string(100, 'x'));
  const std::string sql = "CREATE USERR 'who'@'%' IDENTIFIED BY " + QuoteString(secret.reveal());
  Status status = (*connection)->Execute(sql, {&secret});
  REQUIRE_FALSE(status.ok());
  CHECK(status.sql_errno() == 1064);
  CHECK(status.message().find("pre") == std::string::npos);
  CHECK(status.message().find("xxxx") == std::string::npos);
  CHECK(status.message().find("at line 1") != std::string::npos);
  // Without a secret the statement's excerpt stays: it is what tells the operator where.
  Status plain = (*connection)->Execute("SELECTT 1");
  CHECK(plain.message().find("near 'SELECTT 1'") != std::string::npos);
}

TEST_CASE("a server error keeps its errno and classifies as Internal") {
  EnsureLab();
  auto connection = MysqlConnection::Connect(AdminOptions("mercury"));
  REQUIRE(connection.ok());
  Status status = (*connection)->Execute("SELECT * FROM no_such_db.no_such_table");
  CHECK(status.code() == Status::Code::kInternal);
  CHECK(status.sql_errno() == 1146);
  // The number is a field: context and a note after it (which hid a trailing "(1146)") keep it.
  CHECK(status.WithContext("mercury").WithNote("nothing was changed").sql_errno() == 1146);
}

TEST_CASE("nothing listening on 127.0.0.99 is Unavailable, and quickly") {
  MysqlOptions options = AdminOptions("mercury");
  options.host = "127.0.0.99";
  auto started = Clock::now();
  auto connection = MysqlConnection::Connect(options);
  REQUIRE_FALSE(connection.ok());
  CHECK(MsSince(started) < 1000);
  CHECK(connection.status().code() == Status::Code::kUnavailable);
  CHECK(connection.status().message().rfind("cannot connect to 127.0.0.99:3306: ", 0) == 0);
  int number = connection.status().sql_errno();
  CHECK((number == 2002 || number == 2003));
}

TEST_CASE("an SSH session runs several commands and keeps stdout, stderr and exit status apart") {
  EnsureLab();
  auto session = SshSession::Connect(LabSsh("uranus"));
  REQUIRE_MESSAGE(session.ok(), session.status().message());
  auto first = (*session)->Run("echo to-out; echo to-err >&2; exit 3");
  REQUIRE_MESSAGE(first.ok(), first.status().message());
  CHECK(first->exit_status == 3);
  CHECK(first->out == "to-out\n");
  CHECK(first->err == "to-err\n");
  auto second = (*session)->Run("id -un");
  REQUIRE(second.ok());
  CHECK(second->exit_status == 0);
  CHECK(second->out == "root\n");
}

TEST_CASE("an SSH command's large output on both streams is read completely") {
  EnsureLab();
  auto session = SshSession::Connect(LabSsh("uranus"));
  REQUIRE(session.ok());
  auto result = (*session)->Run("head -c 3000000 /dev/zero; head -c 2500000 /dev/zero >&2");
  REQUIRE_MESSAGE(result.ok(), result.status().message());
  CHECK(result->out.size() == 3000000);
  CHECK(result->err.size() == 2500000);
}

TEST_CASE("an SSH command reads the input it is given, however large, and sees EOF") {
  auto session = SshSession::Connect(LabSsh("mercury"));
  REQUIRE(session.ok());
  std::string input;
  for (int i = 0; input.size() < 3 * 1024 * 1024; ++i) input += "line " + std::to_string(i) + " 'quoted' $(x)\n";
  auto copied = (*session)->Run("cat", input);  // cat ends only when stdin is closed
  REQUIRE(copied.ok());
  CHECK(copied->exit_status == 0);
  CHECK(copied->out == input);
  auto counted = (*session)->Run("wc -c", "abc");
  REQUIRE(counted.ok());
  CHECK(counted->out == "3\n");
}

TEST_CASE("ReadFile over SSH returns the host's my.cnf byte for byte") {
  EnsureLab();
  auto session = SshSession::Connect(LabSsh("mercury"));
  REQUIRE(session.ok());
  const std::string path = lab::Dir() + "/hosts/mercury/my.cnf";
  auto content = (*session)->ReadFile(path);
  REQUIRE_MESSAGE(content.ok(), content.status().message());
  REQUIRE(content->has_value());
  CHECK(**content == lab::ReadFile(path));
  CHECK((*content)->find("bind-address") != std::string::npos);
}

TEST_CASE("ReadFile of a missing file is nullopt, even with quotes in the path") {
  EnsureLab();
  auto session = SshSession::Connect(LabSsh("mercury"));
  REQUIRE(session.ok());
  auto content = (*session)->ReadFile(lab::Dir() + "/no such dir/it's; not here $(id)");
  REQUIRE_MESSAGE(content.ok(), content.status().message());
  CHECK_FALSE(content->has_value());
}

// A second sshd for mercury on port 2223, from mercury's own sshd_config minus its `Subsystem sftp`
// line: a server where only commands work. Stopped (and waited for) when the guard goes.
class SshdWithoutSftp {
 public:
  SshOptions Options() const {
    SshOptions options = LabSsh("mercury");
    options.port = sshd_.port();
    options.known_hosts = sshd_.known_hosts();
    return options;
  }

 private:
  lab::ExtraSshd sshd_{"nosftp", 2223, [](const std::string& line) {
                         return line.rfind("Subsystem", 0) == 0 ? std::string() : line;
                       }};
};

TEST_CASE("files are read through SFTP where sshd offers it, by command where not: the same bytes, missing, errors") {
  EnsureLab();
  // Bytes a text-only read would lose: NUL, CR, no final newline, then several newlines.
  const std::string odd("a\0b\r\n\xff $(id) 'q'\n\n", 18);
  const std::string file = lab::WriteFile("odd.bin", odd);
  const std::string dir = lab::Dir() + "/tmp";
  const std::string missing = lab::Dir() + "/no such dir/it's; not here $(id)";
  SshdWithoutSftp no_sftp;

  for (bool sftp : {true, false}) {
    CAPTURE(sftp);
    auto session = SshSession::Connect(sftp ? LabSsh("mercury") : no_sftp.Options());
    REQUIRE_MESSAGE(session.ok(), session.status().message());
    auto started = (*session)->StartSftp();
    REQUIRE(started.ok());
    CHECK(*started == sftp);
    CHECK((*session)->sftp_active() == sftp);

    auto one = (*session)->ReadFile(file);
    REQUIRE_MESSAGE(one.ok(), one.status().message());
    REQUIRE(one->has_value());
    CHECK(**one == odd);

    auto files = ReadFiles(**session, {file, missing, dir, ""});
    REQUIRE_MESSAGE(files.ok(), files.status().message());
    REQUIRE(files->size() == 4);
    CHECK((*files)[0].read_ok);
    CHECK((*files)[0].exists);
    CHECK((*files)[0].text == odd);
    CHECK((*files)[1].read_ok);
    CHECK_FALSE((*files)[1].exists);
    CHECK_FALSE((*files)[2].read_ok);  // a directory is not "missing"
    CHECK((*files)[2].error.find("cannot read " + dir) != std::string::npos);
    CHECK_FALSE((*files)[3].exists);  // an empty path names no file

    auto in_dir = (*session)->ReadFile(dir);
    CHECK_FALSE(in_dir.ok());
    CHECK(in_dir.status().code() == Status::Code::kFailedPrecondition);
    // The session still works after those failures.
    auto again = (*session)->ReadFile(file);
    REQUIRE(again.ok());
    CHECK(again->value_or("") == odd);
  }
}

TEST_CASE("a known_hosts file without the host is refused before authentication") {
  EnsureLab();
  const std::string empty = lab::WriteFile("known_hosts.empty", "");
  SshOptions options = LabSsh("mercury");
  options.known_hosts = empty;
  auto session = SshSession::Connect(options);
  REQUIRE_FALSE(session.ok());
  CHECK(session.status().code() == Status::Code::kFailedPrecondition);
  CHECK(session.status().message() == "host key for [" + lab::Address("mercury") + "]:2222 is not in " + empty);
}

TEST_CASE("another host's key under this host's name is a mismatch, not a match") {
  EnsureLab();
  // uranus's known_hosts line relabelled as mercury: what a man-in-the-middle would look like.
  std::string all = lab::ReadFile(lab::Dir() + "/client/known_hosts");
  size_t line = all.find("[" + lab::Address("uranus") + "]:2222 ");
  REQUIRE(line != std::string::npos);
  std::string uranus = all.substr(line, all.find('\n', line) - line);
  const std::string forged =
      lab::WriteFile("known_hosts.forged", "[" + lab::Address("mercury") + "]:2222 " + uranus.substr(uranus.find(' ') + 1) + "\n");
  SshOptions options = LabSsh("mercury");
  options.known_hosts = forged;
  auto session = SshSession::Connect(options);
  REQUIRE_FALSE(session.ok());
  CHECK(session.status().code() == Status::Code::kFailedPrecondition);
  CHECK(session.status().message().find("does not match") != std::string::npos);
  CHECK(session.status().message().find("man-in-the-middle") != std::string::npos);
  // Only an explicit verify_host_key = false gets past it.
  options.verify_host_key = false;
  CHECK(SshSession::Connect(options).ok());
}

// The lab's known_hosts lines for one host whose key type is `type` ("ssh-ed25519", ...).
std::string KnownHostsLines(const std::string& host, const std::string& type) {
  std::string all = lab::ReadFile(lab::Dir() + "/client/known_hosts");
  const std::string prefix = "[" + lab::Address(host) + "]:2222 " + type + " ";
  std::string lines;
  for (size_t at = 0; at < all.size();) {
    size_t end = all.find('\n', at);
    if (end == std::string::npos) end = all.size();
    std::string line = all.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0) lines += line + "\n";
    at = end + 1;
  }
  return lines;
}

TEST_CASE("the host key asked for is one known_hosts holds for the host, whichever type that is") {
  EnsureLab();
  // Every lab sshd has an Ed25519 and an ECDSA host key, as a Debian install does; an operator's
  // known_hosts may hold either. A fixed preference would get the other one and fail to verify it.
  const std::string ed25519 = KnownHostsLines("mercury", "ssh-ed25519");
  const std::string ecdsa = KnownHostsLines("mercury", "ecdsa-sha2-nistp256");
  REQUIRE_FALSE(ed25519.empty());
  REQUIRE_FALSE(ecdsa.empty());
  SshOptions options = LabSsh("mercury");

  options.known_hosts = lab::WriteFile("known_hosts.ed25519", ed25519);
  auto only_ed25519 = SshSession::Connect(options);
  REQUIRE_MESSAGE(only_ed25519.ok(), only_ed25519.status().message());
  CHECK((*only_ed25519)->HostKeyAlgorithm() == "ssh-ed25519");

  options.known_hosts = lab::WriteFile("known_hosts.ecdsa", ecdsa);
  auto only_ecdsa = SshSession::Connect(options);
  REQUIRE_MESSAGE(only_ecdsa.ok(), only_ecdsa.status().message());
  CHECK((*only_ecdsa)->HostKeyAlgorithm() == "ecdsa-sha2-nistp256");

  // Hashed entries (ssh-keygen -H, Debian's HashKnownHosts) are recognised too: the Ed25519 line
  // hashed is still chosen over the server's ECDSA key.
  const std::string hashed = lab::WriteFile("known_hosts.hashed", ed25519);
  REQUIRE(std::system(("ssh-keygen -q -H -f '" + hashed + "' >/dev/null 2>&1").c_str()) == 0);
  REQUIRE(lab::ReadFile(hashed).rfind("|1|", 0) == 0);
  options.known_hosts = hashed;
  auto hashed_ed25519 = SshSession::Connect(options);
  REQUIRE_MESSAGE(hashed_ed25519.ok(), hashed_ed25519.status().message());
  CHECK((*hashed_ed25519)->HostKeyAlgorithm() == "ssh-ed25519");

  // Both known: the one whose signature costs the server least, and the cheaper key exchange.
  options.known_hosts = lab::Dir() + "/client/known_hosts";
  auto both = SshSession::Connect(options);
  REQUIRE_MESSAGE(both.ok(), both.status().message());
  CHECK((*both)->HostKeyAlgorithm() == "ecdsa-sha2-nistp256");
  CHECK((*both)->KeyExchange() == "ecdh-sha2-nistp256");
}

TEST_CASE("a key the server does not accept is AuthFailed") {
  EnsureLab();
  SshOptions options = LabSsh("mercury");
  options.identity = lab::Dir() + "/hosts/mercury/ssh_host_ed25519_key";  // a real key, not authorized
  auto session = SshSession::Connect(options);
  REQUIRE_FALSE(session.ok());
  CHECK(session.status().code() == Status::Code::kAuthFailed);
}

TEST_CASE("no sshd on the port is Unavailable") {
  SshOptions options = LabSsh("mercury");
  options.host = "127.0.0.99";
  auto session = SshSession::Connect(options);
  REQUIRE_FALSE(session.ok());
  CHECK(session.status().code() == Status::Code::kUnavailable);
}

TEST_CASE("ReadState reads variables, users, declared grants without hashes, and the config") {
  EnsureLab();
  lab::Sql("mercury",
           "CREATE USER IF NOT EXISTS 'pierre'@'%' IDENTIFIED BY 'app-pw-for-test'; "
           "CREATE USER IF NOT EXISTS 'stranger'@'%' IDENTIFIED BY 'x'; "
           "CREATE DATABASE IF NOT EXISTS secondhand_production CHARACTER SET utf8mb4; "
           "GRANT ALL PRIVILEGES ON secondhand_production.* TO 'pierre'@'%'");
  Topology topology = LabTopology();
  auto provider = MakeLiveProvider();
  RawServerState raw = provider->ReadState(topology, topology.servers[0]);
  REQUIRE_MESSAGE(raw.sql_ok, raw.sql_error);
  REQUIRE_MESSAGE(raw.ssh_ok, raw.ssh_error);
  ServerState state = ParseServerState(raw);
  CHECK(state.server_id == 1u);
  CHECK(state.log_bin == false);
  CHECK(state.bind_address == lab::Address("mercury"));
  CHECK(state.version.find("MariaDB") != std::string::npos);
  CHECK(state.FindDatabase("secondhand_production") != nullptr);
  CHECK(state.FindDatabase("mysql") == nullptr);
  const LiveUser* pierre = state.FindUser("pierre", "%");
  REQUIRE(pierre != nullptr);
  REQUIRE(pierre->grants.size() == 2);
  CHECK(pierre->grants[1] == "GRANT ALL PRIVILEGES ON `secondhand_production`.* TO `pierre`@`%`");
  for (const LiveUser& user : state.users) {
    for (const std::string& grant : user.grants) CHECK(grant.find("IDENTIFIED") == std::string::npos);
  }
  // Accounts the topology does not declare are listed, but their grants are not read.
  REQUIRE(state.FindUser("stranger", "%") != nullptr);
  CHECK(raw.grants.count("'stranger'@'%'") == 0);
  CHECK(state.config_exists);
  CHECK(state.config.at("bind_address") == lab::Address("mercury"));
  lab::Sql("mercury", "DROP USER 'pierre'@'%'; DROP USER 'stranger'@'%'; DROP DATABASE secondhand_production");
}

TEST_CASE("ReadState does the SQL and the SSH read at the same time") {
  EnsureLab();
  Topology topology = LabTopology();
  // Each side is held for 2 s from the moment it starts waiting: the SSH side reads a FIFO whose
  // writer waits 2 s after the reader opened it, the SQL side waits for a write lock on the table
  // behind mysql.user that is released 2 s after the read is seen waiting. One after the other
  // that is at least 4 s; side by side about 2 s.
  const std::string fifo = lab::Dir() + "/tmp/slow-my.cnf";
  lab::WriteFile("slow-placeholder", "");  // makes sure Dir()/tmp exists
  std::remove(fifo.c_str());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  topology.servers[0].config_file = fifo;
  auto holder = MysqlConnection::Connect(AdminOptions("mercury"));
  auto watcher = MysqlConnection::Connect(AdminOptions("mercury"));
  REQUIRE((holder.ok() && watcher.ok()));
  REQUIRE((*holder)->Execute("LOCK TABLES mysql.global_priv WRITE").ok());
  // Started after the last REQUIRE: a writer blocked on the FIFO could never be joined.
  std::thread writer([&] {
    std::ofstream out(fifo);  // blocks until the remote `cat` opens the FIFO
    std::this_thread::sleep_for(std::chrono::seconds(2));
    out << "[mysqld]\nserver_id = 9\n";
  });
  bool saw_sql_waiting = false;
  std::thread unlocker([&] {
    for (int i = 0; i < 200 && !saw_sql_waiting; ++i) {
      auto waiting = (*watcher)->Query(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE LIKE '%metadata lock%'");
      saw_sql_waiting = waiting.ok() && !waiting->empty() && waiting->at(0).at("n") != "0";
      if (!saw_sql_waiting) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    (void)(*holder)->Execute("UNLOCK TABLES");
  });
  auto provider = MakeLiveProvider();
  auto started = Clock::now();
  RawServerState raw = provider->ReadState(topology, topology.servers[0]);
  long long elapsed = MsSince(started);
  writer.join();
  unlocker.join();
  std::remove(fifo.c_str());
  CHECK_MESSAGE(raw.sql_ok, raw.sql_error);
  CHECK_MESSAGE(raw.ssh_ok, raw.ssh_error);
  CHECK(raw.config_text == "[mysqld]\nserver_id = 9\n");
  CHECK(saw_sql_waiting);  // the SQL side really was held
  CHECK(elapsed >= 1900);
  CHECK(elapsed < 3500);   // but not one after the other
}

TEST_CASE("lost transactions: a binlog that cannot be read is 'unknown', never 'nothing lost'") {
  EnsureLab();
  Topology topology = LabTopology();
  ServerSpec old_primary = topology.servers[0];
  // An index in a directory whose name has a space, naming a binlog file that is not there (a
  // disk that lost it): the read must fail loudly, not find no GTID.
  const std::string dir = lab::Dir() + "/tmp/old binlog";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir + "/mysql-bin.index") << dir + "/mysql-bin.000001\n"; }
  old_primary.log_bin = dir + "/mysql-bin.log";
  LiveSessionFactory sessions;
  LostTransactions unreadable = FindLostTransactions(sessions, old_primary, "0-1-5");
  CHECK_FALSE(unreadable.known);
  CHECK_MESSAGE(unreadable.why_unknown.find("cannot read") != std::string::npos, unreadable.why_unknown);

  // (The read that succeeds, GTIDs compared, is failover_test's "lost: 0-1-..." case.)
  std::filesystem::remove_all(dir);
}

TEST_CASE("an unresolvable secret is a clear per-host error naming its source") {
  EnsureLab();
  unsetenv("REPLPLAN_TEST_NO_SUCH_PW");
  Topology topology = LabTopology();
  topology.servers[1].mysql.password = SecretRef{SecretRef::Kind::kEnv, "REPLPLAN_TEST_NO_SUCH_PW", {}};
  auto provider = MakeLiveProvider();
  LiveState live = ReadLiveState(topology, *provider, 3);
  const ServerState* uranus = live.Find("uranus");
  REQUIRE(uranus != nullptr);
  CHECK_FALSE(uranus->sql_ok);
  CHECK(uranus->sql_error == "mysql password: environment variable REPLPLAN_TEST_NO_SUCH_PW is not set");
  CHECK(uranus->ssh_ok);  // the other side still read
  CHECK(live.Find("mercury")->sql_ok);
}

TEST_CASE("a killed host reports its SQL error while the others are read completely") {
  EnsureLab();
  auto killed = lab::Lab({"kill", "venus"});
  REQUIRE_MESSAGE(killed.exit_code == 0, killed.err);
  Topology topology = LabTopology();
  auto provider = MakeLiveProvider();
  ReadStats stats;
  LiveState live = ReadLiveState(topology, *provider, 2, stats);
  REQUIRE(live.servers.size() == 3);
  for (const std::string name : {"mercury", "uranus"}) {
    CAPTURE(name);
    const ServerState& s = live.servers.at(name);
    CHECK(s.sql_ok);
    CHECK(s.ssh_ok);
    CHECK(s.server_id == 1u);
    CHECK(s.bind_address == lab::Address(name));
    CHECK(s.config.at("bind_address") == lab::Address(name));
  }
  const ServerState& venus = live.servers.at("venus");
  CHECK_FALSE(venus.sql_ok);
  CHECK((venus.sql_errno == 2002 || venus.sql_errno == 2003));
  CHECK(venus.sql_error.find(lab::Address("venus") + ":3306") != std::string::npos);
  CHECK(venus.ssh_ok);  // sshd is still up: its config is still known
  CHECK(venus.config.at("bind_address") == lab::Address("venus"));
  CHECK(stats.per_host.size() == 3);
  CHECK(stats.per_host.at("venus").count() < 3000);
  auto started = lab::Lab({"start", "venus"});
  CHECK_MESSAGE(started.exit_code == 0, started.err);
}

}  // namespace replplan
