#include "engine/grant_spec.h"

#include <doctest/doctest.h>

namespace replplan {
namespace {

std::string ErrorOf(std::string_view text) {
  Result<GrantSpec> grant = ParseGrant(text);
  REQUIRE_FALSE(grant.ok());
  return grant.status().message();
}

}  // namespace

TEST_CASE("the seed grant parses to all privileges on every table of one database") {
  Result<GrantSpec> grant = ParseGrant("ALL PRIVILEGES ON secondhand_production.*");
  REQUIRE(grant.ok());
  CHECK(grant->privileges == std::vector<std::string>{"ALL PRIVILEGES"});
  CHECK(grant->database == "secondhand_production");
  CHECK(grant->table == "*");
  CHECK(grant->text == "ALL PRIVILEGES ON `secondhand_production`.*");
}

TEST_CASE("a privilege list on one table is upper-cased and normalized") {
  Result<GrantSpec> grant = ParseGrant("select,  insert ON db.tbl");
  REQUIRE(grant.ok());
  CHECK(grant->privileges == std::vector<std::string>{"SELECT", "INSERT"});
  CHECK(grant->database == "db");
  CHECK(grant->table == "tbl");
  CHECK(grant->text == "SELECT, INSERT ON `db`.`tbl`");
}

TEST_CASE("backquoted names may hold any character, a doubled backquote is one backquote") {
  Result<GrantSpec> grant = ParseGrant("SELECT ON `my-app`.`we``ird`");
  REQUIRE(grant.ok());
  CHECK(grant->database == "my-app");
  CHECK(grant->table == "we`ird");
  CHECK(grant->text == "SELECT ON `my-app`.`we``ird`");
}

TEST_CASE("ALL is short for ALL PRIVILEGES and global privileges are fine on *.*") {
  CHECK(ParseGrant("all on *.*")->text == "ALL PRIVILEGES ON *.*");
  CHECK(ParseGrant("REPLICATION SLAVE, REPLICATION CLIENT ON *.*")->text ==
        "REPLICATION SLAVE, REPLICATION CLIENT ON *.*");
  CHECK(ParseGrant("lock   tables ON app.*")->text == "LOCK TABLES ON `app`.*");
  CHECK(ParseGrant("REPLICATION REPLICA, REPLICA MONITOR ON *.*")->text == "REPLICATION SLAVE, SLAVE MONITOR ON *.*");
}

TEST_CASE("malformed grants are rejected with the reason") {
  CHECK(ErrorOf("ALL PRIVILEGES secondhand_production.*") == "missing ' ON ' (expected e.g. 'SELECT, INSERT ON db.*')");
  CHECK(ErrorOf("SELEC ON db.*") == "unknown privilege 'SELEC' (did you mean 'SELECT'?)");
  CHECK(ErrorOf("FROB ON db.*") == "unknown privilege 'FROB'");
  CHECK(ErrorOf("SELECT, GRANT OPTION ON db.*") == "GRANT OPTION cannot be given from the topology file");
  CHECK(ErrorOf("SELECT ON db.* WITH GRANT OPTION") == "WITH GRANT OPTION cannot be given from the topology file");
  CHECK(ErrorOf("GRANT SELECT ON db.*") == "write only the privileges and the object, without the word GRANT");
  CHECK(ErrorOf("SELECT ON db") == "expected 'db.table', 'db.*' or '*.*' after ' ON '");
  CHECK(ErrorOf("SELECT ON *") == "expected 'db.table', 'db.*' or '*.*' after ' ON '");
  CHECK(ErrorOf("SELECT ON *.orders") == "'*.orders' is not an object: use '*.*' or 'db.orders'");
  CHECK(ErrorOf("SELECT ON `db.*") == "unterminated ` in the database name");
  CHECK(ErrorOf("SELECT ON `*`.*") == "`*` is not a database name; write * for all");
  CHECK(ErrorOf("SELECT ON db.`*`") == "`*` is not a table name; write * for all");
  CHECK(ErrorOf("SELECT ON db.t extra") == "unexpected ' extra' after the object");
  CHECK(ErrorOf("SELECT, ON db.*") == "empty privilege in the list");
  CHECK(ErrorOf("SELECT, select ON db.*") == "privilege 'SELECT' is listed twice");
  CHECK(ErrorOf("ALL, SELECT ON db.*") == "ALL PRIVILEGES cannot be combined with other privileges");
  CHECK(ErrorOf("SELECT (id) ON db.t") == "column privileges are not supported ('SELECT (ID)')");
}

TEST_CASE("a privilege must exist at the level of its object") {
  CHECK(ErrorOf("SUPER ON db.*") == "privilege 'SUPER' is global: grant it ON *.*");
  CHECK(ErrorOf("REPLICATION SLAVE ON db.t") == "privilege 'REPLICATION SLAVE' is global: grant it ON *.*");
  CHECK(ErrorOf("EXECUTE ON db.t") == "privilege 'EXECUTE' cannot be granted on a single table");
  CHECK(ParseGrant("EXECUTE ON db.*").ok());
}

}  // namespace replplan
