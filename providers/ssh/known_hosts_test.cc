// known_hosts rules (providers/ssh/known_hosts.h) on canned files. The expectations on host names,
// ports, hashes and patterns are what OpenSSH's `ssh-keygen -F NAME -f FILE` answers for the same
// lines (checked with OpenSSH 9.2).
#include "providers/ssh/known_hosts.h"

#include <doctest/doctest.h>

#include <string>

using replplan::CheckKnownHostKey;
using replplan::HostKeyVerdict;
using replplan::KnownHostsEntry;
using replplan::KnownHostsName;
using replplan::ParseKnownHosts;

namespace {

using Kind = HostKeyVerdict::Kind;

// Two Ed25519 keys and an ECDSA one (ssh-keygen), as known_hosts writes them.
const std::string kKey1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFLABdwyrhsu95CLWWYwBp5TsV/KZW+NRIMRQf1vxoH";
const std::string kKey2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBOPnugYKxRk/qDV32/Yf/lqnDauwKfZrrf+TPLXyZyH";
const std::string kKey3 =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBF0MfjChlOSgM5Zv10qfwQjy9rhFkbkThGWXbX+fAgUZ"
    "jDgfmWkFcXK85zYa/TxisZ0CXcx5brOpYxWR/xVCFWQ=";

std::vector<KnownHostsEntry> Parse(const std::string& text) {
  auto parsed = ParseKnownHosts(text, "known_hosts");
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
  return *parsed;
}

// The blob of one of the keys above, as a server offers it.
std::string Blob(const std::string& key_line) { return Parse("x " + key_line + "\n").front().key; }

Kind Verdict(const std::string& file, const std::string& host, int port, const std::string& key_line) {
  return CheckKnownHostKey(Parse(file), KnownHostsName(host, port), Blob(key_line)).kind;
}

}  // namespace

TEST_CASE("a host is looked up as OpenSSH names it: host on port 22, [host]:port elsewhere") {
  CHECK(KnownHostsName("db1", 22) == "db1");
  CHECK(KnownHostsName("DB1.example", 2222) == "[db1.example]:2222");
  const std::string plain = "db1 " + kKey1 + "\n";
  CHECK(Verdict(plain, "db1", 22, kKey1) == Kind::kMatch);
  // A plain entry is for port 22 only (libssh2 let it match any port).
  CHECK(Verdict(plain, "db1", 2222, kKey1) == Kind::kNotFound);
  const std::string bracketed = "[db1]:2222 " + kKey1 + "\n";
  CHECK(Verdict(bracketed, "db1", 2222, kKey1) == Kind::kMatch);
  CHECK(Verdict(bracketed, "db1", 22, kKey1) == Kind::kNotFound);
  CHECK(Verdict(bracketed, "db1", 2223, kKey1) == Kind::kNotFound);
}

TEST_CASE("hashed names match the name they hash, port included") {
  // `ssh-keygen -H` of "[db1]:2222 <key1>".
  const std::string hashed = "|1|ydAQBdqFWsFpm/KcNPDgitRDIEc=|1YcwcAHrFEALLN55jK8tPpxw6rM= " + kKey1 + "\n";
  CHECK(Verdict(hashed, "db1", 2222, kKey1) == Kind::kMatch);
  CHECK(Verdict(hashed, "db1", 22, kKey1) == Kind::kNotFound);
  CHECK(Verdict(hashed, "db2", 2222, kKey1) == Kind::kNotFound);
  CHECK(Verdict(hashed, "db1", 2222, kKey2) == Kind::kMismatch);
}

TEST_CASE("patterns: lists, wildcards, case, and a negation that excludes") {
  const std::string file = "DB*,!db9,other " + kKey1 + "\n";
  CHECK(Verdict(file, "db1", 22, kKey1) == Kind::kMatch);
  CHECK(Verdict(file, "other", 22, kKey1) == Kind::kMatch);
  CHECK(Verdict(file, "db9", 22, kKey1) == Kind::kNotFound);
  CHECK(Verdict(file, "web1", 22, kKey1) == Kind::kNotFound);
  CHECK(Verdict("[db?]:2222 " + kKey1 + "\n", "db4", 2222, kKey1) == Kind::kMatch);
}

TEST_CASE("a changed key is a mismatch; a key of another type is not found, as the types differ") {
  const std::string file = "db1 " + kKey1 + "\n";
  CHECK(Verdict(file, "db1", 22, kKey2) == Kind::kMismatch);
  CHECK(Verdict(file, "db1", 22, kKey3) == Kind::kNotFound);
  // Two keys of one type for a host (a rotation): either is accepted.
  CHECK(Verdict(file + "db1 " + kKey2 + "\n", "db1", 22, kKey2) == Kind::kMatch);
}

TEST_CASE("a revoked key is refused even when also listed normally, and for every host") {
  const std::string file = "# rotated after the laptop was lost\n"
                           "db1 " + kKey1 + " old\n"
                           "@revoked * " + kKey1 + "\n"
                           "db1 " + kKey2 + "\n";
  HostKeyVerdict revoked = CheckKnownHostKey(Parse(file), "db1", Blob(kKey1));
  CHECK(revoked.kind == Kind::kRevoked);
  CHECK(revoked.line == 3);
  CHECK(Verdict("db1 " + kKey1 + "\n@revoked other " + kKey1 + "\n", "db1", 22, kKey1) == Kind::kRevoked);
  CHECK(Verdict(file, "db1", 22, kKey2) == Kind::kMatch);  // the other key serves on
}

TEST_CASE("a @cert-authority line verifies nothing; blank, comment and SSH-1 lines are skipped") {
  const std::string file = "\n   \n# comment\n@cert-authority db1 " + kKey1 + "\ndb1 1024 35 12345678901234567890\n";
  CHECK(Verdict(file, "db1", 22, kKey1) == Kind::kNotFound);
  CHECK(replplan::KnownKeyTypes(Parse("db1 " + kKey3 + "\n@revoked db1 " + kKey1 + "\ndb1 " + kKey3 + "\n"), "db1") ==
        std::vector<std::string>{"ecdsa-sha2-nistp256"});
}

TEST_CASE("a line that cannot be read is an error naming it") {
  auto marker = ParseKnownHosts("db1 " + kKey1 + "\n@revokd db1 " + kKey1 + "\n", "/root/.ssh/known_hosts");
  REQUIRE_FALSE(marker.ok());
  CHECK(marker.status().message() ==
        "/root/.ssh/known_hosts:2: unknown marker '@revokd' (known_hosts knows @revoked and @cert-authority)");
  auto short_line = ParseKnownHosts("db1 ssh-ed25519\n", "kh");
  REQUIRE_FALSE(short_line.ok());
  CHECK(short_line.status().message() == "kh:1: expected hostnames, key type and base64 key");
  auto bad_base64 = ParseKnownHosts("db1 ssh-ed25519 AAAA*AAA\n", "kh");
  REQUIRE_FALSE(bad_base64.ok());
  CHECK(bad_base64.status().message() == "kh:1: the key is not base64");
  auto wrong_type = ParseKnownHosts("db1 ssh-rsa " + kKey1.substr(12) + "\n", "kh");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.status().message() == "kh:1: key type 'ssh-rsa' does not match the key, which is 'ssh-ed25519'");
}
