#include "engine/effective_config.h"

#include <doctest/doctest.h>

namespace replplan {
namespace {

OptionFileRead Text(const std::string& text) { return {true, true, text, ""}; }
OptionDirRead Names(std::vector<std::string> names) { return {true, true, std::move(names), ""}; }

// Debian 12's layout: my.cnf holds only includes; bind-address sits in 50-server.cnf.
constexpr const char* kDebianMyCnf =
    "# The MariaDB configuration file\n"
    "[client-server]\n"
    "socket = /run/mysqld/mysqld.sock\n"
    "!includedir /etc/mysql/conf.d/\n"
    "!includedir /etc/mysql/mariadb.conf.d/\n";

TEST_CASE("a Debian layout: the value and line of a key set in an included file, files in the server's order") {
  OptionFiles read;
  EffectiveConfig first = ResolveEffectiveConfig("/etc/mysql/my.cnf", kDebianMyCnf, read);
  CHECK_FALSE(first.complete());
  CHECK(first.unread_dirs == std::vector<std::string>{"/etc/mysql/conf.d/", "/etc/mysql/mariadb.conf.d/"});
  CHECK(first.settings.size() == 1);  // socket, of [client-server]

  read.dirs["/etc/mysql/conf.d/"] = Names({"mysql.cnf", "mysqldump.cnf", "README"});
  read.dirs["/etc/mysql/mariadb.conf.d/"] =
      Names({"60-galera.cnf", "50-server.cnf", "50-client.cnf", "99-replplan.CNF", "50-server.cnf.dpkg-old"});
  EffectiveConfig second = ResolveEffectiveConfig("/etc/mysql/my.cnf", kDebianMyCnf, read);
  CHECK(second.unread_files == std::vector<std::string>{
                                   "/etc/mysql/conf.d/mysql.cnf", "/etc/mysql/conf.d/mysqldump.cnf",
                                   "/etc/mysql/mariadb.conf.d/50-client.cnf", "/etc/mysql/mariadb.conf.d/50-server.cnf",
                                   "/etc/mysql/mariadb.conf.d/60-galera.cnf", "/etc/mysql/mariadb.conf.d/99-replplan.CNF"});

  read.files["/etc/mysql/conf.d/mysql.cnf"] = Text("[mysql]\n");
  read.files["/etc/mysql/conf.d/mysqldump.cnf"] = Text("[mysqldump]\nquick\nmax_allowed_packet = 16M\n");
  read.files["/etc/mysql/mariadb.conf.d/50-client.cnf"] = Text("[client]\ndefault-character-set = utf8mb4\n");
  read.files["/etc/mysql/mariadb.conf.d/50-server.cnf"] =
      Text("[server]\n\n[mysqld]\npid-file = /run/mysqld/mysqld.pid\nbind-address            = 127.0.0.1\n");
  read.files["/etc/mysql/mariadb.conf.d/60-galera.cnf"] = Text("[galera]\n#wsrep_on = ON\n");
  read.files["/etc/mysql/mariadb.conf.d/99-replplan.CNF"] = Text("[mysqld]\nserver-id = 7\n");
  EffectiveConfig config = ResolveEffectiveConfig("/etc/mysql/my.cnf", kDebianMyCnf, read);
  CHECK(config.complete());
  CHECK(config.problems.empty());
  CHECK(config.settings.at("bind_address") == "127.0.0.1");
  CHECK(config.origins.at("bind_address").file == "/etc/mysql/mariadb.conf.d/50-server.cnf");
  CHECK(config.origins.at("bind_address").line == 5);
  CHECK(config.settings.at("pid_file") == "/run/mysqld/mysqld.pid");
  CHECK(config.settings.at("server_id") == "7");  // ".CNF" counts: the server compares without case
  CHECK(config.settings.count("max_allowed_packet") == 0);  // [mysqldump] is no server group
  CHECK(config.settings.at("socket") == "/run/mysqld/mysqld.sock");  // [client-server] is read by the server too
  CHECK(config.origins.at("socket").file == "/etc/mysql/my.cnf");
  CHECK(config.origins.at("socket").line == 3);
  CHECK(config.files == std::vector<std::string>{"/etc/mysql/my.cnf", "/etc/mysql/conf.d/mysql.cnf",
                                                 "/etc/mysql/conf.d/mysqldump.cnf",
                                                 "/etc/mysql/mariadb.conf.d/50-client.cnf",
                                                 "/etc/mysql/mariadb.conf.d/50-server.cnf",
                                                 "/etc/mysql/mariadb.conf.d/60-galera.cnf",
                                                 "/etc/mysql/mariadb.conf.d/99-replplan.CNF"});
}

TEST_CASE("a key set in several files: the last one read wins, where the include stands") {
  const std::string main =
      "[mysqld]\n"
      "bind-address = 10.0.0.1\n"         // 2: before the include, overridden by it
      "!include /etc/mysql/extra.cnf\n"   // 3
      "[mysqld]\n"
      "report_host = main\n"              // 5: after the include, wins over it
      "!includedir /etc/mysql/d\n";       // 6
  OptionFiles read;
  read.files["/etc/mysql/extra.cnf"] = Text("bind-address = 10.0.0.9\n[mysqld]\nbind-address = 10.0.0.2\nreport_host = x\n");
  read.dirs["/etc/mysql/d"] = Names({"b.cnf", "a.cnf"});
  read.files["/etc/mysql/d/a.cnf"] = Text("[mysqld]\nlog_bin = a\n");
  read.files["/etc/mysql/d/b.cnf"] = Text("[mysqld]\nlog_bin = b\n");
  EffectiveConfig config = ResolveEffectiveConfig("/etc/my.cnf", main, read);
  REQUIRE(config.complete());
  // extra.cnf starts outside any group: its first line sets nothing for the server.
  CHECK(config.settings.at("bind_address") == "10.0.0.2");
  CHECK(config.origins.at("bind_address").file == "/etc/mysql/extra.cnf");
  CHECK(config.origins.at("bind_address").line == 3);
  CHECK(config.settings.at("report_host") == "main");
  CHECK(config.origins.at("report_host").file == "/etc/my.cnf");
  CHECK(config.origins.at("report_host").line == 5);
  CHECK(config.settings.at("log_bin") == "b");  // b.cnf sorts after a.cnf
  CHECK(config.origins.at("log_bin").file == "/etc/mysql/d/b.cnf");
}

TEST_CASE("includes that cannot be followed are named; missing ones are skipped, as the server does") {
  const std::string main =
      "[mysqld]\nserver_id = 1\n!include /etc/gone.cnf\n!include /etc/secret.cnf\n!includedir /etc/locked\n"
      "!include relative.cnf\n!includedir /etc/none\n";
  OptionFiles read;
  read.files["/etc/gone.cnf"] = {true, false, "", ""};
  read.files["/etc/secret.cnf"] = {false, false, "", "Permission denied"};
  read.dirs["/etc/locked"] = {false, true, {}, "Permission denied"};
  read.dirs["/etc/none"] = {true, false, {}, ""};
  EffectiveConfig config = ResolveEffectiveConfig("/etc/my.cnf", main, read);
  CHECK(config.complete());
  CHECK(config.settings.at("server_id") == "1");
  CHECK(config.problems == std::vector<std::string>{
                               "/etc/my.cnf:4 includes /etc/secret.cnf, which cannot be read: Permission denied",
                               "/etc/my.cnf:5 includes the directory /etc/locked, which cannot be listed: Permission denied",
                               "/etc/my.cnf:6: cannot follow 'relative.cnf', not an absolute path"});
  CHECK(config.files == std::vector<std::string>{"/etc/my.cnf"});
}

TEST_CASE("an include cycle stops at the server's depth of 10") {
  OptionFiles read;
  read.files["/etc/a.cnf"] = Text("[mysqld]\nserver_id = 2\n!include /etc/a.cnf\n");
  EffectiveConfig config = ResolveEffectiveConfig("/etc/my.cnf", "!include /etc/a.cnf\n", read);
  CHECK(config.complete());
  CHECK(config.files.size() == 11);  // my.cnf, then a.cnf at depths 1..10
  CHECK(config.settings.at("server_id") == "2");
}

TEST_CASE("an includedir's files: .cnf in any case, sorted by bytes, joined to the directory once") {
  CHECK(IncludedDirFiles("/etc/mysql/conf.d/", {"b.cnf", "A.cnf", "a.cnf", "x.cnf~", "cnf", ".cnf", "y.ini"}) ==
        std::vector<std::string>{"/etc/mysql/conf.d/.cnf", "/etc/mysql/conf.d/A.cnf", "/etc/mysql/conf.d/a.cnf",
                                 "/etc/mysql/conf.d/b.cnf"});
  CHECK(IncludedDirFiles("/", {"z.cnf"}) == std::vector<std::string>{"/z.cnf"});
}

}  // namespace
}  // namespace replplan
