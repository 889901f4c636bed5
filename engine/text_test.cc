#include "engine/text.h"

#include <doctest/doctest.h>

namespace replplan {
namespace {

TEST_CASE("Upper and Lower change ASCII letters only") {
  CHECK(Upper("row Mixed_1") == "ROW MIXED_1");
  CHECK(Lower("Information_SCHEMA") == "information_schema");
  CHECK(Upper("") == "");
}

TEST_CASE("Trim drops white space at both ends; TrimEnd only line ends and spaces at the end") {
  CHECK(Trim(" \t a b \r\n") == "a b");
  CHECK(Trim("   ") == "");
  CHECK(TrimEnd("  secret\r\n") == "  secret");
  CHECK(TrimEnd("value\t\n") == "value\t");  // a tab is kept: it may be part of the value
  CHECK(TrimEnd("\n\n") == "");
}

TEST_CASE("Join puts the separator between items, never at an end") {
  CHECK(Join({}) == "");
  CHECK(Join({"a"}) == "a");
  CHECK(Join({"a", "b", "c"}) == "a, b, c");
  CHECK(Join({"x", "", "y"}, " | ") == "x |  | y");
}

TEST_CASE("IsDigits is non-empty ASCII 0-9 only") {
  CHECK(IsDigits("0"));
  CHECK(IsDigits("4294967295"));
  CHECK_FALSE(IsDigits(""));
  CHECK_FALSE(IsDigits("-1"));
  CHECK_FALSE(IsDigits("+1"));
  CHECK_FALSE(IsDigits(" 1"));
  CHECK_FALSE(IsDigits("1.0"));
  CHECK_FALSE(IsDigits("١"));  // a non-ASCII digit (Arabic-Indic one)
}

}  // namespace
}  // namespace replplan
