#include "providers/local/secrets.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/topology_parser.h"

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

// A directory of its own under /tmp for one test case (runs may overlap), removed with it.
struct TempDir {
  TempDir() {
    char name[] = "/tmp/replplan_secrets_test.XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    const std::string file = path + "/" + name;
    { std::ofstream(file, std::ios::binary) << text; }
    chmod(file.c_str(), mode);
    return file;
  }
  std::string path;
};

std::string ErrorOf(const SecretRef& ref) {
  auto secret = ResolveSecret(ref);
  REQUIRE_FALSE(secret.ok());
  return secret.status().message();
}

SecretRef File(const std::string& path) { return SecretRef{SecretRef::Kind::kFile, path, {}}; }

TEST_CASE("a file secret drops one trailing line break, LF or CRLF, and needs none") {
  TempDir dir;
  CHECK(ResolveSecret(File(dir.Write("lf", "pw-lf\n")))->reveal() == "pw-lf");
  CHECK(ResolveSecret(File(dir.Write("crlf", "pw-crlf\r\n")))->reveal() == "pw-crlf");
  CHECK(ResolveSecret(File(dir.Write("bare", "pw-bare")))->reveal() == "pw-bare");
  CHECK(ResolveSecret(File(dir.Write("spaces", " pw with spaces \n")))->reveal() == " pw with spaces ");
}

TEST_CASE("an unusable secret is an error naming the source and what is wrong, never a value") {
  TempDir dir;
  CHECK(ErrorOf(File(dir.path + "/absent.pw")) == "file " + dir.path + "/absent.pw does not exist");
  CHECK(ErrorOf(File(dir.path + "/absent/x.pw")) == "file " + dir.path + "/absent/x.pw does not exist");
  CHECK(ErrorOf(File(dir.path)) == "file " + dir.path + " is a directory");
  const std::string empty = dir.Write("empty.pw", "");
  CHECK(ErrorOf(File(empty)) == "file " + empty + " is empty");
  const std::string newline = dir.Write("newline.pw", "\n");
  CHECK(ErrorOf(File(newline)) == "file " + newline + " is empty");
  const std::string crlf = dir.Write("crlf.pw", "\r\n");
  CHECK(ErrorOf(File(crlf)) == "file " + crlf + " is empty");
  const std::string blank_first = dir.Write("blank_first.pw", "\nsecond-line-value\n");
  const std::string message = ErrorOf(File(blank_first));
  CHECK(message == "file " + blank_first + " has an empty first line (the secret is its first line)");
  CHECK(message.find("second-line-value") == std::string::npos);

  setenv("REPLPLAN_TEST_EMPTY", "", 1);
  CHECK(ErrorOf(SecretRef{SecretRef::Kind::kEnv, "REPLPLAN_TEST_EMPTY", {}}) ==
        "environment variable REPLPLAN_TEST_EMPTY is empty");
  unsetenv("REPLPLAN_TEST_EMPTY");
}

TEST_CASE("a secret file replplan may not read is an error saying so") {
  if (geteuid() == 0) return;  // root reads any file: nothing to prove here
  TempDir dir;
  const std::string closed = dir.Write("closed.pw", "closed-value\n", 0000);
  const std::string message = ErrorOf(File(closed));
  CHECK(message == "file " + closed + " cannot be read: permission denied");
}

TEST_CASE("a secret file group or others may access gets a warning naming it and the fix; a private one none") {
  TempDir dir;
  const std::string open_file = dir.Write("open.pw", "open-value\n", 0644);
  const std::string warning = LooseSecretFileWarning(File(open_file));
  CHECK(warning == "permissions 0644 for secret file " + open_file +
                       " are too open: group or others can access it; it is used, but make it private: chmod 600 '" +
                       open_file + "'");
  CHECK(LooseSecretFileWarning(File(dir.Write("group.pw", "x\n", 0640))).find("permissions 0640") == 0);
  CHECK(LooseSecretFileWarning(File(dir.Write("gw.pw", "x\n", 0620))).find("permissions 0620") == 0);
  CHECK(LooseSecretFileWarning(File(dir.Write("private.pw", "x\n", 0600))).empty());
  CHECK(LooseSecretFileWarning(File(dir.Write("readonly.pw", "x\n", 0400))).empty());
  CHECK(LooseSecretFileWarning(SecretRef{SecretRef::Kind::kEnv, "HOME", {}}).empty());
  CHECK(ResolveSecret(File(open_file))->reveal() == "open-value");  // still used
}

// A topology whose secrets sit in `dir` or in variables named REPLPLAN_TEST_*.
Topology ParseWithSecrets(const std::string& dir) {
  const std::string text =
      "[cluster]\nname = \"t\"\nprimary = \"db1\"\n\n"
      "[replication]\nuser = \"repl\"\npassword = { file = \"" + dir + "/repl.pw\" }\n\n"
      "[defaults]\nmysql = { user = \"admin\", password = { env = \"REPLPLAN_TEST_ADMIN_PW\" } }\n\n"
      "[[server]]\nname = \"db1\"\naddress = \"10.0.0.1\"\nserver_id = 1\nlog_bin = \"/var/log/b\"\n\n"
      "[[server]]\nname = \"db2\"\naddress = \"10.0.0.2\"\nserver_id = 2\nlog_bin = \"/var/log/b\"\n"
      "mysql = { password = { file = \"" + dir + "/db2.pw\" } }\n\n"
      "[[server]]\nname = \"db3\"\naddress = \"10.0.0.3\"\nserver_id = 3\nlog_bin = \"/var/log/b\"\n\n"
      "[[user]]\nname = \"app\"\npassword = { file = \"" + dir + "/repl.pw\" }\n";
  TopologyParse parse = ParseTopology(text, "t.toml");
  std::string errors;
  for (const Diagnostic& d : parse.errors) errors += d.ToString() + "\n";
  REQUIRE_MESSAGE(parse.ok(), errors);
  return parse.topology;
}

TEST_CASE("SecretUses lists every reference in file order; servers inheriting [defaults] share one") {
  TempDir dir;
  std::vector<SecretUse> uses = SecretUses(ParseWithSecrets(dir.path));
  REQUIRE(uses.size() == 4);
  CHECK(uses[0].key == "replication.password");
  CHECK(uses[0].where.ToString() == "t.toml:7:12");
  CHECK(uses[1].key == "defaults.mysql.password (servers db1, db3)");
  CHECK(uses[1].where.ToString() == "t.toml:10:38");
  CHECK(uses[2].key == "server 'db2' mysql.password");
  CHECK(uses[2].where.ToString() == "t.toml:23:22");
  CHECK(uses[3].key == "user 'app'@'%' password");
  CHECK(uses[3].where.ToString() == "t.toml:33:12");
}

TEST_CASE("CheckTopologySecrets reports every problem at once with its place, and no value") {
  TempDir dir;
  unsetenv("REPLPLAN_TEST_ADMIN_PW");
  Topology topology = ParseWithSecrets(dir.path);
  // repl.pw (replication and the user) is missing, db2.pw is a directory, the variable is unset.
  std::filesystem::create_directory(dir.path + "/db2.pw");
  SecretCheck check = CheckTopologySecrets(topology);
  REQUIRE(check.problems.size() == 4);
  CHECK(check.problems[0] == "t.toml:7:12: replication.password: file " + dir.path + "/repl.pw does not exist");
  CHECK(check.problems[1] ==
        "t.toml:10:38: defaults.mysql.password (servers db1, db3): environment variable REPLPLAN_TEST_ADMIN_PW is "
        "not set");
  CHECK(check.problems[2] == "t.toml:23:22: server 'db2' mysql.password: file " + dir.path + "/db2.pw is a directory");
  CHECK(check.problems[3] == "t.toml:33:12: user 'app'@'%' password: file " + dir.path + "/repl.pw does not exist");
  CHECK(check.warnings.empty());
  Status status = check.ToStatus();
  CHECK(status.code() == Status::Code::kFailedPrecondition);
  CHECK(status.message().rfind(
            "4 secrets the topology needs cannot be resolved; no host was contacted:\n  t.toml:7:12: ", 0) == 0);

  // Everything there: no problem; the shared, too open file is warned about once; no value shown.
  std::filesystem::remove(dir.path + "/db2.pw");
  dir.Write("db2.pw", "db2-value\n");
  dir.Write("repl.pw", "repl-value\n", 0644);
  setenv("REPLPLAN_TEST_ADMIN_PW", "admin-value", 1);
  SecretCheck fine = CheckTopologySecrets(topology);
  unsetenv("REPLPLAN_TEST_ADMIN_PW");
  CHECK(fine.ok());
  CHECK(fine.ToStatus().ok());
  REQUIRE(fine.warnings.size() == 1);
  CHECK(fine.warnings[0].find(dir.path + "/repl.pw") != std::string::npos);
  CHECK(fine.warnings[0].find("repl-value") == std::string::npos);
}

}  // namespace replplan
