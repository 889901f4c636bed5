#include "engine/conditions.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "engine/gtid.h"
#include "engine/mysql_errors.h"
#include "engine/text.h"

namespace replplan {
namespace {

bool StartsWithIgnoreCase(std::string_view text, size_t at, std::string_view word) {
  if (at + word.size() > text.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != std::tolower(static_cast<unsigned char>(word[i]))) {
      return false;
    }
  }
  return true;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string Where(const ServerSpec& spec) { return spec.address + ":" + std::to_string(spec.mysql.port); }

std::string YesNo(bool b) { return b ? "Yes" : "No"; }

class Diagnoser {
 public:
  // What several conditions compare across servers is gathered once, in the file's order, so a
  // diagnosis is linear in the servers (planner_scale_test plans 20,000 of them).
  Diagnoser(const Topology& topology, const LiveState& live) : topo_(topology), live_(live) {
    for (const ServerSpec& spec : topo_.servers) {
      const ServerState* s = live_.Find(spec.name);
      if (s == nullptr || !s->sql_ok) continue;
      if (s->server_id) by_server_id_[*s->server_id].push_back(spec.name);
      if (s->read_only == false) writable_.push_back(spec.name);
    }
  }

  // A list of servers in a condition names at most kListed of them, then how many more: a cluster
  // where every server is writable must not carry every name in every server's condition.
  static constexpr size_t kListed = 8;
  static std::string Listed(const std::vector<std::string>& names) {
    if (names.size() <= kListed) return Join(names);
    return Join(std::vector<std::string>(names.begin(), names.begin() + kListed)) + " and " +
           std::to_string(names.size() - kListed) + " more";
  }

  std::vector<Condition> Run() {
    for (const ServerSpec& spec : topo_.servers) {
      const ServerState* s = live_.Find(spec.name);
      if (s == nullptr) continue;
      if (!s->sql_ok) {
        Unreachable(spec, *s);
        continue;
      }
      if (!s->ssh_ok) {
        Add(spec, "ssh-unreachable", Severity::kDegraded, 0, "ssh-failed", {"SSH: " + s->ssh_error},
            "replplan cannot log in to " + spec.name + " over SSH: its config file and apps cannot be read or "
            "changed, and a remedy that needs a restart cannot run");
      }
      ServerIdClash(spec, *s);
      Roles(spec, *s);
      if (!topo_.IsPrimary(spec.name)) {
        Replica(spec, *s);
        Errant(spec, *s);
      }
    }
    return std::move(out_);
  }

 private:
  Condition& Add(const ServerSpec& spec, std::string type, Severity severity, int error, std::string reason,
                 std::vector<std::string> evidence, std::string cause) {
    Condition c;
    c.type = std::move(type);
    c.severity = severity;
    c.host = spec.name;
    c.error_number = error;
    c.reason = std::move(reason);
    c.evidence = std::move(evidence);
    c.cause = std::move(cause);
    out_.push_back(std::move(c));
    return out_.back();
  }

  // SQL did not answer: a wrong password, a server listening where the file does not say, a
  // server that is not running, or a host that is down altogether.
  void Unreachable(const ServerSpec& spec, const ServerState& s) {
    const int e = s.sql_errno;
    std::string sql = "SQL " + Where(spec) + ": " + s.sql_error;
    if (e == kErrAccessDenied || e == kErrAccessDeniedNoPassword) {
      Add(spec, "wrong-password", Severity::kBroken, e, "login-refused", {sql},
          spec.name + " answers but refuses replplan's login as '" + spec.mysql.user +
              "': the password (or the account) in the file's [mysql] settings does not match the server's");
      return;
    }
    const bool connect_error = e == kErrConnLocal || e == kErrConnRefused;
    if (connect_error && !s.ssh_ok) {
      Add(spec, "host-down", Severity::kBroken, e, "sql-and-ssh-failed", {sql, "SSH: " + s.ssh_error},
          spec.name + " answers neither SQL nor SSH: the host is down or cut off from this machine");
      return;
    }
    if (connect_error) {
      std::vector<std::string> evidence = {sql};
      const ProcessProbe& p = s.process;
      auto bind = s.config.find("bind_address");
      bool config_elsewhere = bind != s.config.end() && bind->second != spec.bind_address;
      if (bind != s.config.end()) {
        // Where the server reads it: config_file or a file it includes (engine/effective_config.h).
        auto origin = s.config_origin.find("bind_address");
        bool included = origin != s.config_origin.end() && !origin->second.file.empty();
        evidence.push_back((included ? origin->second.file + ":" + std::to_string(origin->second.line) : spec.config_file) +
                           ": bind-address = " + bind->second +
                           (config_elsewhere ? " (the file wants " + spec.bind_address + ")" : ", as the file wants"));
      }
      const std::string found = p.pid_file.empty() ? "found by name" : "from " + p.pid_file;
      if (p.probed && p.error.empty() && p.running) {
        evidence.push_back("mariadbd runs (pid " + p.pid + " " + found + "), listening on " +
                           (p.listening.empty() ? std::string("no TCP address") : Join(p.listening)));
        Add(spec, "listening-elsewhere", Severity::kBroken, e, "running-not-listening", evidence,
            "mariadbd runs on " + spec.name + " but does not listen on " + Where(spec) +
                " (wrong bind-address or port, e.g. after an address change): fix the config and restart it");
        return;
      }
      if (p.probed && p.error.empty()) {
        evidence.push_back("no mariadbd runs (" +
                           (p.pid_file.empty() ? std::string("none found by name")
                                               : "pid file " + p.pid_file + " names no live process") + ")");
        Add(spec, "server-down", Severity::kBroken, e, "not-running", evidence,
            "the host answers over SSH but mariadbd is not running on " + spec.name + ": start it");
        return;
      }
      if (p.probed) evidence.push_back("process not checked: " + p.error);
      if (config_elsewhere) {
        Add(spec, "listening-elsewhere", Severity::kBroken, e, "config-binds-elsewhere", evidence,
            spec.name + "'s config binds mariadbd to " + bind->second + ", not " + spec.bind_address +
                ": fix the config and restart it");
        return;
      }
      Add(spec, "unreachable", Severity::kBroken, e, "sql-connect-failed", evidence,
          "the host answers over SSH but nothing accepts SQL at " + Where(spec) +
              "; whether mariadbd runs is not known");
      return;
    }
    std::vector<std::string> evidence = {sql};
    if (!s.ssh_ok) evidence.push_back("SSH: " + s.ssh_error);
    Add(spec, "unreachable", Severity::kBroken, e, e == 0 ? "sql-failed" : "sql-errno-" + std::to_string(e),
        evidence, "replplan cannot read " + spec.name + " over SQL");
  }

  void ServerIdClash(const ServerSpec& spec, const ServerState& s) {
    if (!s.server_id) return;
    const std::vector<std::string>& same = by_server_id_[*s.server_id];
    if (same.size() < 2) return;
    std::vector<std::string> others;  // the first kListed, in the file's order
    for (size_t i = 0; i < same.size() && others.size() < kListed; ++i) {
      if (same[i] != spec.name) others.push_back(same[i]);
    }
    const size_t more = same.size() - 1 - others.size();
    Add(spec, "server-id-clash", Severity::kBroken, 0, "same-server-id",
        {"server_id = " + std::to_string(*s.server_id) + " on " + spec.name + " and " + Join(others) +
         (more > 0 ? " and " + std::to_string(more) + " more" : "")},
        "two servers share a server_id: a replica ignores (or is refused) its source's events (1593), and "
        "GTIDs cannot tell the servers' transactions apart; the file wants server_id = " +
            std::to_string(spec.server_id) + " on " + spec.name);
  }

  // Split brain: more than one writable server, and this one a second writer: it has written on its
  // own (GTIDs the file's primary lacks) or does not follow the file's primary (no running channel
  // from it). Reported on each such server the file does not name as the primary. A writable
  // replica that follows the primary and holds nothing of its own (a hand-built cluster whose
  // replicas were never made read-only) only could become one: writable-replica, degraded.
  bool SecondWriter(const ServerState& s) const {
    const ServerSpec& primary = topo_.Primary();
    const ReplicaChannel* c = s.DefaultChannel();
    const bool follows = c != nullptr && c->source_host == primary.address && c->source_port == primary.mysql.port &&
                         c->io_running != "No" && c->sql_running;
    if (!follows) return true;
    const ServerState* p = live_.Find(topo_.cluster.primary);
    if (p == nullptr || !p->sql_ok) return true;  // nothing to compare with: assume the worse
    const std::string mine = Applied(s);
    const std::string theirs = Applied(*p);
    auto errant = FindErrant(mine, theirs, p->server_id.value_or(primary.server_id));
    return !errant || !errant->empty();
  }

  void Roles(const ServerSpec& spec, const ServerState& s) {
    if (topo_.IsPrimary(spec.name) || s.read_only.value_or(true)) return;
    const std::vector<std::string>& writable = writable_;
    std::vector<std::string> evidence;
    for (size_t i = 0; i < writable.size() && i < kListed; ++i) {
      const ServerState* o = live_.Find(writable[i]);
      evidence.push_back(writable[i] + ": read_only = OFF, gtid_binlog_pos = " +
                         (o->gtid_binlog_pos.empty() ? std::string("(empty)") : o->gtid_binlog_pos));
    }
    if (writable.size() > kListed) evidence.push_back("and " + std::to_string(writable.size() - kListed) + " more");
    if (writable.size() > 1 && SecondWriter(s)) {
      Holdings(spec, s, evidence);
      Add(spec, "split-brain", Severity::kBroken, 0, "several-writable", evidence,
          Listed(writable) + " all accept writes; the file names " + topo_.cluster.primary +
              " the primary: clients writing to " + spec.name + " make transactions the others never get. "
              "`replplan apply` fences " + spec.name + " (read_only=ON) and never touches " + topo_.cluster.primary +
              "'s data; anything " + spec.name + " wrote itself is listed as errant-transactions");
      return;
    }
    Add(spec, "writable-replica", Severity::kDegraded, 0, "read-only-off", evidence,
        spec.name + " is a replica in the file but accepts writes (read_only = OFF): a write there becomes an "
        "errant transaction");
  }

  // What `spec` and the file's primary each hold that the other lacks, by GTID position (split
  // brain): the writes `spec` took on its own, and what it has not received.
  void Holdings(const ServerSpec& spec, const ServerState& s, std::vector<std::string>& evidence) {
    const ServerState* p = live_.Find(topo_.cluster.primary);
    if (p == nullptr || !p->sql_ok) return;
    const std::string& primary = topo_.cluster.primary;
    const std::string mine = Applied(s);
    const std::string theirs = Applied(*p);
    auto errant = FindErrant(mine, theirs, p->server_id.value_or(topo_.Primary().server_id));
    auto lacks = GtidPosition::Parse(mine);
    auto primary_pos = GtidPosition::Parse(theirs);
    if (!errant || !lacks.ok() || !primary_pos.ok()) return;
    const std::vector<std::string> missing = lacks->Missing(*primary_pos);
    evidence.push_back(spec.name + " has, " + primary + " lacks: " +
                       (errant->empty() ? std::string("nothing") : JoinGtidList(errant->Listed())));
    evidence.push_back(primary + " has, " + spec.name + " lacks: " +
                       (missing.empty() ? std::string("nothing") : JoinGtidList(missing)));
  }

  // What `replplan apply` does for a replica with no channel, as the planner decides it (PlanRejoin
  // in engine/planner/primary_change.cc, then errant.cc): one that holds no GTID (or in
  // file/position mode) is seeded; one whose whole position the primary holds rejoins by GTID at
  // its own position; one holding transactions the primary lacks gets cluster.errant_transactions'
  // remedy.
  std::string NoChannelRemedy(const ServerState& s) const {
    const std::string mine = Applied(s);
    if (topo_.replication.mode != ReplicationMode::kGtid || mine.empty()) return ": `replplan apply` seeds it";
    const std::string& p = topo_.cluster.primary;
    const ServerState* ps = live_.Find(p);
    std::optional<ErrantGtids> errant;
    if (ps != nullptr && ps->sql_ok) {
      // No channel: nothing may just have arrived from the primary (server_id 0 is no server's).
      errant = FindErrant(mine, Applied(*ps), 0);
    }
    if (!errant) {
      return " and holds " + mine + ": `replplan apply` rejoins it by GTID at that position if " + p +
             " holds all of it, else does what cluster.errant_transactions says; which is decided once " + p +
             "'s position can be read";
    }
    if (errant->empty()) {
      return "; everything it holds (" + mine + ") is on " + p +
             ": `replplan apply` rejoins it by GTID at its own position, without a seed";
    }
    const std::string holds = " and holds transactions " + p + " lacks (errant-transactions): ";
    switch (topo_.cluster.errant_transactions) {
      case ErrantRemedy::kInjectEmpty:
        return holds + p + " commits them as empty transactions and `replplan apply` rejoins it by GTID at its own "
               "position (cluster.errant_transactions = inject-empty), or, where that is not safe, changes nothing "
               "on it and the plan says why";
      case ErrantRemedy::kReseed:
        return holds + "`replplan apply` reseeds it (cluster.errant_transactions = reseed: what it wrote itself is "
               "lost)";
      case ErrantRemedy::kRefuse:
        break;
    }
    return holds + "`replplan apply` changes nothing on it while cluster.errant_transactions = refuse";
  }

  void Replica(const ServerSpec& spec, const ServerState& s) {
    const ServerSpec& primary = topo_.Primary();
    const ReplicaChannel* c = s.DefaultChannel();
    if (c == nullptr || c->source_host == kSeedInProgressHost) {
      Add(spec, "not-replicating", Severity::kBroken, 0, "no-channel",
          {c == nullptr ? "SHOW SLAVE STATUS: no default channel" : "the channel names " + std::string(kSeedInProgressHost)},
          spec.name + " does not replicate from anyone" +
              (c == nullptr ? NoChannelRemedy(s) : " (an earlier seed did not finish): `replplan apply` seeds it"));
      return;
    }
    std::string threads = "Slave_IO_Running: " + (c->io_running.empty() ? "(empty)" : c->io_running) +
                          ", Slave_SQL_Running: " + YesNo(c->sql_running);
    std::string io_error = "Last_IO_Errno: " + std::to_string(c->last_io_errno) + ", Last_IO_Error: " + c->last_io_error;
    std::string sql_error = "Last_SQL_Errno: " + std::to_string(c->last_sql_errno) +
                            ", Last_SQL_Error: " + RedactStatementSecrets(c->last_sql_error);
    const std::string from = c->source_host + ":" + std::to_string(c->source_port);
    if (c->source_host != primary.address || c->source_port != primary.mysql.port) {
      Add(spec, "wrong-source", Severity::kDegraded, 0, "source-differs",
          {"Master_Host:Master_Port = " + from + " (the file's primary " + primary.name + " is " + Where(primary) + ")"},
          spec.name + " replicates from " + from + ", not from the file's primary " + primary.name);
    }

    // The IO thread: errors of the link to the source (one a running IO thread got over, by a
    // reconnect, is history).
    switch (c->io_running == "Yes" ? 0 : c->last_io_errno) {
      case 0:
        break;
      case kErrBinlogGone:
        Add(spec, "binlog-gone", Severity::kBroken, kErrBinlogGone, "io-errno-1236",
            {threads, io_error, "Gtid_IO_Pos: " + c->gtid_io_pos + ", gtid_slave_pos: " + s.gtid_slave_pos},
            "the source no longer has the binary log " + spec.name +
                " needs to continue (purged while it was stopped or behind): only a reseed brings it back");
        break;
      case kErrServerIdClash:
        // 1593 is every fatal IO error; equal server ids are the one it names so.
        if (Lower(c->last_io_error).find("equal") != std::string::npos &&
            Lower(c->last_io_error).find("server id") != std::string::npos) {
          Add(spec, "server-id-clash", Severity::kBroken, kErrServerIdClash, "io-errno-1593", {threads, io_error},
              spec.name + " and its source have the same server_id: the source refuses it (1593)");
          break;
        }
        OtherIoError(spec, *c, threads, io_error, from);
        break;
      case kErrAccessDenied:
        Add(spec, "wrong-password", Severity::kBroken, kErrAccessDenied, "io-errno-1045", {threads, io_error},
            "the source " + from + " refuses the replication login '" + c->source_user +
                "': the replication account or its password on the source is not what the replica uses");
        break;
      case kErrMasterInfo:
        Add(spec, "channel-metadata-broken", Severity::kBroken, kErrMasterInfo, "io-errno-1201", {threads, io_error},
            spec.name + "'s replication metadata (master.info, relay log index) cannot be read");
        break;
      default:
        OtherIoError(spec, *c, threads, io_error, from);
        break;
    }

    // The SQL thread: errors applying what was received.
    const int sql = c->last_sql_errno;
    if (sql == kErrNoMatchingUserRow || sql == kErrCannotUser) {
      std::string account = AccountOf(c->last_sql_error);
      Add(spec, "missing-account", Severity::kBroken, sql, "sql-errno-" + std::to_string(sql), {threads, sql_error},
          "a replicated account statement names an account " +
              (account.empty() ? std::string("") : account + " ") + spec.name +
              " does not have (or has, for CREATE): the data is intact; creating (or dropping) the account "
              "there with the binary log off and starting the SQL thread repairs it");
    } else if (sql == kErrKeyNotFound || sql == kErrDuplicateKey) {
      std::string event = RowEventOf(c->last_sql_error);
      std::vector<std::string> evidence = {threads, sql_error};
      // The table and row event on a line of their own (the error text may bury them), and where
      // the SQL thread stopped in its source's binlog (what a file/position skip checks).
      if (!event.empty()) evidence.push_back("row event: " + event);
      if (!c->relay_source_log_file.empty() && c->exec_source_log_pos) {
        evidence.push_back("stopped at " + c->relay_source_log_file + ":" + std::to_string(*c->exec_source_log_pos) +
                           " of its source's binlog (Relay_Master_Log_File:Exec_Master_Log_Pos)");
      }
      if (!s.failed_gtid.empty()) {
        evidence.push_back("failing transaction: GTID " + s.failed_gtid + " (relay log " + c->relay_log_file + ":" +
                           std::to_string(c->relay_log_pos.value_or(0)) + ")");
      }
      Add(spec, "row-event-failed", Severity::kBroken, sql, "sql-errno-" + std::to_string(sql), evidence,
          (event.empty() ? std::string("a replicated change") : event) + " failed on " + spec.name + " (" +
              (sql == kErrKeyNotFound ? "the row it changes is not there" : "the row it inserts is there already") +
              "): " + spec.name + "'s data differs from its source's");
    } else if (sql == kErrMasterInfo) {
      Add(spec, "channel-metadata-broken", Severity::kBroken, sql, "sql-errno-1201", {threads, sql_error},
          spec.name + "'s replication metadata (relay log info) cannot be read");
    } else if (sql != 0) {
      Add(spec, "replica-sql-error", Severity::kBroken, sql, "sql-errno-" + std::to_string(sql), {threads, sql_error},
          spec.name + "'s SQL thread stopped on an error applying its source's events");
    }

    const bool io_up = c->io_running == "Yes";
    // Connecting or Preparing with no error: a thread on its way (just started, or mariadbd just restarted).
    const bool io_starting = c->io_running == "Connecting" || c->io_running == "Preparing";
    if (c->last_io_errno == 0 && sql == 0 && (!io_up || !c->sql_running) && !io_starting) {
      if (!io_up && !c->sql_running && s.relay_log_present == false) {
        Add(spec, "channel-metadata-broken", Severity::kBroken, 0, "relay-log-missing",
            {threads + ", both errnos 0", "Relay_Log_File " + c->relay_log_file + " is not on disk"},
            spec.name + "'s relay log is gone from disk: once mariadbd has restarted, START SLAVE fails with 1201 "
            "(\"Could not initialize master info structure\"); RESET SLAVE and CHANGE MASTER at its own GTID "
            "position restart it without a reseed");
      } else {
        Add(spec, "replica-stopped", Severity::kDegraded, 0, "threads-stopped", {threads + ", no error"},
            "replication on " + spec.name + " was stopped without an error (STOP SLAVE by hand?): START SLAVE resumes it");
      }
    }

    const std::optional<int>& set = topo_.replication.far_behind_seconds;
    const int64_t bound = set ? *set : kFarBehindDefaultSeconds;
    if (io_up && c->sql_running && c->seconds_behind && *c->seconds_behind > bound) {
      Add(spec, "far-behind", Severity::kDegraded, 0, "lag-above-bound",
          {"Seconds_Behind_Master: " + std::to_string(*c->seconds_behind),
           "bound " + std::to_string(bound) + " s" +
               (set ? " (replication.far_behind_seconds)" : " (the default: the file sets no replication.far_behind_seconds)")},
          spec.name + " replicates but is " + std::to_string(*c->seconds_behind) +
              " s behind: reads there are stale, and it is a poor failover candidate until it catches up");
    }
  }

  void OtherIoError(const ServerSpec& spec, const ReplicaChannel& c, const std::string& threads,
                    const std::string& io_error, const std::string& from) {
    const int e = c.last_io_errno;
    const bool connect = e == kErrConnLocal || e == kErrConnRefused || e == kErrUnknownHost ||
                         e == kErrServerGone || e == kErrServerLost;
    Add(spec, connect ? "source-unreachable" : "replica-io-error", Severity::kBroken, e,
        "io-errno-" + std::to_string(e), {threads, io_error},
        connect ? spec.name + "'s IO thread cannot connect to its source " + from + " (see the source's own condition)"
                : spec.name + "'s IO thread stopped on an error reading from its source " + from);
  }

  // Errant transactions: what the replica's GTID position holds that the primary's lacks. The two
  // were read at slightly different moments, so a domain whose last event carries the primary's
  // server_id may be newer on the replica without being errant; only the other domains count.
  void Errant(const ServerSpec& spec, const ServerState& s) {
    if (topo_.replication.mode != ReplicationMode::kGtid) return;
    const ServerState* p = live_.Find(topo_.cluster.primary);
    if (p == nullptr || !p->sql_ok) return;
    const std::string mine_text = Applied(s);
    const std::string theirs_text = Applied(*p);
    // A server with no channel receives nothing: no domain may just have arrived from the primary
    // (server_id 0 is no server's), as the planner compares it (engine/planner/errant.cc).
    const uint32_t primary_id =
        s.DefaultChannel() == nullptr ? 0 : p->server_id.value_or(topo_.Primary().server_id);
    auto errant = FindErrant(mine_text, theirs_text, primary_id);
    if (!errant || errant->empty()) return;
    Add(spec, "errant-transactions", Severity::kBroken, 0, "gtid-ahead",
        {"errant GTIDs: " + JoinGtidList(errant->Listed()), spec.name + " gtid_current_pos: " + mine_text,
         topo_.cluster.primary + " gtid_current_pos: " + (theirs_text.empty() ? "(empty)" : theirs_text),
         std::string("cluster.errant_transactions = ") + ToString(topo_.cluster.errant_transactions)},
        spec.name + " holds transactions the primary " + topo_.cluster.primary +
            " does not (written on the replica): the primary's next writes in that domain collide with them "
            "(1950), and a promotion of " + spec.name + " would hand them to every server");
  }

  const Topology& topo_;
  const LiveState& live_;
  std::map<uint32_t, std::vector<std::string>> by_server_id_;  // reachable servers, in the file's order
  std::vector<std::string> writable_;                          // reachable servers with read_only OFF
  std::vector<Condition> out_;
};

}  // namespace

std::vector<std::string> ErrantGtids::Listed() const {
  std::vector<std::string> out;
  for (const GtidRange& r : ahead) out.push_back(r.ToString());
  out.insert(out.end(), conflicting.begin(), conflicting.end());
  return out;
}

std::optional<ErrantGtids> FindErrant(const std::string& replica_position, const std::string& primary_position,
                                      uint32_t primary_server_id) {
  auto mine = GtidPosition::Parse(replica_position);
  auto theirs = GtidPosition::Parse(primary_position);
  if (!mine.ok() || !theirs.ok()) return std::nullopt;
  ErrantGtids out;
  for (const auto& [domain, gtid] : mine->entries()) {
    if (gtid.server_id == primary_server_id) continue;
    std::optional<Gtid> have = theirs->Find(domain);
    const uint64_t at = have ? have->seq : 0;  // seq numbers start at 1: a domain never seen lacks 1..
    if (at < gtid.seq) {
      out.ahead.push_back({domain, gtid.server_id, at + 1, gtid.seq});
    } else if (at == gtid.seq && have->server_id != gtid.server_id) {
      out.conflicting.push_back(gtid.ToString() + " vs " + have->ToString());
    }
  }
  return out;
}

const char* ToString(Severity s) { return s == Severity::kBroken ? "broken" : "degraded"; }

std::vector<Condition> Diagnose(const Topology& topology, const LiveState& live) {
  return Diagnoser(topology, live).Run();
}

Severity WorstSeverity(const std::vector<Condition>& conditions) {
  for (const Condition& c : conditions) {
    if (c.severity == Severity::kBroken) return Severity::kBroken;
  }
  return Severity::kDegraded;
}

std::string RedactStatementSecrets(std::string_view text) {
  size_t query = text.find("Query:");
  if (query == std::string_view::npos) return std::string(text);
  static const std::vector<std::string_view> kKeywords = {"PASSWORD", "IDENTIFIED BY", "IDENTIFIED AS",
                                                          "IDENTIFIED VIA", "USING"};
  std::string out(text.substr(0, query));
  size_t i = query;
  while (i < text.size()) {
    std::optional<std::string_view> keyword;
    if (i == 0 || !IsWordChar(text[i - 1])) {
      for (std::string_view k : kKeywords) {
        if (StartsWithIgnoreCase(text, i, k) && (i + k.size() == text.size() || !IsWordChar(text[i + k.size()]))) {
          keyword = k;
          break;
        }
      }
    }
    if (!keyword) {
      out += text[i++];
      continue;
    }
    out += text.substr(i, keyword->size());
    i += keyword->size();
    // IDENTIFIED VIA plugin USING '...': the plugin name stays, USING is found next.
    while (i < text.size() && (text[i] == ' ' || text[i] == '(')) out += text[i++];
    if (i < text.size() && (text[i] == '\'' || text[i] == '"')) {
      // The quoted secret may itself be inside the error's own quotes ("Query: 'SET PASSWORD ...
      // = PASSWORD('x')'"): it ends at its closing quote either way.
      size_t end = SkipQuoted(text, i);
      out += "'<redacted>'";
      i = end;
    }
  }
  return out;
}

std::string RowEventOf(std::string_view error) {
  static constexpr std::string_view kExecute = "Could not execute ";
  size_t start = error.find(kExecute);
  if (start == std::string_view::npos) return "";
  start += kExecute.size();
  size_t end = error.find(';', start);
  std::string_view part = error.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (part.find(" event on table ") == std::string_view::npos) return "";
  return std::string(Trim(part));
}

std::string AccountOf(std::string_view error) {
  // 1396: "Operation DROP USER failed for 'bob'@'%'"; else the first quoted name followed by @ and
  // a quoted host in the statement.
  size_t from = error.find(" failed for ");
  if (from != std::string_view::npos) {
    from += 12;
  } else {
    from = error.find("Query:");
    if (from == std::string_view::npos) return "";
  }
  for (size_t i = from; i < error.size(); ++i) {
    if (error[i] != '\'' && error[i] != '`') continue;
    size_t user_end = SkipQuoted(error, i);
    if (user_end < error.size() && error[user_end] == '@' && user_end + 1 < error.size() &&
        (error[user_end + 1] == '\'' || error[user_end + 1] == '`')) {
      size_t host_end = SkipQuoted(error, user_end + 1);
      return std::string(error.substr(i, host_end - i));
    }
  }
  return "";
}

}  // namespace replplan
