// MariaDB GTID positions: "0-1-42,1-3-7" as @@gtid_current_pos, @@gtid_slave_pos, @@gtid_binlog_pos
// and SHOW SLAVE STATUS's Gtid_IO_Pos report them. Each entry is domain-server_id-seq; a position
// holds at most one entry per replication domain (the last event group of that domain).
//
// Assumption (gtid_strict_mode=ON, which replplan configures): within a domain, sequence numbers
// only increase, so "has everything up to seq N of domain D" is all a position says, and two
// positions compare by seq per domain. The server_id only tells who wrote the LAST event group of
// a domain; it is carried and printed, never ordered by. Two positions with the same seq in a
// domain but different server_ids are not equal: they wrote different transactions under one
// number (diverged), which Conflicting() reports.
//
// Pure value type: no I/O; a provider reads the strings, this parses and compares them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace replplan {

struct Gtid {
  uint32_t domain = 0;
  uint32_t server_id = 0;
  uint64_t seq = 0;

  std::string ToString() const;  // "0-1-42"
  bool operator==(const Gtid&) const = default;
};

// Consecutive transactions of one domain, all under one server_id: "0-3-43..0-3-45", or one
// ("0-3-43"), as GtidPosition::Missing writes them. first <= last, first >= 1.
struct GtidRange {
  uint32_t domain = 0;
  uint32_t server_id = 0;
  uint64_t first = 0;
  uint64_t last = 0;

  std::string ToString() const;
  uint64_t count() const { return last - first + 1; }
  // Parses ToString's text; InvalidArgument naming what is wrong ("0-3-45..0-3-43": the end is
  // before the start; "0-3-43..1-3-45": two domains).
  static Result<GtidRange> Parse(std::string_view text);
  bool operator==(const GtidRange&) const = default;
};

class GtidPosition {
 public:
  GtidPosition() = default;

  // Parses "0-1-42,1-3-7". Whitespace around entries (and newlines, as some clients wrap long
  // positions) is ignored; "" or only whitespace is the empty position (a server that has seen no
  // transaction). Malformed text is InvalidArgument naming the bad entry:
  //   invalid GTID position '0-1-42,x': entry 'x' is not domain-server_id-seq (e.g. 0-1-42)
  static Result<GtidPosition> Parse(std::string_view text);

  // Domains in ascending order, comma separated without spaces: "0-1-42,1-3-7"; "" when empty.
  std::string ToString() const;

  bool empty() const { return by_domain_.empty(); }
  const std::map<uint32_t, Gtid>& entries() const { return by_domain_; }
  std::optional<Gtid> Find(uint32_t domain) const;
  // Replaces the entry of gtid.domain (building positions in code and tests).
  void Set(const Gtid& gtid) { by_domain_[gtid.domain] = gtid; }

  // For every domain of `other`, this has that domain with seq >= other's. The empty position is
  // contained by every position.
  bool Contains(const GtidPosition& other) const;

  // Contains(other) and has something more (a higher seq somewhere, or a domain other lacks).
  bool AheadOf(const GtidPosition& other) const { return Contains(other) && !other.Contains(*this); }

  // What this position lacks compared with `other`, one range per domain in ascending domain
  // order: "0-1-43..0-1-45" (three transactions), "0-1-43" (one), "1-3-1..1-3-7" (a domain this
  // has never seen). Both ends carry the server_id of other's last event: a position does not
  // record who wrote the earlier ones, so only the domain and seq numbers of the start are exact.
  std::vector<std::string> Missing(const GtidPosition& other) const;

  // Domains where both positions stand at the same seq but under different server_ids: two
  // servers committed different transactions with one number. Entries read "0-1-43 vs 0-2-43"
  // (this position's first).
  std::vector<std::string> Conflicting(const GtidPosition& other) const;

  // Same entries, server_ids included.
  bool operator==(const GtidPosition&) const = default;

 private:
  std::map<uint32_t, Gtid> by_domain_;
};

// "a, b, c": for the ranges of Missing() and the entries of Conflicting() in messages.
std::string JoinGtidList(const std::vector<std::string>& items);

}  // namespace replplan
