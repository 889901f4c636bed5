// Host key checks against the lab's real sshd on ADDRESS:2222, as OpenSSH makes them (audit
// finding 15): a key on an @revoked line is refused even where it is also listed normally; a plain
// `host` entry is for port 22 only; and verify_host_key = false is never silent.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "integration/lab_client.h"
#include "providers/ssh/ssh_session.h"

using replplan::SshOptions;
using replplan::SshSession;
using replplan::Status;

namespace {

SshOptions Mercury(const std::string& known_hosts) {
  SshOptions options;
  options.host = lab::Address("mercury");
  options.port = 2222;
  options.identity = lab::Dir() + "/client/id_ed25519";
  options.known_hosts = known_hosts;
  options.connect_timeout_ms = 5000;
  return options;
}

// The lab's known_hosts lines for mercury ("[ADDRESS]:2222 type key"), each without its host field.
std::vector<std::string> MercuryKeys() {
  const std::string all = lab::ReadFile(lab::Dir() + "/client/known_hosts");
  const std::string prefix = "[" + lab::Address("mercury") + "]:2222 ";
  std::vector<std::string> keys;
  for (size_t at = all.find(prefix); at != std::string::npos; at = all.find(prefix, at + 1)) {
    keys.push_back(all.substr(at + prefix.size(), all.find('\n', at) - at - prefix.size()));
  }
  return keys;
}

}  // namespace

TEST_CASE("the lab's own known_hosts ([address]:2222 entries) verifies its sshd") {
  lab::Reset(1);
  auto session = SshSession::Connect(Mercury(lab::Dir() + "/client/known_hosts"));
  CHECK_MESSAGE(session.ok(), session.status().message());
}

TEST_CASE("a revoked host key is refused even though it is also listed for the host") {
  lab::Reset(1);
  const std::vector<std::string> keys = MercuryKeys();
  REQUIRE(keys.size() == 2);  // Ed25519 and ECDSA
  std::string text = lab::ReadFile(lab::Dir() + "/client/known_hosts");
  for (const std::string& key : keys) text += "@revoked * " + key + "\n";
  const std::string file = lab::WriteFile("known_hosts.revoked", text);
  auto session = SshSession::Connect(Mercury(file));
  REQUIRE_FALSE(session.ok());
  CHECK(session.status().code() == Status::Code::kFailedPrecondition);
  CHECK(session.status().message().find("host key for [" + lab::Address("mercury") + "]:2222 is revoked in " + file +
                                        ":") != std::string::npos);
}

TEST_CASE("a plain host entry (port 22) does not vouch for the host's sshd on port 2222") {
  lab::Reset(1);
  std::string text;
  for (const std::string& key : MercuryKeys()) text += lab::Address("mercury") + " " + key + "\n";
  const std::string file = lab::WriteFile("known_hosts.port22", text);
  auto session = SshSession::Connect(Mercury(file));
  REQUIRE_FALSE(session.ok());
  CHECK(session.status().message() == "host key for [" + lab::Address("mercury") + "]:2222 is not in " + file);
  // The same keys under [address]:2222 do.
  std::string bracketed;
  for (const std::string& key : MercuryKeys()) bracketed += "[" + lab::Address("mercury") + "]:2222 " + key + "\n";
  auto right = SshSession::Connect(Mercury(lab::WriteFile("known_hosts.port2222", bracketed)));
  CHECK_MESSAGE(right.ok(), right.status().message());
}

TEST_CASE("verify_host_key = false warns on stderr, naming the host, every time it is used") {
  lab::Reset(1);
  std::string toml = lab::ReadFile(lab::TopologyPath());
  const std::string known = "known_hosts = \"" + lab::Dir() + "/client/known_hosts\"";
  const size_t at = toml.find(known);
  REQUIRE(at != std::string::npos);
  toml.replace(at, known.size(), "verify_host_key = false");
  const std::string path = lab::WriteFile("unverified.toml", toml);
  auto plan = lab::Replplan({"plan", path});
  CHECK_MESSAGE(plan.exit_code == 0, plan.err);
  const std::string warning = "replplan: warning: not verifying the host key of [" + lab::Address("mercury") +
                              "]:2222 (verify_host_key = false)";
  CHECK(plan.err.find(warning) != std::string::npos);
  CHECK(plan.out.find(warning) == std::string::npos);  // not in the plan itself
  // The file without it: no warning.
  auto verified = lab::Replplan({"plan", lab::TopologyPath()});
  CHECK(verified.err.find("warning: not verifying") == std::string::npos);
}
