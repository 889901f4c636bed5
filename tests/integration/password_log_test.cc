// Passwords never reach a server's logs in clear (audit finding 12): an apply that creates the
// replication account and a declared [[user]] sends only their mysql_native_password hashes, and
// its CHANGE MASTER (which has no hashed form) is kept out of the general log, so the general
// query log (which records every statement as sent) holds neither password, while both accounts
// still log in with them.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "engine/sql_quote.h"
#include "integration/lab_client.h"

namespace {

// The general log on, into mysql.general_log, from now and across the restarts an apply makes:
// SET GLOBAL for the running server, my.cnf for the next start (lab.sh reset restores my.cnf).
void LogEveryStatement(const std::string& host) {
  std::ofstream(lab::Dir() + "/hosts/" + host + "/my.cnf", std::ios::app)
      << "\ngeneral_log = ON\nlog_output = TABLE\n";
  lab::Sql(host, "SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = ON;");
}

// Logs in over TCP as `user` with `password` (through the environment, never argv).
lab::CommandResult LogIn(const std::string& host, const std::string& user, const std::string& password) {
  return lab::Run({"mariadb", "--no-defaults", "-h", lab::Address(host), "-P", "3306", "-u", user,
                   "--connect-timeout=5", "-N", "-B", "-e", "SELECT CURRENT_USER()"},
                  "", {"MYSQL_PWD=" + password});
}

}  // namespace

TEST_CASE("an apply that creates accounts sends no password in clear: the general log holds none of them") {
  lab::Reset(2);
  for (const char* host : {"mercury", "uranus"}) LogEveryStatement(host);
  auto apply = lab::Replplan({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(apply.exit_code == 0, (apply.out + apply.err));

  const std::string repl = lab::SecretValue("repl.pw");
  const std::string app = lab::SecretValue("app.pw");
  REQUIRE(repl.size() >= 8);
  REQUIRE(app.size() >= 8);
  for (const std::string host : {"mercury", "uranus"}) {
    CAPTURE(host);
    lab::Sql(host, "SET GLOBAL general_log = OFF");  // the checks below quote the passwords themselves
    // The log was on when the accounts were made: it has the CREATE USER statements.
    CHECK(lab::SqlValue(host, "SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE 'CREATE USER%''repl''@%'") !=
          "0");
    for (const std::string& password : {repl, app}) {
      CHECK(lab::SqlValue(host, "SELECT COUNT(*) FROM mysql.general_log WHERE LOCATE(" +
                                    replplan::QuoteString(password) + ", argument) > 0") == "0");
    }
    // And the hashes are right: both accounts log in with their passwords.
    auto as_repl = LogIn(host, "repl", repl);
    CHECK_MESSAGE(as_repl.exit_code == 0, as_repl.err);
    CHECK(as_repl.out == "repl@%\n");
  }
  // pierre is created on the primary and replicates.
  auto as_pierre = LogIn("uranus", "pierre", app);
  CHECK_MESSAGE(as_pierre.exit_code == 0, as_pierre.err);
  CHECK(as_pierre.out == "pierre@%\n");
  CHECK(lab::SqlValue("mercury", "SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE 'CREATE USER%''pierre''@%'") !=
        "0");
}
