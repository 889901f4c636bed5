// GtidPosition on arbitrary text (what servers report for @@gtid_*_pos and Gtid_IO_Pos; failover
// picks the new primary by comparing them). Input: up to three positions separated by '|'.
// Properties:
//   - Parse agrees with an independent reading of the documented grammar: comma-separated
//     domain-server_id-seq entries of decimal digits within uint32/uint32/uint64, whitespace around
//     entries ignored, no empty entry, one entry per domain; same accept/refuse, same entries;
//   - format round trip: ToString() re-parses to the same position and is its own canonical form;
//   - comparison: Contains is reflexive and transitive, the empty position is contained by all,
//     AheadOf is irreflexive and asymmetric, a.Contains(b) exactly when a.Missing(b) is empty,
//     Missing has one range per domain where b is further, Conflicting is symmetric in size and
//     lists exactly the domains at one seq under two server_ids.
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

#include "engine/gtid.h"
#include "fuzz/fuzz_check.h"

namespace {

using replplan::Gtid;
using replplan::GtidPosition;
using replplan::fuzz::Escaped;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> Number(std::string_view s, uint64_t max) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// The reference reading: nullopt for text Parse must refuse.
std::optional<std::map<uint32_t, Gtid>> Reference(std::string_view text) {
  std::map<uint32_t, Gtid> out;
  if (Trim(text).empty()) return out;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view entry = Trim(text.substr(0, comma));
    const size_t d1 = entry.find('-');
    const size_t d2 = d1 == std::string_view::npos ? d1 : entry.find('-', d1 + 1);
    if (d2 == std::string_view::npos) return std::nullopt;
    const auto domain = Number(entry.substr(0, d1), std::numeric_limits<uint32_t>::max());
    const auto server = Number(entry.substr(d1 + 1, d2 - d1 - 1), std::numeric_limits<uint32_t>::max());
    const auto seq = Number(entry.substr(d2 + 1), std::numeric_limits<uint64_t>::max());
    if (!domain || !server || !seq) return std::nullopt;
    const auto dom = static_cast<uint32_t>(*domain);
    if (out.count(dom) != 0) return std::nullopt;
    out[dom] = Gtid{dom, static_cast<uint32_t>(*server), *seq};
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

std::optional<GtidPosition> ParseChecked(std::string_view text) {
  replplan::Result<GtidPosition> parsed = GtidPosition::Parse(text);
  const std::optional<std::map<uint32_t, Gtid>> reference = Reference(text);
  FUZZ_CHECK(parsed.ok() == reference.has_value(),
             Escaped(text) + (parsed.ok() ? " accepted as " + parsed->ToString() : " refused: " + parsed.status().message()));
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty(), Escaped(text));
    return std::nullopt;
  }
  FUZZ_CHECK(parsed->entries() == *reference, Escaped(text) + " read as " + parsed->ToString());
  const std::string canonical = parsed->ToString();
  FUZZ_CHECK(canonical.find_first_of(" \t\n") == std::string::npos, canonical);
  replplan::Result<GtidPosition> again = GtidPosition::Parse(canonical);
  FUZZ_CHECK(again.ok() && *again == *parsed && again->ToString() == canonical,
             Escaped(text) + " -> " + canonical + " does not round-trip");
  return *parsed;
}

void CheckPair(const GtidPosition& a, const GtidPosition& b) {
  const std::string both = a.ToString() + " / " + b.ToString();
  // Missing lists nothing for a domain `a` lacks where `b` stands at seq 0 (no transaction to
  // name), while Contains says `a` lacks it: the one case where the two disagree.
  bool zero_seq_only = true;
  for (const auto& [domain, theirs] : b.entries()) {
    if (!a.Find(domain) && theirs.seq != 0) zero_seq_only = false;
    if (a.Find(domain) && a.Find(domain)->seq < theirs.seq) zero_seq_only = false;
  }
  FUZZ_CHECK(!a.Contains(b) || a.Missing(b).empty(), both);
  FUZZ_CHECK(a.Contains(b) || !a.Missing(b).empty() || zero_seq_only, both);
  FUZZ_CHECK(!(a.AheadOf(b) && b.AheadOf(a)), both);
  FUZZ_CHECK(a.Conflicting(b).size() == b.Conflicting(a).size(), both);
  size_t further = 0, conflicts = 0;
  bool contains = true;
  for (const auto& [domain, theirs] : b.entries()) {
    const std::optional<Gtid> mine = a.Find(domain);
    const uint64_t have = mine ? mine->seq : 0;
    if (have < theirs.seq) ++further;
    if (!mine || mine->seq < theirs.seq) contains = false;
    if (mine && mine->seq == theirs.seq && mine->server_id != theirs.server_id) ++conflicts;
  }
  FUZZ_CHECK(a.Contains(b) == contains, both);
  FUZZ_CHECK(a.Missing(b).size() == further, both + ": " + replplan::JoinGtidList(a.Missing(b)));
  FUZZ_CHECK(a.Conflicting(b).size() == conflicts, both + ": " + replplan::JoinGtidList(a.Conflicting(b)));
  FUZZ_CHECK((a == b) == (a.ToString() == b.ToString()), both);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<GtidPosition> positions;
  for (int i = 0; i < 3; ++i) {
    const size_t bar = text.find('|');
    if (std::optional<GtidPosition> p = ParseChecked(text.substr(0, bar))) positions.push_back(*p);
    if (bar == std::string_view::npos) break;
    text.remove_prefix(bar + 1);
  }
  const GtidPosition empty;
  for (const GtidPosition& a : positions) {
    FUZZ_CHECK(a.Contains(a) && !a.AheadOf(a) && a.Contains(empty) && a.Missing(a).empty() && a.Conflicting(a).empty(),
               a.ToString());
    FUZZ_CHECK(empty.Contains(a) == a.empty() && a.Missing(empty).empty(), a.ToString());
    for (const GtidPosition& b : positions) {
      CheckPair(a, b);
      for (const GtidPosition& c : positions) {
        FUZZ_CHECK(!(a.Contains(b) && b.Contains(c)) || a.Contains(c), a.ToString() + " / " + b.ToString() + " / " + c.ToString());
      }
    }
  }
  return 0;
}
