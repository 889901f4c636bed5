#include "engine/native_password.h"

#include <doctest/doctest.h>

// Reference values are MariaDB 10.11's own answers to SELECT PASSWORD('...').
TEST_CASE("MysqlNativePasswordHash gives what MariaDB's PASSWORD() gives") {
  CHECK(replplan::MysqlNativePasswordHash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
  CHECK(replplan::MysqlNativePasswordHash("secret") == "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7");
  CHECK(replplan::MysqlNativePasswordHash("it's \"quoted\"\\ é") == "*54A2AD98EC698D5643D44FCDC26FCDEB3AAA590A");
  CHECK(replplan::MysqlNativePasswordHash("") == "");
}
