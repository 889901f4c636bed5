#include "engine/sql_quote.h"

#include <doctest/doctest.h>

#include <string>

namespace replplan {

TEST_CASE("QuoteIdentifier wraps a plain name in backticks") {
  CHECK(QuoteIdentifier("secondhand_production") == "`secondhand_production`");
}

TEST_CASE("QuoteIdentifier doubles a backtick so it cannot close the identifier") {
  CHECK(QuoteIdentifier("a`b") == "`a``b`");
  CHECK(QuoteIdentifier("`; DROP DATABASE x; --") == "```; DROP DATABASE x; --`");
}

TEST_CASE("QuoteIdentifier keeps quotes and spaces that are harmless inside backticks") {
  CHECK(QuoteIdentifier("it's a db") == "`it's a db`");
  CHECK(QuoteIdentifier("") == "``");
}

TEST_CASE("QuoteString escapes every character mysql_real_escape_string escapes") {
  CHECK(QuoteString("plain") == "'plain'");
  CHECK(QuoteString("o'brien") == "'o\\'brien'");
  CHECK(QuoteString("say \"hi\"") == "'say \\\"hi\\\"'");
  CHECK(QuoteString("back\\slash") == "'back\\\\slash'");
  CHECK(QuoteString("line\nbreak\rreturn") == "'line\\nbreak\\rreturn'");
  CHECK(QuoteString(std::string("nul\0byte", 8)) == "'nul\\0byte'");
  CHECK(QuoteString("ctrl\x1az") == "'ctrl\\Zz'");
}

TEST_CASE("QuoteString cannot be closed early by a trailing backslash") {
  // 'abc\' would leave the literal open; the backslash must be doubled.
  CHECK(QuoteString("abc\\") == "'abc\\\\'");
  CHECK(QuoteString("\\'") == "'\\\\\\''");
}

TEST_CASE("QuoteString leaves UTF-8 bytes as they are") {
  CHECK(QuoteString("Zoë ☃") == "'Zoë ☃'");
}

TEST_CASE("QuoteAccount renders user@host with both parts quoted") {
  CHECK(QuoteAccount("repl", "%") == "'repl'@'%'");
  CHECK(QuoteAccount("o'neil", "10.0.0.%") == "'o\\'neil'@'10.0.0.%'");
}

TEST_CASE("a list of names is one unambiguous string: sorted, each quoted, comma-separated") {
  CHECK(SortedIdentifierList({"shop", "a,b", "it`s"}) == "`a,b`,`it``s`,`shop`");
  CHECK(SortedIdentifierList({}).empty());
}

}  // namespace replplan
