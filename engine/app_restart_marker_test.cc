#include "engine/app_restart_marker.h"

#include <doctest/doctest.h>

#include <string>


namespace replplan {
namespace {

const char kFile[] =
    "default: &default\n"
    "  adapter: mysql2\n"
    "  username: pierre\n"
    "production:\n"
    "  <<: *default\n"
    "  host: 10.0.0.5\n"
    "  port: 3306\n"
    "  password: %s\n";

std::string With(const std::string& password) {
  std::string text = kFile;
  return text.replace(text.find("%s"), 2, password);
}

}  // namespace

TEST_CASE("the restart digest is the same whatever the password, so the password cannot be found from it") {
  CHECK(AppRestartDigest(With("ab3de")) == AppRestartDigest(With("zz9yx")));
  CHECK(AppRestartDigest(With("\"quoted secret\"")) == AppRestartDigest(With("<%= ENV['DB_PASSWORD'] %>")));
  CHECK(AppRestartDigest(With("ab3de")).starts_with("sha256:"));
  CHECK(AppRestartDigest(With("ab3de")).size() == 7 + 64);
  CHECK(DatabaseYmlWithoutSecrets(With("ab3de")).find("ab3de") == std::string::npos);
  CHECK(DatabaseYmlWithoutSecrets(With("ab3de")).find("  password:") != std::string::npos);
}

TEST_CASE("where the app connects is still in the digest: another host, port or database is another digest") {
  std::string other_host = With("ab3de");
  other_host.replace(other_host.find("10.0.0.5"), 8, "10.0.0.6");
  CHECK(AppRestartDigest(other_host) != AppRestartDigest(With("ab3de")));
  std::string other_port = With("ab3de");
  other_port.replace(other_port.find("3306"), 4, "3307");
  CHECK(AppRestartDigest(other_port) != AppRestartDigest(With("ab3de")));
}

TEST_CASE("secrets in other shapes are left out too: quoted keys, *_password, flow mappings, block scalars, URLs") {
  auto same = [](const std::string& a, const std::string& b) {
    CAPTURE(a);
    CHECK(AppRestartDigest(a) == AppRestartDigest(b));
    CHECK(DatabaseYmlWithoutSecrets(a).find("hunter2") == std::string::npos);
  };
  same("production:\n  \"password\": hunter2\n", "production:\n  \"password\": other\n");
  same("production:\n  Password: 'hunter2' # old\n", "production:\n  Password: x\n");
  same("production:\r\n  db_password: hunter2\r\n  host: a\r\n", "production:\r\n  db_password: x\r\n  host: a\r\n");
  same("production: { host: a, password: hunter2, port: 3306 }\n", "production: { host: a, password: x, port: 3306 }\n");
  same("production:\n  password: |\n    hunter2\n    more\n  host: a\n", "production:\n  password: |\n    x\n  host: a\n");
  same("production:\n  password:\n    hunter2\n  host: a\n", "production:\n  password:\n    x\n  host: a\n");
  same("production:\n  url: mysql2://pierre:hunter2@10.0.0.5:3306/app\n",
       "production:\n  url: mysql2://pierre:x@10.0.0.5:3306/app\n");
  same("production:\n  - password: hunter2\n", "production:\n  - password: x\n");
  // ...while the line after a secret's block scalar still counts.
  CHECK(AppRestartDigest("production:\n  password: |\n    x\n  host: a\n") !=
        AppRestartDigest("production:\n  password: |\n    x\n  host: b\n"));
  CHECK(AppRestartDigest("production:\n  url: mysql2://pierre:x@10.0.0.5/app\n") !=
        AppRestartDigest("production:\n  url: mysql2://pierre:x@10.0.0.6/app\n"));
}

TEST_CASE("the old form's digest is the FNV-1a replplan wrote before (a known value)") {
  CHECK(LegacyAppRestartDigest("production:\n  host: 10.0.0.9\n") == "01af5cb2804dffe1");
}

TEST_CASE("a marker matches the file it was written for, in today's form or the FNV-1a form of older markers") {
  const std::string text = With("ab3de");
  CHECK(AppRestartMarkerMatches(AppRestartDigest(text), text));
  CHECK(AppRestartMarkerMatches("  " + AppRestartDigest(text) + "\n", text));
  CHECK_FALSE(AppRestartMarkerMatches(AppRestartDigest(text), text + "  pool: 5\n"));
  CHECK_FALSE(AppRestartMarkerMatches("", text));
  CHECK_FALSE(AppRestartMarkerMatches("sha256:", text));
  const std::string legacy = "fnv1a64:" + LegacyAppRestartDigest(text) + "\n";
  CHECK(IsLegacyAppRestartMarker(legacy));
  CHECK_FALSE(IsLegacyAppRestartMarker(AppRestartDigest(text)));
  CHECK(AppRestartMarkerMatches(legacy, text));
  CHECK_FALSE(AppRestartMarkerMatches(legacy, With("zz9yx")));  // the old form saw the password
}

}  // namespace replplan
