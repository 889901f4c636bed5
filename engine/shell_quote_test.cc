#include "engine/shell_quote.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <string>

namespace replplan {

TEST_CASE("ShellQuote wraps an argument in single quotes") {
  CHECK(ShellQuote("/etc/mysql/my.cnf") == "'/etc/mysql/my.cnf'");
  CHECK(ShellQuote("") == "''");
}

TEST_CASE("ShellQuote writes a single quote as close, escaped quote, reopen") {
  CHECK(ShellQuote("it's") == "'it'\\''s'");
  CHECK(ShellQuote("'") == "''\\'''");
}

TEST_CASE("ShellQuote leaves shell metacharacters inert inside the quotes") {
  CHECK(ShellQuote("$(rm -rf /); `x` *") == "'$(rm -rf /); `x` *'");
}

TEST_CASE("ShellJoin quotes each argument and separates them by one space") {
  CHECK(ShellJoin({"cat", "/tmp/a b", "it's"}) == "'cat' '/tmp/a b' 'it'\\''s'");
  CHECK(ShellJoin({}) == "");
}

// The real proof: /bin/sh gives back exactly the bytes we quoted.
TEST_CASE("a quoted argument round-trips through /bin/sh unchanged") {
  const std::string tricky = "a'b \"c\" $HOME `id` \\ *;|&\ttab";
  std::string command = "printf %s " + ShellQuote(tricky);
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 256> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  CHECK(pclose(pipe) == 0);
  CHECK(out == tricky);
}

}  // namespace replplan
