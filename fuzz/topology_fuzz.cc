// ParseTopology on arbitrary text (the reviewed TOML file; in a pull request anyone may have
// written it). Properties, beyond "no crash, no leak, no UB, no exception":
//   - parsing is deterministic: the same text twice gives the same model and the same diagnostics;
//   - every diagnostic points into this file (its name, a line of the text, or 0 for the file);
//   - an accepted file keeps engine/topology.h's invariants, which the rest of replplan relies on
//     without checking again: plain unique server names, unique addresses that are host names or
//     IPv4 addresses, unique server_ids in 1..4294967295, a declared primary, absolute server
//     paths, unique app names whose hosts are declared servers, and no control character in any
//     value that reaches a remote shell, a path or SQL.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "engine/topology_parser.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/topology_dump.h"

namespace {

using replplan::fuzz::Escaped;

constexpr char kFile[] = "fuzz.toml";

bool PlainName(const std::string& s) {
  return !s.empty() && std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

bool HostChars(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

bool NoControl(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\0' || c == '\n' || c == '\r'; });
}

void CheckInvariants(const replplan::Topology& t) {
  std::set<std::string> names, addresses, apps;
  std::set<uint32_t> ids;
  for (const replplan::ServerSpec& s : t.servers) {
    FUZZ_CHECK(PlainName(s.name), "server name " + Escaped(s.name));
    FUZZ_CHECK(names.insert(s.name).second, "duplicate server name " + Escaped(s.name));
    FUZZ_CHECK(HostChars(s.address), "address " + Escaped(s.address));
    std::string lower = s.address;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    FUZZ_CHECK(addresses.insert(lower).second, "duplicate address " + Escaped(s.address));
    FUZZ_CHECK(s.server_id >= 1, "server_id 0 for " + s.name);
    FUZZ_CHECK(ids.insert(s.server_id).second, "duplicate server_id " + std::to_string(s.server_id));
    FUZZ_CHECK(!s.config_file.empty() && s.config_file.front() == '/', "not absolute: " + Escaped(s.config_file));
    // log_bin: an absolute base path or one relative to the datadir ("mysql-bin"), never a directory.
    FUZZ_CHECK(!s.log_bin.empty() && s.log_bin.back() != '/', "log_bin names no file: " + Escaped(s.log_bin));
    for (const std::string* path : {&s.log_bin, &s.config_file}) {
      FUZZ_CHECK(NoControl(*path), "control character in path " + Escaped(*path));
    }
    FUZZ_CHECK(NoControl(s.mysql.user) && NoControl(s.ssh.user), "control character in a user name");
    FUZZ_CHECK(s.where.line >= 1, "server without a line");
  }
  FUZZ_CHECK(t.FindServer(t.cluster.primary) != nullptr, "undeclared primary " + Escaped(t.cluster.primary));
  FUZZ_CHECK(NoControl(t.replication.user) && NoControl(t.replication.host), "control character in replication");
  for (const replplan::AppSpec& a : t.apps) {
    FUZZ_CHECK(apps.insert(a.name).second, "duplicate app " + Escaped(a.name));
    FUZZ_CHECK(!a.root.empty() && a.root.front() == '/', "app root not absolute: " + Escaped(a.root));
    FUZZ_CHECK(NoControl(a.root) && NoControl(a.environment), "control character in app " + Escaped(a.name));
    for (const std::string& host : a.hosts) {
      FUZZ_CHECK(t.FindServer(host) != nullptr, "app host " + Escaped(host) + " is not a server");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const replplan::TopologyParse first = replplan::ParseTopology(text, kFile);
  const replplan::TopologyParse second = replplan::ParseTopology(text, kFile);
  const std::string dump = replplan::fuzz::Dump(first);
  FUZZ_CHECK(dump == replplan::fuzz::Dump(second), "first:\n" + dump + "second:\n" + replplan::fuzz::Dump(second));

  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const replplan::Diagnostic& d : first.errors) {
    FUZZ_CHECK(d.where.file == kFile, d.ToString());
    FUZZ_CHECK(d.where.line >= 0 && d.where.line <= lines, d.ToString());
    FUZZ_CHECK(!d.message.empty(), d.ToString());
  }
  if (first.ok()) CheckInvariants(first.topology);
  return 0;
}
