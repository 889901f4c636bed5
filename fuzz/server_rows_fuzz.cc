// ParseServerState on arbitrary server rows (SHOW GLOBAL VARIABLES, SHOW ALL SLAVES STATUS,
// information_schema, mysql.user, SHOW GRANTS, the config file): what a server, or whoever controls
// one, answers. Input, one item per line, fields separated by a tab ("\n", "\t", "\\" escapes):
//   sql_ok | ssh_ok | config_exists            flags
//   var NAME VALUE                             a variable
//   slave | db | user                          starts a row of that kind
//   col NAME VALUE                             a column of the current row
//   grant LINE                                 a SHOW GRANTS line of the current user row
//   config                                     the rest of the input is the config file
// Properties:
//   - no SQL-side state when sql_ok is false; the config exactly when SSH read one;
//   - numbers are read only when the whole value is one (server_id within uint32; a NULL (empty)
//     Seconds_Behind_Master is unknown lag, never zero lag);
//   - system schemas (mysql, information_schema, performance_schema, sys, any case) never listed;
//   - credentials never survive: for every user row the harness adds the SHOW GRANTS lines MariaDB
//     prints for that account with a password hash or auth string (user and host quoted with
//     backticks as the server does), and no parsed grant may still hold that credential, while
//     each keeps its privileges and account and its REQUIRE / WITH clause.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/live_state.h"
#include "engine/mycnf.h"
#include "engine/sql_quote.h"
#include "fuzz/fuzz_check.h"

namespace {

using replplan::fuzz::Escaped;

constexpr std::string_view kCredential = "*A1B2C3D4E5F60718293A4B5C6D7E8F9012345678";

std::string Unescape(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      const char c = v[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::vector<std::string> Fields(std::string_view line) {
  std::vector<std::string> out;
  while (true) {
    const size_t tab = line.find('\t');
    out.push_back(Unescape(line.substr(0, tab)));
    if (tab == std::string_view::npos || out.size() == 3) break;
    line.remove_prefix(tab + 1);
  }
  if (out.size() == 3 && line.find('\t') != std::string_view::npos) out.back() = Unescape(line);
  return out;
}

// `name` as MariaDB's SHOW GRANTS quotes an account part: backticks, a backtick doubled, nothing
// else escaped (a backslash is an ordinary character in an identifier).
std::string Backticked(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

bool IsDigits(std::string_view s, bool sign) {
  if (sign && !s.empty() && s.front() == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The value a case-insensitive column lookup reads: the exact spelling, else the first other one.
std::string Column(const replplan::Row& row, const std::string& column) {
  if (auto it = row.find(column); it != row.end()) return it->second;
  for (const auto& [name, value] : row) {
    if (Lower(name) == Lower(column)) return value;
  }
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  replplan::RawServerState raw;
  raw.name = "db1";
  enum class RowKind { kNone, kSlave, kDb, kUser } current = RowKind::kNone;
  std::vector<std::string> pending_grants;  // for the current user row, keyed once it is complete
  auto flush_user = [&] {
    if (current != RowKind::kUser || raw.users.empty()) return;
    const replplan::Row& row = raw.users.back();
    auto& lines = raw.grants[replplan::QuoteAccount(Column(row, "user"), Column(row, "host"))];
    lines.insert(lines.end(), pending_grants.begin(), pending_grants.end());
    pending_grants.clear();
  };
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const std::vector<std::string> f = Fields(line);
    const std::string& what = f[0];
    if (what == "sql_ok") raw.sql_ok = true;
    if (what == "ssh_ok") raw.ssh_ok = true;
    if (what == "config_exists") raw.config_exists = true;
    if (what == "var" && f.size() >= 3) raw.variables[f[1]] = f[2];
    if (what == "slave" || what == "db" || what == "user") {
      flush_user();
      current = what == "slave" ? RowKind::kSlave : what == "db" ? RowKind::kDb : RowKind::kUser;
      (current == RowKind::kSlave ? raw.replica_status : current == RowKind::kDb ? raw.databases : raw.users)
          .emplace_back();
    }
    if (what == "col" && f.size() >= 3 && current != RowKind::kNone) {
      (current == RowKind::kSlave ? raw.replica_status : current == RowKind::kDb ? raw.databases : raw.users)
          .back()[f[1]] = f[2];
    }
    // The credential marker is the harness's own; an input line holding it proves nothing.
    if (what == "grant" && f.size() >= 2 && current == RowKind::kUser && f[1].find(kCredential) == std::string::npos) {
      pending_grants.push_back(f[1]);
    }
    if (what == "config") {
      raw.config_text = std::string(text);
      break;
    }
  }
  flush_user();

  // The credential-bearing lines MariaDB prints for each account.
  constexpr std::string_view kClauses[] = {" IDENTIFIED BY PASSWORD '", " IDENTIFIED VIA ed25519 USING '",
                                           " IDENTIFIED VIA mysql_native_password USING '"};
  constexpr std::string_view kClauseEnds[] = {"'", "'", "' OR unix_socket"};
  constexpr std::string_view kTails[] = {"", " REQUIRE SSL", " WITH GRANT OPTION", " REQUIRE SSL WITH MAX_USER_CONNECTIONS 10"};
  std::map<std::string, std::vector<std::string>> expected;  // account -> its lines, stripped
  for (const replplan::Row& row : raw.users) {
    const std::string user = Column(row, "user");
    const std::string host = Column(row, "host");
    const std::string account = replplan::QuoteAccount(user, host);
    if ((user + host).find(kCredential) != std::string::npos || expected.count(account) != 0) continue;
    const std::string prefix = "GRANT USAGE ON *.* TO " + Backticked(user) + "@" + Backticked(host);
    for (size_t c = 0; c < std::size(kClauses); ++c) {
      for (std::string_view tail : kTails) {
        raw.grants[account].push_back(prefix + std::string(kClauses[c]) + std::string(kCredential) +
                                      std::string(kClauseEnds[c]) + std::string(tail));
        expected[account].push_back(prefix + std::string(tail));
      }
    }
  }

  const replplan::ServerState state = replplan::ParseServerState(raw);

  if (!raw.sql_ok) {
    FUZZ_CHECK(state.version.empty() && !state.server_id && state.channels.empty() && state.databases.empty() &&
                   state.users.empty(),
               "SQL-side state without sql_ok");
  } else {
    const std::string server_id = raw.variables.count("server_id") ? raw.variables.at("server_id") : "";
    uint64_t id = 0;
    const auto [end, ec] = std::from_chars(server_id.data(), server_id.data() + server_id.size(), id);
    const bool id_ok = IsDigits(server_id, false) && ec == std::errc() && end == server_id.data() + server_id.size() &&
                       id <= std::numeric_limits<uint32_t>::max();
    FUZZ_CHECK(state.server_id.has_value() == id_ok, "server_id " + Escaped(server_id));
    FUZZ_CHECK(state.channels.size() == raw.replica_status.size(), "a replica_status row was dropped");
    for (size_t i = 0; i < raw.replica_status.size(); ++i) {
      const std::string behind = Column(raw.replica_status[i], "Seconds_Behind_Master");
      if (!IsDigits(behind, true)) {
        FUZZ_CHECK(!state.channels[i].seconds_behind.has_value(),
                   "Seconds_Behind_Master " + Escaped(behind) + " read as a lag");
      }
    }
    for (const replplan::LiveDatabase& db : state.databases) {
      const std::string name = Lower(db.name);
      FUZZ_CHECK(name != "mysql" && name != "information_schema" && name != "performance_schema" && name != "sys",
                 "system schema listed: " + Escaped(db.name));
    }
    FUZZ_CHECK(state.users.size() == raw.users.size(), "a user row was dropped");
    for (const replplan::LiveUser& user : state.users) {
      for (const std::string& grant : user.grants) {
        FUZZ_CHECK(grant.find(kCredential) == std::string::npos,
                   "a credential survived for " + Escaped(user.name) + "@" + Escaped(user.host) + ": " + Escaped(grant));
      }
      // The harness's lines come last in the account's list, in the order they were added.
      const auto want = expected.find(replplan::QuoteAccount(user.name, user.host));
      if (want == expected.end()) continue;
      FUZZ_CHECK(user.grants.size() >= want->second.size(), "grant lines dropped for " + Escaped(want->first));
      const size_t first = user.grants.size() - want->second.size();
      for (size_t k = 0; k < want->second.size(); ++k) {
        FUZZ_CHECK(user.grants[first + k] == want->second[k],
                   "stripped to " + Escaped(user.grants[first + k]) + ", want " + Escaped(want->second[k]));
      }
    }
  }

  const bool config_read = raw.ssh_ok && raw.config_exists;
  FUZZ_CHECK(state.config_exists == config_read, "config_exists");
  FUZZ_CHECK(state.config == (config_read ? replplan::ParseMyCnf(raw.config_text).settings
                                          : std::map<std::string, std::string>{}),
             "config settings differ from ParseMyCnf");
  return 0;
}
