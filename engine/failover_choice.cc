#include "engine/failover_choice.h"

#include <optional>

#include "engine/gtid.h"

namespace replplan {
namespace {

// A reachable replica with its positions parsed once.
struct Known {
  const ReplicaFacts* facts = nullptr;
  GtidPosition received;
  GtidPosition applied;
  GtidPosition binlog;
  bool promotable = false;
};

FailoverDecision Refuse(std::string why) {
  FailoverDecision d;
  d.refusal = std::move(why);
  return d;
}

std::string NameList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string PositionText(const GtidPosition& p) { return p.empty() ? "(empty)" : p.ToString(); }

// `a` holds everything `b` holds, and they never used one seq for two different transactions.
bool Covers(const GtidPosition& a, const GtidPosition& b) {
  return a.Contains(b) && a.Conflicting(b).empty();
}

// What `have` lacks, or holds differently, compared with `want`: "0-1-44..0-1-45, 1-3-7 vs 1-4-7".
std::string Shortfall(const GtidPosition& have, const GtidPosition& want) {
  std::vector<std::string> items = have.Missing(want);
  for (std::string& c : want.Conflicting(have)) items.push_back("diverged " + c);
  return JoinGtidList(items);
}

// The refusal when too few replicas confirm, or "" when enough do.
std::string CheckConfirmations(const std::vector<const ReplicaFacts*>& reachable, int min_confirmations) {
  const size_t needed = min_confirmations <= 0 ? reachable.size() : static_cast<size_t>(min_confirmations);
  std::vector<std::string> still_connected;
  for (const ReplicaFacts* r : reachable) {
    if (!r->io_thread_lost_source) still_connected.push_back(r->name);
  }
  const size_t confirmed = reachable.size() - still_connected.size();
  if (confirmed >= needed) return "";
  std::string why = "the tool alone is cut off: no failover (" + std::to_string(confirmed) + " of " +
                    std::to_string(reachable.size()) + " reachable replicas lost the primary, " +
                    std::to_string(needed) + " needed";
  if (!still_connected.empty()) why += "; still connected to it: " + NameList(still_connected);
  return why + ")";
}

// Parses one replica's positions; the refusal text on malformed input.
Result<Known> Learn(const ReplicaFacts& r) {
  Known k;
  k.facts = &r;
  const std::string& received_text = r.gtid_io_pos.empty() ? r.gtid_current_pos : r.gtid_io_pos;
  Result<GtidPosition> received = GtidPosition::Parse(received_text);
  Result<GtidPosition> applied = GtidPosition::Parse(r.gtid_current_pos);
  Result<GtidPosition> binlog = GtidPosition::Parse(r.gtid_binlog_pos);
  for (const Status* s : {&received.status(), &applied.status(), &binlog.status()}) {
    if (!s->ok()) return s->WithContext(r.name);
  }
  k.received = *received;
  k.applied = *applied;
  k.binlog = *binlog;
  k.promotable = r.promotion != Promotion::kNever && r.log_bin;
  return k;
}

std::string WhyNotPromotable(const ReplicaFacts& r) {
  if (!r.reachable) return r.name + " did not answer";
  if (r.promotion == Promotion::kNever) return r.name + " has promotion = \"never\"";
  return r.name + " has log_bin off";
}

// The promotable replicas whose received position covers every other promotable one's, in input
// order. Several only when their positions are equal.
std::vector<const Known*> MostAdvanced(const std::vector<Known>& known) {
  std::vector<const Known*> top;
  for (const Known& c : known) {
    if (!c.promotable) continue;
    bool covers_all = true;
    for (const Known& other : known) {
      if (other.promotable && &other != &c && !Covers(c.received, other.received)) covers_all = false;
    }
    if (covers_all) top.push_back(&c);
  }
  return top;
}

const Known* BreakTie(const std::vector<const Known*>& top) {
  for (const Known* k : top) {
    if (k->facts->promotion == Promotion::kPrefer) return k;
  }
  return top.front();
}

void ExplainChoice(const Known& chosen, const std::vector<const Known*>& top, FailoverDecision* d) {
  const std::string& name = chosen.facts->name;
  d->reasons.push_back(name + " has received the most: " + PositionText(chosen.received) +
                       " (everything every other promotable replica has received)");
  if (top.size() > 1) {
    std::vector<std::string> tied;
    for (const Known* k : top) {
      if (k != &chosen) tied.push_back(k->facts->name);
    }
    d->reasons.push_back("tied with " + NameList(tied) + "; chosen for " +
                         (chosen.facts->promotion == Promotion::kPrefer ? "promotion = \"prefer\""
                                                                        : "coming first in the file"));
  }
  const std::string unapplied = chosen.applied.Contains(chosen.received)
                                    ? ""
                                    : JoinGtidList(chosen.applied.Missing(chosen.received));
  if (!unapplied.empty()) {
    d->reasons.push_back(name + " applies its relay log up to " + PositionText(chosen.received) +
                         " first (received, not yet applied: " + unapplied + ")");
  }
}

// What the promotion cannot guarantee, as "warning: ..." reasons.
void Warn(const Known& chosen, const std::vector<Known>& known, const std::vector<ReplicaFacts>& all,
          FailoverDecision* d) {
  const std::string& name = chosen.facts->name;
  for (const Known& k : known) {
    if (&k == &chosen || Covers(chosen.received, k.received)) continue;
    d->reasons.push_back("warning: " + WhyNotPromotable(*k.facts) + " and has received " +
                         PositionText(k.received) + ", which " + name + " lacks: " +
                         Shortfall(chosen.received, k.received) + " will be lost");
  }
  for (const ReplicaFacts& r : all) {
    if (r.reachable) continue;
    d->reasons.push_back("warning: " + r.name + " did not answer: its position is unknown, it may hold "
                         "transactions " + name + " lacks");
  }
  // With log_slave_updates the binlog repeats what was received; anything beyond that was written
  // on the replica itself, and after promotion the others will receive it as if from the primary.
  if (!Covers(chosen.received, chosen.binlog)) {
    d->reasons.push_back("warning: " + name + "'s binlog holds transactions it did not receive from "
                         "the primary (errant): " + Shortfall(chosen.received, chosen.binlog));
  }
  if (!chosen.facts->log_slave_updates && !d->lagging.empty()) {
    std::vector<std::string> behind;
    for (const auto& [other, lacks] : d->lagging) behind.push_back(other);
    d->reasons.push_back("warning: " + name + " has log_slave_updates off: its binlog lacks what it "
                         "replicated, so " + NameList(behind) + " cannot catch up from it and must be "
                         "reseeded");
  }
}

}  // namespace

FailoverDecision DecideFailover(const std::vector<ReplicaFacts>& replicas, bool primary_reachable_from_tool,
                                int min_confirmations) {
  if (primary_reachable_from_tool) {
    return Refuse("the primary answers from here: this is a switchover, not a failover "
                  "(use `replplan switchover FILE --to NAME`)");
  }
  std::vector<const ReplicaFacts*> reachable;
  for (const ReplicaFacts& r : replicas) {
    if (r.reachable) reachable.push_back(&r);
  }
  if (reachable.empty()) {
    return Refuse("no replica answered: nobody confirms the primary is down and there is nothing to "
                  "promote: no failover");
  }
  if (std::string why = CheckConfirmations(reachable, min_confirmations); !why.empty()) return Refuse(why);

  std::vector<Known> known;
  for (const ReplicaFacts* r : reachable) {
    Result<Known> k = Learn(*r);
    if (!k.ok()) return Refuse(k.status().message() + ": cannot compare positions: no failover");
    known.push_back(std::move(*k));
  }

  std::vector<std::string> not_promotable;
  bool any_promotable = false;
  for (const ReplicaFacts& r : replicas) {
    bool promotable = r.reachable && r.promotion != Promotion::kNever && r.log_bin;
    any_promotable |= promotable;
    if (!promotable) not_promotable.push_back(WhyNotPromotable(r));
  }
  if (!any_promotable) return Refuse("no replica can be promoted: " + NameList(not_promotable));

  const std::vector<const Known*> top = MostAdvanced(known);
  if (top.empty()) {
    std::vector<std::string> positions;
    for (const Known& k : known) {
      if (k.promotable) positions.push_back(k.facts->name + " " + PositionText(k.received));
    }
    return Refuse("the replicas have diverged: none has received everything the others have (" +
                  NameList(positions) + "): no failover; compare them and promote one by hand");
  }

  const Known& chosen = *BreakTie(top);
  FailoverDecision d;
  d.proceed = true;
  d.candidate = chosen.facts->name;
  d.target_position = chosen.received.ToString();
  for (const Known& k : known) {
    if (&k == &chosen) continue;
    const std::string lacks = JoinGtidList(k.received.Missing(chosen.received));
    if (!lacks.empty()) d.lagging[k.facts->name] = lacks;
  }
  ExplainChoice(chosen, top, &d);
  Warn(chosen, known, replicas, &d);
  return d;
}

}  // namespace replplan
