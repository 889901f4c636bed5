#include "engine/database_yml.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <chrono>
#include <string>
#include <vector>

namespace replplan {
namespace {

// What `rails new secondhand -d mysql` (Rails 6) writes, as an operator then keeps it: comments,
// ERB for the pool and the password, the production host set in production itself.
constexpr std::string_view kRails6 = R"(# MySQL. Versions 5.5.8 and up are supported.
#
# Install the MySQL driver
#   gem install mysql2
#
# And be sure to use new-style password hashing:
#   https://dev.mysql.com/doc/refman/5.7/en/password-hashing.html
#
default: &default
  adapter: mysql2
  encoding: utf8mb4
  pool: <%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>
  username: root
  password:
  host: localhost

development:
  <<: *default
  database: secondhand_development

# Warning: The database defined as "test" will be erased and
# re-generated from your development database when you run "rake".
# Do not set this db to the same as development or production.
test:
  <<: *default
  database: secondhand_test

# As with config/secrets.yml, you never want to store sensitive information,
# like your database password, in your source code.
production:
  <<: *default
  database: secondhand_production
  username: pierre
  password: <%= ENV['SECONDHAND_DATABASE_PASSWORD'] %>
  host: 192.168.178.61   # mercury: the primary
  port: 3306
)";

// The lines of `text` (split on '\n', endings dropped).
std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = text.find('\n', start);
    out.emplace_back(text.substr(start, nl == std::string_view::npos ? text.npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

// "line N: -old +new" for each line that differs, when the line count is the same.
std::string LineDiff(std::string_view before, std::string_view after) {
  const std::vector<std::string> a = Lines(before);
  const std::vector<std::string> b = Lines(after);
  if (a.size() != b.size()) return "line count " + std::to_string(a.size()) + " -> " + std::to_string(b.size());
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) out += "line " + std::to_string(i + 1) + ": -" + a[i] + " +" + b[i] + "\n";
  }
  return out;
}

std::string Edit(std::string_view text, const std::map<std::string, std::string>& set,
                 const std::string& environment = "production") {
  Result<std::string> r = EditDatabaseYml(text, environment, set);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return r.value();
}

std::string EditError(std::string_view text, const std::map<std::string, std::string>& set,
                      const std::string& environment = "production") {
  Result<std::string> r = EditDatabaseYml(text, environment, set);
  REQUIRE_MESSAGE(!r.ok(), "edit unexpectedly succeeded:\n" << r.value());
  return r.status().message();
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const size_t pos = text.find(from);
  REQUIRE_MESSAGE(pos != std::string::npos, "no " << from);
  return text.replace(pos, from.size(), to);
}

}  // namespace

TEST_CASE("production's own keys are read as written, with the section and line they come from") {
  const DatabaseYmlSettings s = ReadDatabaseYml(kRails6, "production");
  CHECK(s.section_exists);
  CHECK(s.section_line == 30);
  CHECK(s.host.value == "192.168.178.61");
  CHECK(s.host.raw == "192.168.178.61");  // the trailing comment is not part of the value
  CHECK(s.host.section == "production");
  CHECK(s.host.line == 35);
  CHECK_FALSE(s.host.erb);
  CHECK(s.port.value == "3306");
  CHECK(s.database.value == "secondhand_production");
  CHECK(s.username.value == "pierre");
  CHECK(s.username.line == 33);
}

TEST_CASE("keys an environment does not set come from the anchored default it merges") {
  const DatabaseYmlSettings s = ReadDatabaseYml(kRails6, "development");
  CHECK(s.section_exists);
  CHECK(s.database.value == "secondhand_development");
  CHECK(s.database.section == "development");
  CHECK(s.host.value == "localhost");
  CHECK(s.host.section == "default");
  CHECK(s.host.line == 15);
  CHECK(s.username.value == "root");
  CHECK(s.username.section == "default");
  CHECK_FALSE(s.port.present());  // nobody sets it: Rails uses the driver's default
  CHECK(s.port.value == "");
  CHECK(s.port.section == "");
}

TEST_CASE("a missing environment reads as absent") {
  const DatabaseYmlSettings s = ReadDatabaseYml(kRails6, "staging");
  CHECK_FALSE(s.section_exists);
  CHECK(s.section_line == 0);
  CHECK_FALSE(s.host.present());
  CHECK(s.host.value == "");
}

TEST_CASE("quoted values are unquoted, ERB values are flagged and kept as written") {
  const std::string text =
      "production:\n"
      "  host: \"db.example\"  # quoted\n"
      "  database: 'shop''s'\n"
      "  username: <%= ENV.fetch(\"DB_USER\") { \"a #b\" } %>\n"
      "  port: '3307'\n";
  const DatabaseYmlSettings s = ReadDatabaseYml(text, "production");
  CHECK(s.host.value == "db.example");
  CHECK(s.host.raw == "\"db.example\"");
  CHECK(s.database.value == "shop's");
  CHECK(s.username.erb);
  CHECK(s.username.value == "<%= ENV.fetch(\"DB_USER\") { \"a #b\" } %>");
  CHECK(s.port.value == "3307");
}

TEST_CASE("nested mappings under a key are not mistaken for the section's own keys") {
  const std::string text =
      "production:\n"
      "  adapter: mysql2\n"
      "  variables:\n"
      "    host: not-this-one\n"
      "  database: shop\n";
  const DatabaseYmlSettings s = ReadDatabaseYml(text, "production");
  CHECK_FALSE(s.host.present());
  CHECK(s.database.value == "shop");
}

TEST_CASE("merges follow chains of anchors, and an own key wins over any merge") {
  const std::string text =
      "base: &base\n"
      "  host: base-host\n"
      "  port: 3306\n"
      "mysql: &mysql\n"
      "  <<: *base\n"
      "  port: 3307\n"
      "production:\n"
      "  <<: *mysql\n"
      "  database: shop\n"
      "staging: *mysql\n";
  const DatabaseYmlSettings s = ReadDatabaseYml(text, "production");
  CHECK(s.host.value == "base-host");
  CHECK(s.host.section == "base");
  CHECK(s.port.value == "3307");
  CHECK(s.port.section == "mysql");
  const DatabaseYmlSettings staging = ReadDatabaseYml(text, "staging");
  CHECK(staging.port.value == "3307");
}

TEST_CASE("repointing host and port changes only those two lines, keeping spacing and comments") {
  const std::string edited = Edit(kRails6, {{"host", "192.168.178.66"}, {"port", "3307"}});
  CHECK(LineDiff(kRails6, edited) ==
        "line 35: -  host: 192.168.178.61   # mercury: the primary +  host: 192.168.178.66   # mercury: the primary\n"
        "line 36: -  port: 3306 +  port: 3307\n");
  CHECK(edited.size() == kRails6.size());
  const DatabaseYmlSettings s = ReadDatabaseYml(edited, "production");
  CHECK(s.host.value == "192.168.178.66");
  CHECK(s.port.value == "3307");
  CHECK(ReadDatabaseYml(edited, "development").host.value == "localhost");
}

TEST_CASE("a key production only inherits is added to production, and the shared default is not touched") {
  const std::string text = Replace(std::string(kRails6), "  host: 192.168.178.61   # mercury: the primary\n", "");
  REQUIRE(ReadDatabaseYml(text, "production").host.section == "default");
  const std::string edited = Edit(text, {{"host", "192.168.178.66"}});
  // Appended after production's last line; everything before it byte-identical.
  CHECK(edited == text + "  host: 192.168.178.66\n");
  const DatabaseYmlSettings s = ReadDatabaseYml(edited, "production");
  CHECK(s.host.value == "192.168.178.66");
  CHECK(s.host.section == "production");
  CHECK(ReadDatabaseYml(edited, "development").host.value == "localhost");
  CHECK(ReadDatabaseYml(edited, "test").host.value == "localhost");
}

TEST_CASE("an added key goes after the section's last line, before the next section, at its indentation") {
  const std::string text =
      "default: &default\n"
      "    adapter: mysql2\n"
      "    host: localhost\n"
      "production:\n"
      "    <<: *default\n"
      "    database: shop\n"
      "    # host: set by replplan\n"
      "\n"
      "# the test database\n"
      "test:\n"
      "    <<: *default\n";
  CHECK(LineDiff(text, Edit(text, {{"host", "10.0.0.2"}, {"port", "3306"}})) == "line count 12 -> 14");
  CHECK(Edit(text, {{"host", "10.0.0.2"}, {"port", "3306"}}) ==
        "default: &default\n"
        "    adapter: mysql2\n"
        "    host: localhost\n"
        "production:\n"
        "    <<: *default\n"
        "    database: shop\n"
        "    # host: set by replplan\n"
        "    host: 10.0.0.2\n"
        "    port: 3306\n"
        "\n"
        "# the test database\n"
        "test:\n"
        "    <<: *default\n");
}

TEST_CASE("an added key lands after an ERB block that closes the section, not inside it") {
  const std::string text =
      "production:\n"
      "  database: shop\n"
      "  <% if ENV['REPLICA'] %>\n"
      "  replica: true\n"
      "  <% end %>\n"
      "test:\n"
      "  database: shop_test\n";
  CHECK(Edit(text, {{"host", "10.0.0.2"}}) ==
        "production:\n"
        "  database: shop\n"
        "  <% if ENV['REPLICA'] %>\n"
        "  replica: true\n"
        "  <% end %>\n"
        "  host: 10.0.0.2\n"
        "test:\n"
        "  database: shop_test\n");
}

TEST_CASE("a missing environment is refused, naming the sections the file has") {
  CHECK(EditError(kRails6, {{"host", "10.0.0.2"}}, "producton") ==
        "database.yml has no 'producton' section (did you mean 'production'?); it has default, development, test, "
        "production");
  CHECK(EditError("", {{"host", "10.0.0.2"}}) == "database.yml has no 'production' section");
  CHECK(EditDatabaseYml(kRails6, "staging", {{"host", "x"}}).status().code() == Status::Code::kNotFound);
}

TEST_CASE("an ERB host is refused, whether production writes it or inherits it") {
  const std::string own = Replace(std::string(kRails6), "host: 192.168.178.61", "host: <%= ENV[\"DB_HOST\"] %>");
  const Result<std::string> r = EditDatabaseYml(own, "production", {{"host", "10.0.0.2"}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kFailedPrecondition);
  CHECK(r.status().message() ==
        "database.yml: production.host (line 35) is an ERB template, <%= ENV[\"DB_HOST\"] %>: the operator chose "
        "where it comes from; set what it reads (or edit the line by hand), replplan will not override it");

  std::string inherited = Replace(std::string(kRails6), "  host: 192.168.178.61   # mercury: the primary\n", "");
  inherited = Replace(inherited, "host: localhost", "host: <%= ENV['DB_HOST'] %>");
  CHECK(EditError(inherited, {{"host", "10.0.0.2"}}) ==
        "database.yml: production.host (line 15, inherited from 'default') is an ERB template, "
        "<%= ENV['DB_HOST'] %>: the operator chose where it comes from; set what it reads (or edit the line by "
        "hand), replplan will not override it");
  // Other keys next to an ERB one can still be changed; the ERB password is never read or echoed.
  CHECK(LineDiff(own, Edit(own, {{"port", "3307"}})) == "line 36: -  port: 3306 +  port: 3307\n");
}

TEST_CASE("an ERB value identical to the wanted one is no change, not a refusal") {
  const std::string own = Replace(std::string(kRails6), "host: 192.168.178.61", "host: <%= ENV[\"DB_HOST\"] %>");
  CHECK(Edit(own, {{"host", "<%= ENV[\"DB_HOST\"] %>"}}) == own);
}

TEST_CASE("a CRLF file stays CRLF, including added lines") {
  std::string crlf;
  for (char c : std::string(kRails6)) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const std::string edited = Edit(crlf, {{"host", "192.168.178.66"}});
  CHECK(edited == Replace(crlf, "192.168.178.61", "192.168.178.66"));
  const std::string stripped = Replace(crlf, "  port: 3306\r\n", "");
  CHECK(Edit(stripped, {{"port", "3307"}}) == stripped + "  port: 3307\r\n");
  CHECK(ReadDatabaseYml(crlf, "production").database.value == "secondhand_production");
}

TEST_CASE("a file without a final newline still has none after a key is added at its end") {
  const std::string text = "production:\n  database: shop";
  CHECK(Edit(text, {{"host", "10.0.0.2"}, {"port", "3306"}}) ==
        "production:\n  database: shop\n  host: 10.0.0.2\n  port: 3306");
  CHECK(Edit(text, {{"database", "shop2"}}) == "production:\n  database: shop2");
}

TEST_CASE("editing to the values the file already has returns it unchanged, and edits are idempotent") {
  CHECK(Edit(kRails6, {{"host", "192.168.178.61"}, {"port", "3306"}, {"database", "secondhand_production"},
                       {"username", "pierre"}}) == std::string(kRails6));
  // Inherited and already right: nothing to add either.
  CHECK(Edit(kRails6, {{"host", "localhost"}}, "development") == std::string(kRails6));
  const std::map<std::string, std::string> set = {{"host", "192.168.178.66"}, {"port", "3307"}};
  const std::string once = Edit(kRails6, set, "development");
  CHECK(once != std::string(kRails6));
  CHECK(Edit(once, set, "development") == once);
}

TEST_CASE("the quoting style of the line is kept, and values YAML would misread are double-quoted") {
  const std::string text =
      "default: &default\n"
      "  username: 'app'\n"
      "production:\n"
      "  <<: *default\n"
      "  host: \"db1\"\n"
      "  database: shop\n";
  CHECK(LineDiff(text, Edit(text, {{"host", "db2"}})) == "line 5: -  host: \"db1\" +  host: \"db2\"\n");
  CHECK(LineDiff(text, Edit(text, {{"database", "yes"}})) == "line 6: -  database: shop +  database: \"yes\"\n");
  CHECK(LineDiff(text, Edit(text, {{"database", "2024"}})) == "line 6: -  database: shop +  database: \"2024\"\n");
  CHECK(LineDiff(text, Edit(text, {{"database", "a: b"}})) == "line 6: -  database: shop +  database: \"a: b\"\n");
  CHECK(LineDiff(text, Edit(text, {{"database", "*x"}})) == "line 6: -  database: shop +  database: \"*x\"\n");
  // Added under production in the style of the value it overrides.
  CHECK(Edit(text, {{"username", "o'neil"}}) == text + "  username: 'o''neil'\n");
  CHECK(ReadDatabaseYml(Edit(text, {{"username", "o'neil"}}), "production").username.value == "o'neil");
  CHECK(Edit(text, {{"port", "3306"}}) == text + "  port: 3306\n");  // a port is a number: plain
}

TEST_CASE("what cannot be edited without guessing is refused with the reason") {
  const std::string twice = "production:\n  host: a\n  <% if x %>\n  host: b\n  <% end %>\n";
  CHECK(EditError(twice, {{"host", "c"}}) ==
        "database.yml: production.host is set 2 times (lines 2 and 4), probably in ERB branches; replplan cannot "
        "tell which one Rails uses");
  CHECK(EditError("production:\n  host: a\nproduction:\n  host: b\n", {{"host", "c"}}) ==
        "database.yml defines 'production' 2 times; leave one before replplan edits it");
  CHECK(EditError("default: &d\n  host: a\nproduction: *d\n", {{"host", "c"}}) ==
        "database.yml: 'production: *d' (line 3) has no keys of its own to set host in; write it as a mapping with "
        "'<<: *d'");
  CHECK(EditError(kRails6, {{"password", "x"}}) ==
        "database.yml: replplan sets only host, port, database and username, not 'password'");
  CHECK(EditError(kRails6, {{"port", "99999"}}) == "database.yml: port must be in 1..65535, got '99999'");
  CHECK(EditError(kRails6, {{"host", ""}}) == "database.yml: host must not be empty");
  CHECK(EditError(kRails6, {{"host", "a\nb"}}) == "database.yml: host must not contain control characters");
  // Rails runs the file through ERB: a tag in a value would be Ruby the app runs at boot.
  CHECK(EditError(kRails6, {{"host", "db2<%= `id` %>"}}) ==
        "database.yml: host must not contain an ERB tag ('<%' or '%>'), got 'db2<%= `id` %>'");
}

}  // namespace replplan

namespace replplan {
namespace {

// `sections` sections s1..sN, each anchored and merging itself and every section before it
// (`<<: [*sK, *s1, ..., *sK-1]`), none setting port; production merges the last. Following every alias,
// that is about N^depth paths; resolved once per section and key, about N^2/2 aliases.
std::string SelfMerges(int sections) {
  std::string text = "s1: &s1\n  host: base\n  <<: *s1\n";
  for (int k = 2; k <= sections; ++k) {
    text += "s" + std::to_string(k) + ": &s" + std::to_string(k) + "\n  <<: [*s" + std::to_string(k);
    for (int j = 1; j < k; ++j) text += ", *s" + std::to_string(j);
    text += "]\n";
  }
  return text + "production:\n  <<: *s" + std::to_string(sections) + "\n  database: shop\n";
}

// Nanoseconds per input byte to read `text`, the best of a few rounds (the machine is shared).
double NanosPerByte(const std::string& text, int repeats) {
  double best = 1e300;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) {
      const DatabaseYmlSettings s = ReadDatabaseYml(text, "production");
      REQUIRE(s.host.value == "base");
    }
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count() / repeats / static_cast<double>(text.size()));
  }
  return best;
}

}  // namespace

TEST_CASE("many self-merges and repeated merges are resolved once each: the cost grows with the file, not exponentially") {
  const std::string small = SelfMerges(16);
  const std::string large = SelfMerges(64);
  const DatabaseYmlSettings s = ReadDatabaseYml(large, "production");
  CHECK(s.error == "");
  CHECK(s.host.value == "base");
  CHECK(s.host.section == "s1");
  CHECK_FALSE(s.port.present());
  CHECK(Edit(large, {{"port", "3307"}}) == large + "  port: 3307\n");
  // Following every alias (depth 9), 16 sections took hours; memoised, the time per byte of the
  // 64-section file (16 times the aliases) stays within a small factor of the 16-section one's.
  // The audit's shape: one anchor merging itself 16 and 64 times (8 took 2 s, 16 hours).
  for (int n : {16, 64}) {
    std::string self = "default: &d\n  host: a\n  <<: [*d";
    for (int i = 1; i < n; ++i) self += ", *d";
    self += "]\nproduction:\n  <<: *d\n";
    const DatabaseYmlSettings d = ReadDatabaseYml(self, "production");
    CHECK(d.error == "");
    CHECK(d.host.value == "a");
    CHECK_FALSE(d.port.present());
  }
  const double per_byte_small = NanosPerByte(small, 200);
  const double per_byte_large = NanosPerByte(large, 20);
  MESSAGE("ns per byte: 16 sections " << per_byte_small << ", 64 sections " << per_byte_large);
  CHECK(per_byte_large < 8 * per_byte_small);

  // Wide instead of deep: one section with many keys, merged many times over. Its own keys are
  // looked through once per key, not once per alias.
  const auto wide = [](int n) {
    std::string text = "base: &base\n  host: base\n";
    for (int i = 0; i < n; ++i) text += "  key" + std::to_string(i) + ": x\n";
    text += "production:\n  <<: [*base";
    for (int i = 1; i < n; ++i) text += ", *base";
    return text + "]\n";
  };
  const double per_byte_narrow = NanosPerByte(wide(1000), 20);
  const double per_byte_wide = NanosPerByte(wide(16000), 2);
  MESSAGE("ns per byte: 1000 keys and aliases " << per_byte_narrow << ", 16000 " << per_byte_wide);
  CHECK(per_byte_wide < 8 * per_byte_narrow);
}

TEST_CASE("merges past replplan's bounds stop the read with a clear error instead of following on") {
  // 100001 aliases: more than 100000 steps even when each is resolved once.
  std::string many = "base: &base\n  adapter: mysql2\nproduction:\n  <<: [*base";
  for (int i = 0; i < 100000; ++i) many += ", *base";
  many += "]\n";
  const std::string too_many =
      "database.yml: the '<<' merges at 'production' (line 3) take more than 100000 steps to resolve; replplan "
      "stops reading there: merge each anchor once, a few levels deep";
  const DatabaseYmlSettings s = ReadDatabaseYml(many, "production");
  CHECK(s.section_exists);
  CHECK(s.error == too_many);
  CHECK_FALSE(s.host.present());
  CHECK_FALSE(s.port.present());
  CHECK(EditError(many, {{"host", "10.0.0.2"}}) == too_many);

  // A chain of 70 sections, each merging the one before.
  std::string deep = "s0: &s0\n  host: bottom\n";
  for (int k = 1; k < 70; ++k) {
    deep += "s" + std::to_string(k) + ": &s" + std::to_string(k) + "\n  <<: *s" + std::to_string(k - 1) + "\n";
  }
  deep += "production:\n  <<: *s69\n";
  const std::string too_deep =
      "database.yml: the '<<' merges at 's6' (line 13) nest more than 64 sections deep; replplan stops reading "
      "there: merge each anchor once, a few levels deep";
  CHECK(ReadDatabaseYml(deep, "production").error == too_deep);
  CHECK(EditError(deep, {{"host", "10.0.0.2"}}) == too_deep);
  // 60 deep is still read.
  CHECK(ReadDatabaseYml(deep, "s60").host.value == "bottom");
}

TEST_CASE("an alias names the last section anchored so before it; a self-merge adds nothing") {
  const std::string text =
      "early: &d\n"
      "  host: early-host\n"
      "production:\n"
      "  <<: *d\n"
      "  <<: *later\n"
      "late: &d\n"
      "  host: late-host\n"
      "  port: 3307\n"
      "staging:\n"
      "  <<: *d\n"
      "later: &later\n"
      "  port: 3308\n"
      "self: &self\n"
      "  <<: *self\n"
      "  host: own\n";
  const DatabaseYmlSettings production = ReadDatabaseYml(text, "production");
  CHECK(production.host.value == "early-host");
  CHECK_FALSE(production.port.present());  // *later is defined only after it: undefined in YAML
  const DatabaseYmlSettings staging = ReadDatabaseYml(text, "staging");
  CHECK(staging.host.value == "late-host");
  CHECK(staging.port.value == "3307");
  CHECK(ReadDatabaseYml(text, "self").host.value == "own");
}

}  // namespace replplan

namespace replplan {
namespace {

// production.host as an external YAML loader reads each of `texts`: PyYAML ("python") or Psych,
// the loader Rails uses ("ruby"), one process for all; "<error>" for a file it rejects; nullopt
// when that loader is not installed.
std::optional<std::vector<std::string>> ExternalHosts(const std::string& loader, const std::vector<std::string>& texts) {
  const std::string probe =
      loader == "python" ? "python3 -c 'import yaml' 2>/dev/null" : "ruby -e 'require \"yaml\"' 2>/dev/null";
  if (std::system(probe.c_str()) != 0) return std::nullopt;
  std::string paths;
  std::vector<std::string> files;
  for (const std::string& text : texts) {
    char path[] = "/tmp/replplan-database-yml-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    files.emplace_back(path);
    paths += std::string(" ") + path;
  }
  const std::string command =
      loader == "python"
          ? "python3 -c 'import sys, yaml\n"
            "for p in sys.argv[1:]:\n"
            "  try: print(yaml.safe_load(open(p))[\"production\"][\"host\"])\n"
            "  except Exception: print(\"<error>\")'"
          : "ruby -e 'require \"yaml\"; ARGV.each { |p| puts((YAML.unsafe_load(File.read(p))[\"production\"][\"host\"] "
            "rescue \"<error>\")) }'";
  FILE* pipe = popen((command + paths + " 2>/dev/null").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::vector<std::string> hosts;
  char buffer[256];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) {
    std::string line = buffer;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    hosts.push_back(line);
  }
  pclose(pipe);
  for (const std::string& file : files) unlink(file.c_str());
  return hosts;
}

// Edits production's host to 10.0.0.9 in each `before`, checks the exact result, and that
// replplan's reader and every installed YAML loader read 10.0.0.9 back from it.
void CheckHostEdits(const std::vector<std::pair<std::string, std::string>>& before_expected) {
  std::vector<std::string> edited;
  for (const auto& [before, expected] : before_expected) {
    const std::string after = Edit(before, {{"host", "10.0.0.9"}});
    CHECK(after == expected);
    CHECK(ReadDatabaseYml(after, "production").host.value == "10.0.0.9");
    edited.push_back(after);
  }
  for (const std::string loader : {"python", "ruby"}) {
    const std::optional<std::vector<std::string>> hosts = ExternalHosts(loader, edited);
    if (!hosts) {
      MESSAGE(loader << " YAML is not installed: not checked with it");
      continue;
    }
    REQUIRE(hosts->size() == edited.size());
    for (size_t i = 0; i < edited.size(); ++i) {
      CHECK_MESSAGE((*hosts)[i] == "10.0.0.9", loader << " reads " << (*hosts)[i] << " from:\n" << edited[i]);
    }
  }
}

}  // namespace

TEST_CASE("an empty or null value is replaced with the space YAML needs after the colon, a comment kept") {
  const std::string head = "default: &default\n  adapter: mysql2\nproduction:\n  <<: *default\n";
  CheckHostEdits({
      {head + "  host:\n  port: 3306\n", head + "  host: 10.0.0.9\n  port: 3306\n"},
      {head + "  host:   \n", head + "  host: 10.0.0.9\n"},
      {head + "  host:    # the primary\n", head + "  host: 10.0.0.9    # the primary\n"},
      {head + "  host:\t# the primary\r\n", head + "  host: 10.0.0.9 # the primary\r\n"},
      {head + "  host: ~\n", head + "  host: 10.0.0.9\n"},
      {head + "  host: null  # unset\n", head + "  host: 10.0.0.9  # unset\n"},
      {head + "  host: ''\n", head + "  host: '10.0.0.9'\n"},
      {head + "  host: \"\"  # set by replplan\n", head + "  host: \"10.0.0.9\"  # set by replplan\n"},
      {head + "  \"host\":\n", head + "  \"host\": 10.0.0.9\n"},
      {head + "  host: 10.0.0.2 # the primary\n", head + "  host: 10.0.0.9 # the primary\n"},
  });
  // Read: present, and null (Rails gets nil and uses the driver's default).
  for (const char* line : {"  host:\n", "  host: ~\n", "  host: NULL\n", "  host:   # c\n"}) {
    const DatabaseYmlSettings s = ReadDatabaseYml(head + line, "production");
    CHECK(s.host.present());
    CHECK(s.host.value == "");
    CHECK(s.host.section == "production");
  }
}

TEST_CASE("values that do not end on their line, and flow-style sections, are refused with the reason") {
  const std::string head = "production:\n  database: shop\n";
  // "host:" with its value on the next line (a plain scalar Psych reads as "db.example").
  CHECK(EditError(head + "  host:\n    db.example\n  port: 3306\n", {{"host", "10.0.0.9"}}) ==
        "database.yml: production.host (line 3) is not a single-line scalar; edit it by hand");
  CHECK(EditError(head + "  host: db1\n    .example\n", {{"host", "10.0.0.9"}}) ==
        "database.yml: production.host (line 3) is not a single-line scalar; edit it by hand");
  CHECK(EditError(head + "  host: \"db1\n    .example\"\n", {{"host", "10.0.0.9"}}) ==
        "database.yml: production.host (line 3) is not a single-line scalar; edit it by hand");
  CHECK(EditError(head + "  host: !!str db1\n", {{"host", "10.0.0.9"}}) ==
        "database.yml: production.host (line 3) is not a single-line scalar; edit it by hand");
  // The key after a block is still editable.
  CHECK(Edit(head + "  variables:\n    sql_mode: TRADITIONAL\n  host: db1\n", {{"host", "10.0.0.9"}}) ==
        head + "  variables:\n    sql_mode: TRADITIONAL\n  host: 10.0.0.9\n");

  const std::string flow = "default: &d\n  adapter: mysql2\nproduction: {host: db1, port: 3306}\n";
  const std::string why =
      "database.yml: 'production' (line 3) is a flow mapping, {host: db1, port: 3306}: replplan reads and edits "
      "one key per line; write it in block style (key: value on lines of their own)";
  CHECK(EditError(flow, {{"host", "10.0.0.9"}}) == why);
  const DatabaseYmlSettings s = ReadDatabaseYml(flow, "production");
  CHECK(s.section_exists);
  CHECK(s.error == why);
  CHECK_FALSE(s.host.present());
}

}  // namespace replplan
