#include "engine/failover_choice.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "engine/gtid.h"
#include "engine/mysql_errors.h"

namespace replplan {
namespace {

// A reachable replica with its positions parsed once.
struct Known {
  const ReplicaFacts* facts = nullptr;
  GtidPosition received;
  GtidPosition applied;
  GtidPosition binlog;
  Testimony testimony = Testimony::kUnreachable;
  bool promotable = false;  // a candidate (see CanBeCandidate)
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

// "Slave_IO_Running No, no IO error: stopped by hand", for refusals and reasons.
std::string IoText(const ReplicaFacts& r) {
  std::string text = "Slave_IO_Running " + (r.io_running.empty() ? std::string("(empty)") : r.io_running);
  if (r.last_io_errno != 0) return text + ", IO error " + std::to_string(r.last_io_errno);
  return text + (r.io_running == "No" ? ", no IO error: stopped by hand" : ", no IO error");
}

// Why a replica that answered does not confirm the loss, in a few words.
std::string WhyNoTestimony(const ReplicaFacts& r, Testimony t) {
  switch (t) {
    case Testimony::kNotReplicating: return IoText(r);
    case Testimony::kOtherSource: return "replicates from " + r.source;
    case Testimony::kNoChannel: return "replicates from nobody";
    default: return "";
  }
}

// Who confirms the loss, and whether that is enough.
struct Tally {
  std::vector<std::string> confirmed, connected, unanswered, silent, left_out;
  size_t counted = 0;  // the declared replicas that can testify: all less those left out
  size_t needed = 0;
  bool majority = true;  // the default rule (else --min-confirmations)

  std::string Summary() const {
    std::string out = std::to_string(confirmed.size()) + " confirmed, " + std::to_string(needed) + " needed";
    out += majority ? ": a majority of " + std::to_string(counted) + (counted == 1 ? " replica" : " replicas")
                    : " (--min-confirmations)";
    return out + Who();
  }

  // "; confirmed: a, b; did not answer: c; ..."
  std::string Who() const {
    std::string out;
    if (!confirmed.empty()) out += "; confirmed: " + NameList(confirmed);
    if (!unanswered.empty()) out += "; did not answer: " + NameList(unanswered);
    if (!connected.empty()) out += "; still connected to the primary: " + NameList(connected);
    if (!silent.empty()) out += "; not confirming: " + NameList(silent);
    if (!left_out.empty()) out += "; left out, replicating from nobody: " + NameList(left_out);
    return out;
  }
};

// `resumed`: a replica following that server was moved by the interrupted failover, and counts as
// confirming (that failover's confirmation moved it).
Tally Count(const std::vector<ReplicaFacts>& replicas, const std::string& resumed, int min_confirmations) {
  Tally t;
  for (const ReplicaFacts& r : replicas) {
    const Testimony testimony = TestimonyOf(r);
    switch (testimony) {
      case Testimony::kLost:
        t.confirmed.push_back(r.io_running == "Yes" ? r.name + " (connected, nothing received for " +
                                                          std::to_string(r.received_nothing_for.count()) + " ms, bound " +
                                                          std::to_string(r.silence_bound.count()) + " ms)"
                                                    : r.name);
        break;
      case Testimony::kConnected:
        t.connected.push_back(r.silence_bound.count() > 0 ? r.name + " (nothing received for " +
                                                                 std::to_string(r.received_nothing_for.count()) +
                                                                 " ms, bound " + std::to_string(r.silence_bound.count()) +
                                                                 " ms)"
                                                           : r.name);
        break;
      case Testimony::kUnreachable: t.unanswered.push_back(r.name); break;
      case Testimony::kNoChannel: t.left_out.push_back(r.name); continue;
      case Testimony::kOtherSource:
        if (!resumed.empty() && r.source == resumed) {
          t.confirmed.push_back(r.name + " (already replicating from " + resumed + ")");
          break;
        }
        [[fallthrough]];
      case Testimony::kNotReplicating: t.silent.push_back(r.name + " (" + WhyNoTestimony(r, testimony) + ")"); break;
    }
    ++t.counted;
  }
  t.majority = min_confirmations <= 0;
  t.needed = t.majority ? t.counted / 2 + 1 : static_cast<size_t>(min_confirmations);
  return t;
}

// The refusal when the loss is not confirmed, or "" when it is.
std::string CheckConfirmations(const Tally& t, const std::string& resumed) {
  if (t.majority && t.counted == 0) {
    std::string why = "no replica replicates from the primary: nobody can confirm it is down: no failover (" +
                      t.Who().substr(2) + ")";
    if (!resumed.empty()) {
      why += "; if a failover to " + resumed + " was interrupted after its promotion, set primary = \"" + resumed +
             "\" in the file by hand";
    }
    return why;
  }
  const bool vetoed = t.majority && !t.connected.empty();
  if (!vetoed && t.confirmed.size() >= t.needed) return "";
  std::string why = !vetoed ? "too few replicas confirm the primary is down"
                    : t.confirmed.empty()
                        ? "the tool alone is cut off"
                        : "the primary is alive for " + NameList(t.connected) + ": the tool and some replicas are cut off";
  return why + ": no failover (" + t.Summary() + ")";
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
  k.testimony = TestimonyOf(r);
  return k;
}

bool PromotableByConfiguration(const ReplicaFacts& r) {
  return r.reachable && r.promotion != Promotion::kNever && r.log_bin;
}

std::string WhyNotPromotable(const Known& k) {
  const ReplicaFacts& r = *k.facts;
  if (!r.reachable) return r.name + " did not answer";
  if (r.promotion == Promotion::kNever) return r.name + " has promotion = \"never\"";
  if (!r.log_bin) return r.name + " has log_bin off";
  return r.name + " does not confirm (" + WhyNoTestimony(r, k.testimony) + ")";
}

std::string WhyNotPromotable(const ReplicaFacts& r) {
  Known k;
  k.facts = &r;
  k.testimony = TestimonyOf(r);
  return WhyNotPromotable(k);
}

// A replica that does not confirm may have stopped receiving long before the primary died: it is a
// candidate only when nobody reachable has received anything it lacks.
bool ReceivedEverything(const Known& k, const std::vector<Known>& known) {
  for (const Known& other : known) {
    if (&other != &k && !Covers(k.received, other.received)) return false;
  }
  return true;
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

// The candidate among equally advanced ones: one that confirms the loss, then promotion = "prefer",
// then the first in the file. `why`: what decided it.
const Known* BreakTie(const std::vector<const Known*>& top, std::string* why) {
  std::vector<const Known*> confirming;
  for (const Known* k : top) {
    if (k->testimony == Testimony::kLost) confirming.push_back(k);
  }
  const bool by_testimony = !confirming.empty() && confirming.size() < top.size();
  const std::vector<const Known*>& pool = confirming.empty() ? top : confirming;
  for (const Known* k : pool) {
    if (k->facts->promotion == Promotion::kPrefer) {
      *why = "promotion = \"prefer\"";
      return k;
    }
  }
  *why = by_testimony && pool.size() == 1 ? "confirming the loss (the others do not)" : "coming first in the file";
  return pool.front();
}

void ExplainChoice(const Known& chosen, const std::vector<const Known*>& top, const std::string& tie_breaker,
                   FailoverDecision* d) {
  const std::string& name = chosen.facts->name;
  d->reasons.push_back(name + " has received the most: " + PositionText(chosen.received) +
                       " (everything every other promotable replica has received)");
  if (top.size() > 1) {
    std::vector<std::string> tied;
    for (const Known* k : top) {
      if (k != &chosen) tied.push_back(k->facts->name);
    }
    d->reasons.push_back("tied with " + NameList(tied) + "; chosen for " + tie_breaker);
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
    d->reasons.push_back("warning: " + WhyNotPromotable(k) + " and has received " +
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

// What happens to each replica that answered but does not confirm the loss, in the reasons.
void ExplainSilent(const Known& chosen, const std::vector<Known>& known, FailoverDecision* d) {
  for (const Known& k : known) {
    if (k.testimony == Testimony::kLost) continue;
    const std::string& name = k.facts->name;
    const std::string why = WhyNoTestimony(*k.facts, k.testimony);
    if (&k == &chosen) {
      d->reasons.push_back(name + " does not confirm the loss (" + why + ") but has received everything every "
                           "other replica has: promoted all the same");
    } else if (k.testimony == Testimony::kNoChannel) {
      d->reasons.push_back(name + " replicates from nobody: left out of the confirmations");
    } else if (PromotableByConfiguration(*k.facts) && !k.promotable) {
      d->reasons.push_back(name + " does not confirm the loss (" + why + ") and has not received everything the "
                           "others have: not a candidate");
    }
  }
}

// A server that answered writable, with no channel, holding transactions: one that acts as the
// primary. When there is one and it holds everything every other replica received, it is the
// candidate of a failover interrupted after its promotion. Sets *refusal when such servers make
// any failover unsafe.
const Known* FindResumed(const std::vector<Known>& known, std::string* refusal) {
  std::vector<const Known*> writable;
  for (const Known& k : known) {
    if (k.testimony == Testimony::kNoChannel && !k.facts->read_only && !k.applied.empty()) writable.push_back(&k);
  }
  if (writable.empty()) return nullptr;
  if (writable.size() > 1) {
    std::vector<std::string> names;
    for (const Known* k : writable) names.push_back(k->facts->name);
    *refusal = "several servers are writable and replicate from nobody (" + NameList(names) + "): no failover; "
               "decide which one is the primary, make the others read-only (SET GLOBAL read_only=1) and run "
               "failover again";
    return nullptr;
  }
  const Known& w = *writable.front();
  const std::string& name = w.facts->name;
  const std::string fence = "make it read-only (SET GLOBAL read_only=1) and run failover again, or, if it is "
                            "the primary now, set primary = \"" + name + "\" in the file";
  if (!PromotableByConfiguration(*w.facts)) {
    *refusal = name + " is writable and replicates from nobody, but " + WhyNotPromotable(w) + ": no failover; " + fence;
    return nullptr;
  }
  for (const Known& k : known) {
    if (&k == &w || Covers(w.applied, k.received)) continue;
    *refusal = name + " is writable and replicates from nobody, but lacks what " + k.facts->name +
               " has received (" + Shortfall(w.applied, k.received) + "): promoting another replica would leave two "
               "writable servers: no failover; " + fence;
    return nullptr;
  }
  return &w;
}

}  // namespace

bool IsConnectionError(int client_errno) {
  return client_errno == kErrConnLocal || client_errno == kErrConnRefused || client_errno == kErrServerGone ||
         client_errno == kErrServerLost;
}

Testimony TestimonyOf(const ReplicaFacts& r) {
  if (!r.reachable) return Testimony::kUnreachable;
  if (!r.has_channel) return Testimony::kNoChannel;
  if (!r.source_is_primary) return Testimony::kOtherSource;
  if (r.io_running == "Yes") {
    // Connected, but the primary sent nothing, not even a heartbeat, for longer than B: its IO
    // thread is only waiting out slave_net_timeout.
    const bool silent = r.silence_bound.count() > 0 && r.received_nothing_for > r.silence_bound;
    return silent ? Testimony::kLost : Testimony::kConnected;
  }
  if (IsConnectionError(r.last_io_errno)) return Testimony::kLost;
  // A frozen primary: the replica's reads time out after slave_net_timeout and its IO thread
  // reconnects, with no error recorded until that connect times out too (measured: 4.5 s here).
  const bool reconnecting = r.io_state.rfind("Reconnecting", 0) == 0 || r.io_state.rfind("Waiting to reconnect", 0) == 0;
  if (r.io_running == "Connecting" && r.last_io_errno == 0 && reconnecting) return Testimony::kLost;
  return Testimony::kNotReplicating;
}

std::chrono::milliseconds SilenceBound(const ReplicationSpec& replication) {
  const auto period = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(replication.heartbeat_period * 1000)));
  return kToleratedStall + kStallEndSeen + period;
}

void ReceiptWatch::Observe(std::vector<ReplicaFacts>& replicas) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (ReplicaFacts& r : replicas) {
    r.received_nothing_for = std::chrono::milliseconds(0);
    r.silence_bound = std::chrono::milliseconds(0);
    auto at = seen_.find(r.name);
    const bool timed = r.read_started != std::chrono::steady_clock::time_point{};
    if (at != seen_.end() && timed && r.read_started < at->second.latest_read) continue;  // a late read
    const bool observable = r.reachable && r.has_channel && r.source_is_primary && r.io_running == "Yes" &&
                            r.received_heartbeats.has_value() && r.read_source_log_pos.has_value();
    if (!observable) {
      if (at != seen_.end()) seen_.erase(at);
      continue;
    }
    r.silence_bound = bound_;
    std::string receipt = std::to_string(*r.received_heartbeats) + " " + r.read_source_log_file + ":" +
                          std::to_string(*r.read_source_log_pos) + " " + r.gtid_io_pos;
    if (at == seen_.end() || at->second.receipt != receipt) {
      seen_[r.name] = Seen{std::move(receipt), r.read_done, r.read_started};
      continue;
    }
    at->second.latest_read = r.read_started;
    const auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(r.read_started - at->second.since);
    r.received_nothing_for = std::max(std::chrono::milliseconds(0), quiet);
  }
}

FailoverDecision DecideFailover(const std::vector<ReplicaFacts>& replicas, bool primary_reachable_from_tool,
                                int min_confirmations) {
  if (primary_reachable_from_tool) {
    return Refuse("the primary answers from here: this is a switchover, not a failover "
                  "(use `replplan switchover FILE --to NAME`)");
  }
  std::vector<Known> known;
  for (const ReplicaFacts& r : replicas) {
    if (!r.reachable) continue;
    Result<Known> k = Learn(r);
    if (!k.ok()) return Refuse(k.status().message() + ": cannot compare positions: no failover");
    known.push_back(std::move(*k));
  }
  if (known.empty()) {
    return Refuse("no replica answered: nobody confirms the primary is down and there is nothing to "
                  "promote: no failover");
  }
  std::string refusal;
  const Known* resumed = FindResumed(known, &refusal);
  if (!refusal.empty()) return Refuse(refusal);
  const std::string resumed_name = resumed != nullptr ? resumed->facts->name : "";
  const Tally tally = Count(replicas, resumed_name, min_confirmations);
  if (std::string why = CheckConfirmations(tally, resumed_name); !why.empty()) return Refuse(why);

  FailoverDecision d;
  d.confirmation = tally.Summary();
  if (resumed != nullptr) {
    d.proceed = true;
    d.resumed = true;
    d.candidate = resumed_name;
    d.target_position = resumed->applied.ToString();
    for (const Known& k : known) {
      if (&k == resumed) continue;
      const std::string lacks = JoinGtidList(k.received.Missing(resumed->applied));
      if (!lacks.empty()) d.lagging[k.facts->name] = lacks;
    }
    d.reasons.push_back(resumed_name + " is writable already and replicates from nobody, and holds everything every "
                        "other replica has received (it has " + PositionText(resumed->applied) + "): a failover "
                        "to it was interrupted after its promotion; it is completed, nobody else is promoted");
    Warn(*resumed, known, replicas, &d);
    return d;
  }

  std::vector<std::string> not_promotable;
  bool any_promotable = false;
  for (Known& k : known) {
    k.promotable = PromotableByConfiguration(*k.facts) &&
                   (k.testimony == Testimony::kLost || ReceivedEverything(k, known));
  }
  size_t next = 0;
  for (const ReplicaFacts& r : replicas) {
    const Known* k = next < known.size() && known[next].facts == &r ? &known[next++] : nullptr;
    bool promotable = k != nullptr && k->promotable;
    any_promotable |= promotable;
    if (!promotable) not_promotable.push_back(k != nullptr ? WhyNotPromotable(*k) : WhyNotPromotable(r));
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

  std::string tie_breaker;
  const Known& chosen = *BreakTie(top, &tie_breaker);
  d.proceed = true;
  d.candidate = chosen.facts->name;
  d.target_position = chosen.received.ToString();
  for (const Known& k : known) {
    if (&k == &chosen) continue;
    const std::string lacks = JoinGtidList(k.received.Missing(chosen.received));
    if (!lacks.empty()) d.lagging[k.facts->name] = lacks;
  }
  ExplainChoice(chosen, top, tie_breaker, &d);
  ExplainSilent(chosen, known, &d);
  Warn(chosen, known, replicas, &d);
  return d;
}

}  // namespace replplan
