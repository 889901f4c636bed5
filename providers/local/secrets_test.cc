#include "providers/local/secrets.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace replplan {

TEST_CASE("an env secret resolves to the variable's value") {
  setenv("REPLPLAN_TEST_SECRET", "s3cr3t", 1);
  SecretRef ref{SecretRef::Kind::kEnv, "REPLPLAN_TEST_SECRET", {}};
  auto secret = ResolveSecret(ref);
  REQUIRE(secret.ok());
  CHECK(secret->reveal() == "s3cr3t");
}

TEST_CASE("a missing env secret is an error that names the variable, not a value") {
  unsetenv("REPLPLAN_TEST_MISSING");
  SecretRef ref{SecretRef::Kind::kEnv, "REPLPLAN_TEST_MISSING", {}};
  auto secret = ResolveSecret(ref);
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.status().message() == "environment variable REPLPLAN_TEST_MISSING is not set");
}

TEST_CASE("a file secret is the file's first line without its newline") {
  char name[] = "/tmp/replplan_secret_test.XXXXXX";  // a name of its own: runs may overlap
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  const char* path = name;
  { std::ofstream(path) << "pw-from-file\nignored\n"; }
  SecretRef ref{SecretRef::Kind::kFile, path, {}};
  auto secret = ResolveSecret(ref);
  std::remove(path);
  REQUIRE(secret.ok());
  CHECK(secret->reveal() == "pw-from-file");
}

TEST_CASE("RedactSecrets replaces every occurrence of a secret") {
  Secret pw("hunter2");
  CHECK(RedactSecrets("Access denied for hunter2 (using hunter2)", {&pw}) ==
        "Access denied for (sensitive) (using (sensitive))");
}

TEST_CASE("RedactSecrets also removes a secret as a string literal carried it, escaped") {
  // A server's error quotes the statement as sent: QuoteString escaped the quote and the backslash.
  Secret pw("it's\\mine");
  CHECK(RedactSecrets("near 'it\\'s\\\\mine'' at line 1", {&pw}) == "near '(sensitive)'' at line 1");
}

TEST_CASE("RedactSecrets removes the longer of two secrets whole when one holds the other") {
  Secret short_one("abc");
  Secret long_one("abcdef");
  CHECK(RedactSecrets("login abcdef failed", {&short_one, &long_one}) == "login (sensitive) failed");
}

}  // namespace replplan
