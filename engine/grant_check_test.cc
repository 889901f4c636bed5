#include "engine/grant_check.h"

#include <doctest/doctest.h>

namespace replplan {
namespace {

GrantSpec Want(std::vector<std::string> privileges, std::string db, std::string table = "*") {
  GrantSpec g;
  g.privileges = std::move(privileges);
  g.database = std::move(db);
  g.table = std::move(table);
  return g;
}

TEST_CASE("a SHOW GRANTS line parses into privileges, database and table") {
  auto line = ParseGrantLine("GRANT SELECT, INSERT ON `shop`.`orders` TO `app`@`%`");
  REQUIRE(line.has_value());
  CHECK(line->privileges == std::vector<std::string>{"SELECT", "INSERT"});
  CHECK(line->database == "shop");
  CHECK(line->table == "orders");
  CHECK_FALSE(line->grant_option);
}

TEST_CASE("WITH GRANT OPTION and an IDENTIFIED BY PASSWORD clause are understood") {
  auto line = ParseGrantLine(
      "GRANT ALL PRIVILEGES ON *.* TO `admin`@`%` IDENTIFIED BY PASSWORD '*AB12' WITH GRANT OPTION");
  REQUIRE(line.has_value());
  CHECK(line->privileges == std::vector<std::string>{"ALL PRIVILEGES"});
  CHECK(line->database == "*");
  CHECK(line->grant_option);
}

TEST_CASE("role grants and routine grants are not object grants") {
  CHECK_FALSE(ParseGrantLine("GRANT `app_role` TO `app`@`%`").has_value());
  CHECK_FALSE(ParseGrantLine("GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `app`@`%`").has_value());
  CHECK_FALSE(ParseGrantLine("not a grant").has_value());
}

TEST_CASE("REPLICATION SLAVE ON *.* is covered by itself, its new name, or ALL PRIVILEGES on *.*") {
  GrantSpec repl = ReplicationSlaveGrant();
  CHECK(GrantsCover({"GRANT REPLICATION SLAVE ON *.* TO `repl`@`%`"}, repl));
  CHECK(GrantsCover({"GRANT REPLICATION REPLICA ON *.* TO `repl`@`%`"}, repl));
  CHECK(GrantsCover({"GRANT ALL PRIVILEGES ON *.* TO `repl`@`%`"}, repl));
  CHECK(GrantsCover({"GRANT USAGE ON *.* TO `repl`@`%`", "GRANT SELECT, REPLICATION SLAVE ON *.* TO `repl`@`%`"},
                    repl));
}

TEST_CASE("a user with only USAGE lacks REPLICATION SLAVE") {
  GrantSpec repl = ReplicationSlaveGrant();
  CHECK(MissingPrivileges({"GRANT USAGE ON *.* TO `repl`@`%`"}, repl) ==
        std::vector<std::string>{"REPLICATION SLAVE"});
  CHECK_FALSE(GrantsCover({}, repl));
}

TEST_CASE("a database-level grant does not give a global privilege") {
  CHECK_FALSE(GrantsCover({"GRANT ALL PRIVILEGES ON `shop`.* TO `repl`@`%`"}, ReplicationSlaveGrant()));
}

TEST_CASE("database grants cover their own database only, global grants cover all") {
  GrantSpec all_on_shop = Want({"ALL PRIVILEGES"}, "shop");
  CHECK(GrantsCover({"GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`"}, all_on_shop));
  CHECK(GrantsCover({"GRANT ALL PRIVILEGES ON *.* TO `app`@`%`"}, all_on_shop));
  CHECK_FALSE(GrantsCover({"GRANT ALL PRIVILEGES ON `shop2`.* TO `app`@`%`"}, all_on_shop));
  CHECK_FALSE(GrantsCover({"GRANT SELECT, INSERT ON `shop`.* TO `app`@`%`"}, all_on_shop));
}

TEST_CASE("only the privileges not granted are reported missing") {
  GrantSpec wanted = Want({"SELECT", "INSERT", "DELETE"}, "shop");
  CHECK(MissingPrivileges({"GRANT SELECT ON `shop`.* TO `app`@`%`", "GRANT INSERT ON *.* TO `app`@`%`"}, wanted) ==
        std::vector<std::string>{"DELETE"});
}

TEST_CASE("a table grant covers that table only, a database grant covers its tables") {
  GrantSpec orders = Want({"SELECT"}, "shop", "orders");
  CHECK(GrantsCover({"GRANT SELECT ON `shop`.`orders` TO `app`@`%`"}, orders));
  CHECK(GrantsCover({"GRANT SELECT ON `shop`.* TO `app`@`%`"}, orders));
  CHECK_FALSE(GrantsCover({"GRANT SELECT ON `shop`.`items` TO `app`@`%`"}, orders));
  CHECK_FALSE(GrantsCover({"GRANT SELECT ON `shop`.`orders` TO `app`@`%`"}, Want({"SELECT"}, "shop")));
}

TEST_CASE("column privileges do not cover a table") {
  CHECK_FALSE(GrantsCover({"GRANT SELECT (`id`, `name`) ON `shop`.`orders` TO `app`@`%`"},
                          Want({"SELECT"}, "shop", "orders")));
}

TEST_CASE("database names in grants are LIKE patterns unless escaped") {
  GrantSpec eu = Want({"SELECT"}, "shop_eu");
  CHECK(GrantsCover({"GRANT SELECT ON `shop_%`.* TO `app`@`%`"}, eu));
  CHECK(GrantsCover({"GRANT SELECT ON `shop\\_eu`.* TO `app`@`%`"}, eu));
  CHECK_FALSE(GrantsCover({"GRANT SELECT ON `shop\\_eu`.* TO `app`@`%`"}, Want({"SELECT"}, "shopXeu")));
  CHECK(GrantsCover({"GRANT SELECT ON `shop_eu`.* TO `app`@`%`"}, Want({"SELECT"}, "shopXeu")));
}

TEST_CASE("ALL and ALL PRIVILEGES are the same wish") {
  CHECK(GrantsCover({"GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`"}, Want({"ALL"}, "shop")));
}

}  // namespace
}  // namespace replplan
