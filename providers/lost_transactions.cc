#include "providers/lost_transactions.h"

#include <algorithm>
#include <sstream>

#include "engine/desired_config.h"
#include "engine/gtid.h"
#include "engine/shell_quote.h"

namespace replplan {
namespace {

// The last two binlog files named by the index (a failover right after a rotation still sees the
// end of the previous file), each "GTID d-s-n" header printed by mariadb-binlog, GTIDs only: no row
// data crosses the wire. The names become "$@" (log_bin may hold spaces or glob characters) and
// follow "--"; only grep's "no GTID" is forgiven: a binlog that cannot be read is a failure to say
// so, never "nothing lost".
// A relative log_bin lives in the datadir (MariaDB's rule): the one the server's own option files
// give (my_print_defaults follows their includes; the server is down, so @@datadir cannot say),
// else the compiled-in default.
std::string ListGtidsCommand(const std::string& index, const std::string& config_file) {
  const std::string script =
      "idx=" + ShellQuote(index) +
      "\n"
      "case \"$idx\" in /*) ;; *)\n"
      "  d=$(my_print_defaults --defaults-file=" + ShellQuote(config_file) +
      " --mysqld 2>/dev/null | sed -n 's/^--datadir=//p' | tail -n 1)\n"
      "  idx=\"${d:-/var/lib/mysql}/$idx\" ;;\n"
      "esac\n"
      "dir=$(dirname -- \"$idx\")\n"
      "names=$(tail -n 2 -- \"$idx\") || exit 3\n"
      "set --\n"
      "while IFS= read -r f; do\n"
      "  [ -n \"$f\" ] || continue\n"
      "  case \"$f\" in /*) ;; *) f=\"$dir/$(basename -- \"$f\")\" ;; esac\n"
      "  set -- \"$@\" \"$f\"\n"
      "done <<EOF\n"
      "$names\n"
      "EOF\n"
      "[ $# -gt 0 ] || { echo 'empty binlog index' >&2; exit 3; }\n"
      "mariadb-binlog --base64-output=never -- \"$@\" | { grep -o 'GTID [0-9]*-[0-9]*-[0-9]*' || [ $? -eq 1 ]; }\n";
  return "bash -o pipefail -c " + ShellQuote(script);
}

}  // namespace

LostTransactions FindLostTransactions(SessionFactory& sessions, const ServerSpec& old_primary,
                                      const std::string& new_primary_position) {
  LostTransactions out;
  if (old_primary.log_bin.empty()) {
    out.why_unknown = old_primary.name + " has no log_bin in the topology";
    return out;
  }
  SessionLimits limits;
  limits.ssh_connect_timeout_ms = std::min(old_primary.ssh.connect_timeout_ms, 2000);
  limits.command_timeout_ms = 60000;
  limits.fresh = true;
  std::unique_ptr<ServerSession> session = sessions.Open(old_primary, limits);
  if (Status connected = session->ConnectSsh(); !connected.ok()) {
    out.why_unknown = "cannot reach " + old_primary.name + " over SSH to read its binlog: " + connected.message();
    return out;
  }
  std::string index = BinlogBasename(old_primary.log_bin) + ".index";
  auto run = session->Run(ListGtidsCommand(index, old_primary.config_file));
  if (!run.ok() || run->exit_status != 0) {
    out.why_unknown = "cannot read " + old_primary.name + "'s binlog (" + index + "): " +
                      (run.ok() ? run->err : run.status().message());
    while (!out.why_unknown.empty() && out.why_unknown.back() == '\n') out.why_unknown.pop_back();
    return out;
  }
  GtidPosition last;
  std::istringstream lines(run->out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("GTID ", 0) != 0) continue;
    auto one = GtidPosition::Parse(line.substr(5));
    if (!one.ok()) continue;
    for (const auto& [domain, gtid] : one->entries()) {
      auto seen = last.Find(domain);
      if (!seen || gtid.seq >= seen->seq) last.Set(gtid);
    }
  }
  auto have = GtidPosition::Parse(new_primary_position);
  if (!have.ok()) {
    out.why_unknown = have.status().message();
    return out;
  }
  out.known = true;
  out.old_position = last.ToString();
  out.lost = JoinGtidList(have->Missing(last));
  return out;
}

}  // namespace replplan
