#include "engine/gtid.h"

#include <charconv>
#include <limits>

#include "engine/text.h"

namespace replplan {
namespace {

// One decimal field of an entry. from_chars alone would accept a leading part ("12abc"), so the
// whole field must be consumed; it already rejects signs and spaces, which MariaDB never prints.
template <typename T>
bool ParseField(std::string_view field, T* out) {
  if (field.empty()) return false;
  uint64_t value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (ec != std::errc() || ptr != end) return false;
  if (value > std::numeric_limits<T>::max()) return false;
  *out = static_cast<T>(value);
  return true;
}

std::string_view NextField(std::string_view* rest) {
  const size_t dash = rest->find('-');
  std::string_view field = rest->substr(0, dash);
  rest->remove_prefix(dash == std::string_view::npos ? rest->size() : dash + 1);
  return field;
}

// Parses one "domain-server_id-seq" entry, or says what is wrong with it (without the prefix
// naming the whole position, which the caller adds).
Result<Gtid> ParseEntry(std::string_view entry) {
  const std::string quoted = "entry '" + std::string(entry) + "'";
  size_t dashes = 0;
  for (char c : entry) dashes += (c == '-');
  if (dashes != 2) {
    return Status::InvalidArgument(quoted + " is not domain-server_id-seq (e.g. 0-1-42)");
  }
  std::string_view rest = entry;
  const std::string_view domain = NextField(&rest);
  const std::string_view server_id = NextField(&rest);
  const std::string_view seq = rest;
  Gtid gtid;
  if (!ParseField(domain, &gtid.domain)) {
    return Status::InvalidArgument(quoted + ": domain '" + std::string(domain) +
                                   "' is not a number in 0..4294967295");
  }
  if (!ParseField(server_id, &gtid.server_id)) {
    return Status::InvalidArgument(quoted + ": server_id '" + std::string(server_id) +
                                   "' is not a number in 0..4294967295");
  }
  if (!ParseField(seq, &gtid.seq)) {
    return Status::InvalidArgument(quoted + ": seq '" + std::string(seq) +
                                   "' is not a number in 0..18446744073709551615");
  }
  return gtid;
}

std::string RangeText(uint32_t domain, uint32_t server_id, uint64_t first, uint64_t last) {
  const Gtid from{domain, server_id, first};
  const Gtid to{domain, server_id, last};
  if (first == last) return to.ToString();
  return from.ToString() + ".." + to.ToString();
}

}  // namespace

std::string Gtid::ToString() const {
  return std::to_string(domain) + "-" + std::to_string(server_id) + "-" + std::to_string(seq);
}

Result<GtidPosition> GtidPosition::Parse(std::string_view text) {
  GtidPosition position;
  if (Trim(text).empty()) return position;
  const std::string context = "invalid GTID position '" + std::string(Trim(text)) + "'";
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view entry = Trim(rest.substr(0, comma));
    // An empty entry means a stray comma: something upstream mangled the text, so say so rather
    // than silently read fewer domains than the server has.
    if (entry.empty()) {
      return Status::InvalidArgument(context + ": empty entry (stray comma?)");
    }
    Result<Gtid> gtid = ParseEntry(entry);
    if (!gtid.ok()) return gtid.status().WithContext(context);
    if (position.by_domain_.count(gtid->domain) != 0) {
      return Status::InvalidArgument(context + ": entry '" + std::string(entry) + "' repeats domain " +
                                     std::to_string(gtid->domain) +
                                     " (a position holds one GTID per domain)");
    }
    position.by_domain_[gtid->domain] = *gtid;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return position;
}

std::string GtidPosition::ToString() const {
  std::string out;
  for (const auto& [domain, gtid] : by_domain_) {
    if (!out.empty()) out += ',';
    out += gtid.ToString();
  }
  return out;
}

std::optional<Gtid> GtidPosition::Find(uint32_t domain) const {
  auto it = by_domain_.find(domain);
  if (it == by_domain_.end()) return std::nullopt;
  return it->second;
}

bool GtidPosition::Contains(const GtidPosition& other) const {
  for (const auto& [domain, theirs] : other.by_domain_) {
    auto mine = by_domain_.find(domain);
    if (mine == by_domain_.end() || mine->second.seq < theirs.seq) return false;
  }
  return true;
}

std::vector<std::string> GtidPosition::Missing(const GtidPosition& other) const {
  std::vector<std::string> ranges;
  for (const auto& [domain, theirs] : other.by_domain_) {
    auto mine = by_domain_.find(domain);
    // seq numbers start at 1 in MariaDB, so a domain never seen lacks 1..their seq.
    const uint64_t have = mine == by_domain_.end() ? 0 : mine->second.seq;
    if (have >= theirs.seq) continue;
    ranges.push_back(RangeText(domain, theirs.server_id, have + 1, theirs.seq));
  }
  return ranges;
}

std::vector<std::string> GtidPosition::Conflicting(const GtidPosition& other) const {
  std::vector<std::string> conflicts;
  for (const auto& [domain, mine] : by_domain_) {
    std::optional<Gtid> theirs = other.Find(domain);
    if (theirs && theirs->seq == mine.seq && theirs->server_id != mine.server_id) {
      conflicts.push_back(mine.ToString() + " vs " + theirs->ToString());
    }
  }
  return conflicts;
}

std::string GtidRange::ToString() const { return RangeText(domain, server_id, first, last); }

Result<GtidRange> GtidRange::Parse(std::string_view text) {
  const size_t dots = text.find("..");
  auto from = ParseEntry(text.substr(0, dots));
  if (!from.ok()) return from.status().WithContext("invalid GTID range '" + std::string(text) + "'");
  auto to = dots == std::string_view::npos ? from : ParseEntry(text.substr(dots + 2));
  if (!to.ok()) return to.status().WithContext("invalid GTID range '" + std::string(text) + "'");
  const std::string quoted = "invalid GTID range '" + std::string(text) + "': ";
  if (from->domain != to->domain || from->server_id != to->server_id) {
    return Status::InvalidArgument(quoted + "both ends must have one domain and server_id");
  }
  if (from->seq == 0 || from->seq > to->seq) {
    return Status::InvalidArgument(quoted + "seq must run from 1 upwards, first to last");
  }
  return GtidRange{from->domain, from->server_id, from->seq, to->seq};
}

std::string JoinGtidList(const std::vector<std::string>& items) { return Join(items, ", "); }

}  // namespace replplan
