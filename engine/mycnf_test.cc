#include "engine/mycnf.h"

#include <doctest/doctest.h>

#include <string>

namespace replplan {

// Debian 12's stock /etc/mysql/mariadb.conf.d/50-server.cnf, abridged: the file replplan meets
// first on a fresh host.
constexpr const char* kDebianServerCnf = R"(#
# These groups are read by MariaDB server.
[server]

# this is only for the mysqld standalone daemon
[mysqld]

#
# * Basic Settings
#
user                    = mysql
pid-file                = /run/mysqld/mysqld.pid
basedir                 = /usr
datadir                 = /var/lib/mysql
tmpdir                  = /tmp
bind-address            = 127.0.0.1
#server-id              = 1
#log_bin                = /var/log/mysql/mysql-bin.log
expire_logs_days        = 10
character-set-server  = utf8mb4
collation-server      = utf8mb4_general_ci

[embedded]

[mariadb]

[mariadb-10.11]
)";

TEST_CASE("ParseMyCnf reads the server groups of Debian's stock config, skipping comments") {
  MyCnf cnf = ParseMyCnf(kDebianServerCnf);
  CHECK(cnf.settings.at("bind_address") == "127.0.0.1");
  CHECK(cnf.settings.at("pid_file") == "/run/mysqld/mysqld.pid");
  CHECK(cnf.settings.at("character_set_server") == "utf8mb4");
  CHECK(cnf.settings.count("server_id") == 0);
  CHECK(cnf.settings.count("log_bin") == 0);
  CHECK(cnf.includes.empty());
}

TEST_CASE("ParseMyCnf ignores groups other programs read") {
  MyCnf cnf = ParseMyCnf("[client]\nport = 3307\nsocket=/x.sock\n[mysqld]\nport=3306\n[mysqldump]\nquick\n");
  CHECK(cnf.settings.at("port") == "3306");
  CHECK(cnf.settings.count("socket") == 0);
  CHECK(cnf.settings.count("quick") == 0);
}

TEST_CASE("ParseMyCnf lets a later server group override an earlier one") {
  MyCnf cnf = ParseMyCnf(
      "[mysqld]\nserver-id = 1\nread_only=0\n[mariadb]\nserver_id=7\n[mariadb-10.11]\nread-only = 1\n"
      "[server]\nreport_host=db1\n[mariadbd]\nlog-slave-updates\n");
  CHECK(cnf.settings.at("server_id") == "7");
  CHECK(cnf.settings.at("read_only") == "1");
  CHECK(cnf.settings.at("report_host") == "db1");
  CHECK(cnf.settings.at("log_slave_updates") == "");
}

TEST_CASE("ParseMyCnf normalizes key spelling and case, and drops a loose- prefix") {
  MyCnf cnf = ParseMyCnf("[mysqld]\nLog-Bin=/var/log/mysql/b.log\nloose-gtid-strict-mode = ON\n");
  CHECK(cnf.settings.at("log_bin") == "/var/log/mysql/b.log");
  CHECK(cnf.settings.at("gtid_strict_mode") == "ON");
}

TEST_CASE("ParseMyCnf maps a bare key to an empty value") {
  MyCnf cnf = ParseMyCnf("[mysqld]\nlog_bin\n  skip-name-resolve   # no DNS\n");
  CHECK(cnf.settings.at("log_bin") == "");
  CHECK(cnf.settings.at("skip_name_resolve") == "");
}

TEST_CASE("ParseMyCnf strips trailing comments but keeps comment characters inside quotes") {
  MyCnf cnf = ParseMyCnf(
      "[mysqld]\n"
      "bind-address = 127.0.0.61   # the lab address\n"
      "report_host = db1 ; semicolon comment\n"
      "init_connect = \"SET NAMES utf8mb4; -- #not a comment\"\n"
      "log_error='/var/log/my sql/error.log'\n"
      "; full-line semicolon comment = 1\n"
      "# full-line hash comment = 1\n");
  CHECK(cnf.settings.at("bind_address") == "127.0.0.61");
  CHECK(cnf.settings.at("report_host") == "db1");
  CHECK(cnf.settings.at("init_connect") == "SET NAMES utf8mb4; -- #not a comment");
  CHECK(cnf.settings.at("log_error") == "/var/log/my sql/error.log");
  CHECK(cnf.settings.size() == 4);
}

TEST_CASE("ParseMyCnf records !include and !includedir lines instead of following them") {
  MyCnf cnf = ParseMyCnf("[client-server]\n!includedir /etc/mysql/conf.d/\n!include /etc/mysql/x.cnf\n");
  REQUIRE(cnf.includes.size() == 2);
  CHECK(cnf.includes[0] == "!includedir /etc/mysql/conf.d/");
  CHECK(cnf.includes[1] == "!include /etc/mysql/x.cnf");
}

TEST_CASE("ParseMyCnf reads CRLF files") {
  MyCnf cnf = ParseMyCnf("[mysqld]\r\nserver_id = 3\r\nlog_bin\r\n");
  CHECK(cnf.settings.at("server_id") == "3");
  CHECK(cnf.settings.at("log_bin") == "");
}

TEST_CASE("EditMyCnf replaces an existing value in place keeping spelling, indentation, comment") {
  std::string in = "[client]\nport = 3306\n\n[mysqld]\n  bind-address\t= 127.0.0.1   # old\nuser = mysql\n";
  std::string out = EditMyCnf(in, {{"bind_address", "127.0.0.61"}});
  CHECK(out == "[client]\nport = 3306\n\n[mysqld]\n  bind-address\t= 127.0.0.61   # old\nuser = mysql\n");
}

TEST_CASE("EditMyCnf appends a new key at the end of the first [mysqld] group") {
  std::string in =
      "# header comment\n[mysqld]\nuser = mysql\nbind-address = 127.0.0.1\n\n# next group\n[embedded]\n";
  std::string out = EditMyCnf(in, {{"server_id", "2"}, {"log_bin", "/var/log/mysql/mysql-bin.log"}});
  CHECK(out ==
        "# header comment\n[mysqld]\nuser = mysql\nbind-address = 127.0.0.1\nserver_id = 2\n"
        "log_bin = /var/log/mysql/mysql-bin.log\n\n# next group\n[embedded]\n");
}

TEST_CASE("EditMyCnf follows the file's key=value style for new keys") {
  CHECK(EditMyCnf("[mysqld]\nuser=mysql\n", {{"server_id", "3"}}) == "[mysqld]\nuser=mysql\nserver_id=3\n");
}

TEST_CASE("EditMyCnf changes a key found in another server group where it is") {
  std::string in = "[mysqld]\nuser = mysql\n[mariadb]\nserver-id = 1\n";
  CHECK(EditMyCnf(in, {{"server_id", "5"}}) == "[mysqld]\nuser = mysql\n[mariadb]\nserver-id = 5\n");
}

TEST_CASE("EditMyCnf leaves a key of the same name in a client group alone") {
  std::string in = "[client]\nport = 3307\n[mysqld]\nuser = mysql\n";
  CHECK(EditMyCnf(in, {{"port", "3306"}}) == "[client]\nport = 3307\n[mysqld]\nuser = mysql\nport = 3306\n");
}

TEST_CASE("EditMyCnf creates a [mysqld] group at the end when there is none") {
  CHECK(EditMyCnf("[client]\nport = 3306\n", {{"server_id", "2"}}) ==
        "[client]\nport = 3306\n\n[mysqld]\nserver_id = 2\n");
  CHECK(EditMyCnf("", {{"server_id", "2"}}) == "[mysqld]\nserver_id = 2\n");
  CHECK(EditMyCnf("[client]\nport = 3306", {{"log_bin", ""}}) == "[client]\nport = 3306\n\n[mysqld]\nlog_bin\n");
}

TEST_CASE("EditMyCnf writes a bare key for an empty value and a value for a bare key") {
  CHECK(EditMyCnf("[mysqld]\nlog-bin = /x\n", {{"log_bin", ""}}) == "[mysqld]\nlog-bin\n");
  CHECK(EditMyCnf("[mysqld]\nlog-bin # on\n", {{"log_bin", "/y/b.log"}}) == "[mysqld]\nlog-bin = /y/b.log # on\n");
}

TEST_CASE("EditMyCnf leaves a commented-out key commented and adds a live one") {
  std::string in = "[mysqld]\n#server-id = 1\nuser = mysql\n";
  CHECK(EditMyCnf(in, {{"server_id", "4"}}) == "[mysqld]\n#server-id = 1\nuser = mysql\nserver_id = 4\n");
}

TEST_CASE("EditMyCnf keeps a missing final newline and CRLF line ends") {
  CHECK(EditMyCnf("[mysqld]\nuser = mysql", {{"server_id", "2"}}) == "[mysqld]\nuser = mysql\nserver_id = 2");
  CHECK(EditMyCnf("[mysqld]\r\nuser = mysql\r\n", {{"server_id", "2"}, {"user", "root"}}) ==
        "[mysqld]\r\nuser = root\r\nserver_id = 2\r\n");
}

TEST_CASE("EditMyCnf quotes a value that would otherwise read back differently") {
  std::string out = EditMyCnf("[mysqld]\n", {{"init_connect", "SET NAMES utf8mb4 # x"}});
  CHECK(out == "[mysqld]\ninit_connect = \"SET NAMES utf8mb4 # x\"\n");
  CHECK(ParseMyCnf(out).settings.at("init_connect") == "SET NAMES utf8mb4 # x");
}

TEST_CASE("EditMyCnf output parses back to the values that were set") {
  std::string out = EditMyCnf(kDebianServerCnf, {{"server_id", "2"},
                                                 {"log_bin", "/var/log/mysql/mysql-bin.log"},
                                                 {"bind_address", "10.0.0.2"},
                                                 {"log_slave_updates", "ON"}});
  MyCnf cnf = ParseMyCnf(out);
  CHECK(cnf.settings.at("server_id") == "2");
  CHECK(cnf.settings.at("log_bin") == "/var/log/mysql/mysql-bin.log");
  CHECK(cnf.settings.at("bind_address") == "10.0.0.2");
  CHECK(cnf.settings.at("log_slave_updates") == "ON");
  CHECK(cnf.settings.at("datadir") == "/var/lib/mysql");
  // Only the changed line and the appended ones differ.
  CHECK(out.find("bind-address            = 10.0.0.2\n") != std::string::npos);
  CHECK(out.find("#server-id              = 1\n") != std::string::npos);
  CHECK(out.find("[embedded]\n\n[mariadb]\n\n[mariadb-10.11]\n") != std::string::npos);
}

TEST_CASE("EditMyCnf with nothing to set returns the text unchanged") {
  CHECK(EditMyCnf(kDebianServerCnf, {}) == kDebianServerCnf);
}

TEST_CASE("MyCnfLines: server settings and include directives in file order, with their line numbers") {
  const std::string text =
      "!include /etc/first.cnf\n"          // 1: before any group: still followed
      "[client]\n"
      "port = 3307\n"                      // 3: not a server group
      "!includedir   /etc/mysql/conf.d/  \n"  // 4
      "[mysqld]\n"
      "bind-address = \"127.0.0.1\"  # x\n"  // 6
      "!includes /nope\n"                  // 7: no directive
      "!include\n"                         // 8: no path
      "\t!include\t/etc/tab.cnf\n";          // 9
  std::vector<MyCnfLine> lines = MyCnfLines(text);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].kind == MyCnfLine::Kind::kInclude);
  CHECK(lines[0].value == "/etc/first.cnf");
  CHECK(lines[0].line == 1);
  CHECK(lines[1].kind == MyCnfLine::Kind::kIncludeDir);
  CHECK(lines[1].value == "/etc/mysql/conf.d/");
  CHECK(lines[1].line == 4);
  CHECK(lines[2].kind == MyCnfLine::Kind::kSetting);
  CHECK(lines[2].key == "bind_address");
  CHECK(lines[2].value == "127.0.0.1");
  CHECK(lines[2].line == 6);
  CHECK(lines[3].kind == MyCnfLine::Kind::kInclude);
  CHECK(lines[3].value == "/etc/tab.cnf");
  CHECK(lines[3].line == 9);
}

}  // namespace replplan
