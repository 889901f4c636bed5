// Named conditions: what is wrong with a cluster, diagnosed from the topology and the live state
// (issue 14). Each condition has a stable type an operator (and a monitor) can search for, a
// severity, the host it is on, the evidence it was concluded from (the exact error number and text,
// GTID positions, settings) and the cause in plain words. `replplan status` prints them; the planner
// names and remedies them (docs/conditions.md lists every type, its error numbers and remedy).
//
// Pure: no I/O. What the live state does not carry is never guessed: a condition that needs it is
// not reported, or is reported with what is known (e.g. "unreachable" rather than
// "listening-elsewhere" when nothing shows where the server listens).
//
// Secrets: evidence quotes server error texts. A statement quoted by an SQL thread error (1133,
// 1396: "... Query: 'SET PASSWORD FOR ...'") has the string after PASSWORD, IDENTIFIED BY/AS/VIA
// and USING replaced by '<redacted>' (RedactStatementSecrets); replplan's own secrets never reach
// the live state (providers redact them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gtid.h"
#include "engine/live_state.h"
#include "engine/topology.h"

namespace replplan {

// degraded: the cluster serves writes and replicates, but something needs attention (a replica
// stopped or lagging, a host replplan cannot reach over SSH). broken: a server does not replicate,
// cannot be reached, or the cluster's data or roles are in conflict; it will not heal by itself.
enum class Severity { kDegraded, kBroken };
const char* ToString(Severity s);  // "degraded" / "broken"

struct Condition {
  std::string type;  // stable: "binlog-gone", "replica-stopped", ... (docs/conditions.md)
  Severity severity = Severity::kBroken;
  std::string host;  // the server it is on (the replica for a replication error)
  // The MariaDB error number it was concluded from (Last_IO_Errno, Last_SQL_Errno, or the client's
  // connection error); 0 when none (a position, a setting).
  int error_number = 0;
  // A short stable token of what was seen: "io-errno-1236", "threads-stopped", "gtid-ahead", ...
  std::string reason;
  std::vector<std::string> evidence;  // exact texts and positions, one fact each
  std::string cause;                  // plain words: what this means
};

// Seconds_Behind_Master above which a running replica is "far-behind" when the file sets no
// replication.far_behind_seconds (the condition's evidence says which bound applied).
inline constexpr int64_t kFarBehindDefaultSeconds = 300;

// What a replica holds that the primary lacks, from their GTID positions (gtid_current_pos, else
// gtid_binlog_pos): the `errant-transactions` condition and its remedies read the same. The two
// servers are read moments apart, so a domain whose last event carries the primary's server_id is
// not counted (the replica may simply have applied a newer write of the primary).
struct ErrantGtids {
  // The primary lacks seq first..last of `domain` (it stands at first - 1, or has never seen the
  // domain). A position records only who wrote the LAST event group of a domain: the range's
  // server_id is that writer's, exact for `last` and assumed for the seq numbers before it.
  std::vector<GtidRange> ahead;
  // Domains where both stand at one seq under different server_ids ("0-3-43 vs 0-1-43"): two
  // different transactions got one number; no empty transaction can reconcile that.
  std::vector<std::string> conflicting;

  bool empty() const { return ahead.empty() && conflicting.empty(); }
  // Every entry, ranges first, as the condition lists them.
  std::vector<std::string> Listed() const;
};
// nullopt when a position does not parse. `primary_server_id`: the primary's live server_id.
std::optional<ErrantGtids> FindErrant(const std::string& replica_position, const std::string& primary_position,
                                      uint32_t primary_server_id);

// Every condition of the cluster, servers in file order, each server's conditions in a fixed order
// (reachability, roles, replication, data). A healthy cluster gives none.
std::vector<Condition> Diagnose(const Topology& topology, const LiveState& live);

// The worst severity among `conditions`; nullopt-like "healthy" is `conditions.empty()`.
Severity WorstSeverity(const std::vector<Condition>& conditions);

// In a statement a server quotes in an error (after "Query:"), the quoted string that follows
// PASSWORD, IDENTIFIED BY/AS/VIA or USING becomes '<redacted>'; everything else is kept.
std::string RedactStatementSecrets(std::string_view text);

// "Write_rows_v1 event on table shop.items" out of a row event error (1032, 1062: "Could not
// execute Write_rows_v1 event on table shop.items; Duplicate entry ..."); "" when the text has no
// such part (a statement-based error).
std::string RowEventOf(std::string_view error);

// The account a replicated account statement failed for ("'bob'@'%'", as the error text writes it),
// from 1396 "Operation DROP USER failed for 'bob'@'%'" or the statement's "TO/FOR `bob`@`%`"; ""
// when the text names none.
std::string AccountOf(std::string_view error);

}  // namespace replplan
