#include "ops/coordination.h"

#include "ops/watch_events.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "engine/topology_edit.h"
#include "engine/topology_parser.h"
#include "providers/session_pool.h"

namespace replplan::ops {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

std::string Padded(int64_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%012lld", static_cast<long long>(n));
  return buffer;
}

json ParseOr(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : json::object();
}

KvCompare LeaderIs(const std::string& key, int64_t term) {
  return KvCompare{key, KvCompare::Target::kCreateRevision, term, ""};
}

struct FileView {
  std::string text;
  std::string primary;
  int64_t epoch = 0;
};

Result<FileView> ReadFile(Files& files, const std::string& path) {
  auto text = files.Read(path);
  if (!text.ok()) return text.status();
  TopologyParse parse = ParseTopology(*text, path);
  if (!parse.ok()) return Status::InvalidArgument(parse.errors.front().ToString());
  return FileView{std::move(*text), parse.topology.cluster.primary, parse.topology.cluster.epoch};
}

}  // namespace

// ---- the World's changes behind the coordination ----

class Coordination::GuardedExecutors : public ExecutorFactory {
 public:
  GuardedExecutors(Coordination& c, ExecutorFactory& inner) : c_(c), inner_(inner) {}
  std::unique_ptr<ActionExecutor> Make(const Topology& topology) override {
    return std::make_unique<Executor>(c_, inner_.Make(topology));
  }

 private:
  class Executor : public ActionExecutor {
   public:
    Executor(Coordination& c, std::unique_ptr<ActionExecutor> inner) : c_(c), inner_(std::move(inner)) {}
    Status Execute(const Action& action, const ProgressFn& progress) override {
      Status may = c_.Step("start " + action.id);
      if (!may.ok()) return may.WithContext(action.id + " not carried out");
      Status done = inner_->Execute(action, progress);
      // What a next leader needs to roll forward: the promotion is done. Journaled with the next
      // entry (the next action's, or the failover's end), not on its own: the actions that wait for
      // the promotion (the app's among them) do not wait for one more round trip to etcd. A leader
      // that dies before that entry leaves "start X/promote-replica" alone, and the next one asks X
      // (MayFailOver): writable, it was promoted.
      if (done.ok() && action.kind == ActionKind::kPromoteReplica) {
        // The lab's leader killed at the worst moment (etcd_watch_test): promoted and journaled
        // done, nothing repointed.
        if (const char* die = std::getenv("REPLPLAN_TEST_KILL_AFTER_PROMOTION"); die != nullptr && *die == '1') {
          Status noted = c_.Step("done " + action.id);
          c_.Log("REPLPLAN_TEST_KILL_AFTER_PROMOTION: killed after the promotion, before anything else (" +
                 (noted.ok() ? std::string("journaled done") : noted.message()) + ")");
          std::raise(SIGKILL);
        }
        c_.JournalWithNext("done " + action.id);
      }
      return done;
    }

   private:
    Coordination& c_;
    std::unique_ptr<ActionExecutor> inner_;
  };
  Coordination& c_;
  ExecutorFactory& inner_;
};

class Coordination::GuardedLocks : public ClusterLockRoutine {
 public:
  GuardedLocks(Coordination& c, ClusterLockRoutine& inner) : c_(c), inner_(inner) {}
  Status Acquire(ClusterLocks& held, const std::vector<const Topology*>& topologies, const std::string& owner) override {
    if (!c_.Leading()) return Status::FailedPrecondition("not the leading watcher: " + c_.StandbyReason());
    return inner_.Acquire(held, topologies, owner);
  }

 private:
  Coordination& c_;
  ClusterLockRoutine& inner_;
};

class Coordination::GuardedRecords : public MoveRecords {
 public:
  GuardedRecords(Coordination& c, MoveRecords& inner) : c_(c), inner_(inner) {}
  Result<int64_t> RecordEpoch(const ServerSpec& new_primary, int64_t at_least, const std::string& kind,
                              const std::string& by) override {
    Status may = c_.Step("record epoch " + std::to_string(at_least) + " on " + new_primary.name);
    if (!may.ok()) return may;
    return inner_.RecordEpoch(new_primary, at_least, kind, by);
  }
  LostTransactions FindLost(const ServerSpec& old_primary, const std::string& new_primary_position) override {
    return inner_.FindLost(old_primary, new_primary_position);
  }

 private:
  Coordination& c_;
  MoveRecords& inner_;
};

// ---- the coordination ----

Coordination::Coordination(KvStore& store, Files& files, CoordinationOptions options, bool background)
    : store_(store), files_(files), options_(std::move(options)) {
  if (background) thread_ = std::thread([this] { Loop(); });
}

Coordination::~Coordination() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  int64_t lease = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lease = lease_;
  }
  if (lease != 0) (void)store_.RevokeLease(lease);  // the leader key goes now, not in a TTL
}

// Under mutex_: etcd answered, or did not. The log says each change once.
void Coordination::EtcdAnswered() {
  if (!etcd_error_.empty()) Log("etcd answers again: watching on, with the other watchers");
  etcd_error_.clear();
}
void Coordination::EtcdFailed(const Status& failed) {
  if (etcd_error_.empty()) {
    Log("etcd unreachable (" + failed.message() + "): no failover and no fencing is started while it is; the " +
        "database cluster is left as it is");
  }
  etcd_error_ = failed.message();
}

void Coordination::Log(const std::string& line) {
  if (options_.log) options_.log(line);
}

std::string Coordination::JournalKey(int64_t epoch) const { return options_.prefix + "failover/" + Padded(epoch); }

void Coordination::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  auto next = Steady::now();  // the next whole round
  while (!done_) {
    const bool round = Steady::now() >= next;
    lock.unlock();
    // Woken by a new observation before the round is due: that observation only. At a loss every
    // watcher is woken at once, and the leader's failover is then asking etcd: the lease, the
    // leader key and the file wait for the round, not adding six requests to etcd's busiest moment.
    if (round) Tick();
    else Publish();
    lock.lock();
    if (round) next = Steady::now() + options_.tick;
    // Woken early by a new observation only (Observed), never by one left to publish: with etcd
    // away that would be a loop of failing requests.
    wake_.wait_until(lock, next, [this] { return done_ || poked_; });
    poked_ = false;
  }
}

void Coordination::Tick() {
  // A new observation first (the leader counts it towards a majority, the first thing a failover
  // waits for), then the lease and the leader key; again after them when a new lease took it away.
  Publish();
  KeepLease();
  Campaign();
  Publish();
  SyncFile();
}

// The lease: renewed every third of its TTL; a new one when it is gone (expired while etcd was
// away, or while this process was frozen). Leading ends with it.
void Coordination::KeepLease() {
  int64_t lease;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lease = lease_;
    if (lease != 0 && Steady::now() - last_keepalive_ < std::chrono::milliseconds(options_.ttl_seconds * 1000 / 3)) return;
  }
  const auto sent = Steady::now();
  Status failed = Status::OK();
  if (lease != 0) {
    auto left = store_.KeepAlive(lease);
    if (left.ok() && *left > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      last_keepalive_ = sent;
      lease_valid_until_ = sent + std::chrono::seconds(*left);
      EtcdAnswered();
      return;
    }
    if (left.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (term_ != 0) Log("this watcher's etcd lease expired: it leads no more (it changes nothing from now on)");
      lease_ = 0;
      term_ = 0;
      seen_dirty_ = true;  // the observation went with the lease
    } else {
      failed = left.status();
    }
  }
  if (failed.ok()) {
    auto granted = store_.GrantLease(options_.ttl_seconds);
    if (granted.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      lease_ = *granted;
      last_keepalive_ = sent;
      lease_valid_until_ = sent + std::chrono::seconds(options_.ttl_seconds);
      EtcdAnswered();
      seen_dirty_ = true;
      return;
    }
    failed = granted.status();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  EtcdFailed(failed);
}

void Coordination::Campaign() {
  int64_t lease;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lease = lease_;
  }
  const std::string key = options_.prefix + "leader";
  auto current = store_.Get(key, false);
  if (current.ok() && current->empty() && lease != 0) {
    auto won = store_.Txn({LeaderIs(key, 0)}, {KvPut{key, options_.id, lease}});
    current = won.ok() ? store_.Get(key, false) : Result<std::vector<KeyValue>>(won.status());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!current.ok()) {
    EtcdFailed(current.status());
    return;
  }
  EtcdAnswered();
  const bool mine = !current->empty() && current->front().value == options_.id && current->front().lease == lease_ &&
                    lease_ != 0;
  const int64_t term = mine ? current->front().create_revision : 0;
  const std::string leader = current->empty() ? "" : current->front().value;
  if (term != term_) {
    if (term != 0) Log("leading the watchers (etcd leader key, term " + std::to_string(term) + ")");
    else if (term_ != 0) Log("leads no more: " + (leader.empty() ? std::string("no leader key") : leader + " leads"));
  }
  if (term == 0 && leader != leader_ && !leader.empty()) {
    Log("standing by: " + leader + " leads the watchers (connections kept warm)");
  }
  term_ = term;
  leader_ = leader;
}

void Coordination::Publish() {
  std::string value;
  int64_t lease;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (lease_ == 0 || seen_primary_.empty()) return;
    if (!seen_dirty_ && Steady::now() - seen_published_ < std::chrono::seconds(1)) return;
    value = json{{"primary", seen_primary_}, {"epoch", seen_epoch_}, {"answers", seen_answers_}}.dump();
    lease = lease_;
    seen_dirty_ = false;
  }
  auto put = store_.Txn({}, {KvPut{options_.prefix + "seen/" + options_.id, value, lease}});
  std::lock_guard<std::mutex> lock(mutex_);
  if (put.ok()) seen_published_ = Steady::now();
  else seen_dirty_ = true;
}

// etcd's primary and epoch, when newer than this copy of the file's, written into it (the primary
// line and the epoch, every other byte kept). The leader seeds etcd from its file the first time,
// and publishes a newer epoch its file has (an operator's switchover rewrote it).
void Coordination::SyncFile() {
  const std::string key = options_.prefix + "primary";
  auto record = store_.Get(key, false);
  if (!record.ok()) return;
  auto file = ReadFile(files_, options_.topology_path);
  if (!file.ok()) return;
  if (record->empty() || ParseOr(record->front().value).value("epoch", int64_t{0}) < file->epoch) {
    int64_t term = this->term();
    if (term == 0) return;
    const int64_t mod = record->empty() ? 0 : record->front().mod_revision;
    (void)store_.Txn({LeaderIs(options_.prefix + "leader", term), KvCompare{key, KvCompare::Target::kModRevision, mod, ""}},
                     {KvPut{key, json{{"primary", file->primary}, {"epoch", file->epoch}}.dump(), 0}});
    return;
  }
  json now = ParseOr(record->front().value);
  const std::string primary = now.value("primary", "");
  const int64_t epoch = now.value("epoch", int64_t{0});
  if (primary.empty() || (primary == file->primary && epoch == file->epoch)) return;
  if (epoch < file->epoch || (epoch == file->epoch && primary != file->primary)) return;  // the file is ahead
  auto text = SetPrimaryInTopology(file->text, options_.topology_path, primary);
  if (text.ok()) text = SetEpochInTopology(*text, options_.topology_path, epoch);
  Status written = text.ok() ? files_.WriteAtomically(options_.topology_path, *text) : text.status();
  Log(written.ok() ? "the topology file rewritten from etcd: primary = \"" + primary + "\", epoch = " +
                         std::to_string(epoch) + " (it said " + file->primary + ", epoch " +
                         std::to_string(file->epoch) + ")"
                   : "could not rewrite the topology file from etcd (primary " + primary + ", epoch " +
                         std::to_string(epoch) + "): " + written.message());
}

void Coordination::Observed(const std::string& primary, int64_t epoch, bool answers) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (primary == seen_primary_ && epoch == seen_epoch_ && answers == seen_answers_) return;
    seen_primary_ = primary;
    seen_epoch_ = epoch;
    seen_answers_ = answers;
    seen_dirty_ = true;
    poked_ = true;
  }
  wake_.notify_all();  // published now, not at the next tick
}

// Leading needs etcd answering now, not only a lease not yet expired: with etcd away nothing starts.
bool Coordination::LeadingLocked() const {
  return term_ != 0 && etcd_error_.empty() && Steady::now() < lease_valid_until_;
}

bool Coordination::EtcdAnswers() {
  std::lock_guard<std::mutex> lock(mutex_);
  return etcd_error_.empty();
}

bool Coordination::Leading() {
  std::lock_guard<std::mutex> lock(mutex_);
  return LeadingLocked();
}

int64_t Coordination::term() {
  std::lock_guard<std::mutex> lock(mutex_);
  return LeadingLocked() ? term_ : 0;
}

std::string Coordination::StandbyReason() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (LeadingLocked()) return "";
  if (!etcd_error_.empty()) return "etcd unreachable (" + etcd_error_ + "): no failover and no fencing while it is";
  if (term_ != 0) return "this watcher's etcd lease is not renewed in time: it may lead no more";
  if (!leader_.empty()) return leader_ + " leads the watchers; this one stands by";
  return "no watcher leads yet (etcd leader key not taken)";
}

Status Coordination::MayFailOver(const std::string& primary, int64_t epoch) {
  if (std::string why = StandbyReason(); !why.empty()) return Status::FailedPrecondition(why);
  // The watchers' view: a majority of the live ones must see the primary down (this one's own view
  // as it is now, not as last published).
  // Both reads serializable (ops/coordination.h: what may be stale, and why that is safe): at the
  // loss every watcher publishes at once, and a linearizable read waits behind their puts.
  auto seen = store_.GetSerializable(options_.prefix + "seen/", true);
  if (!seen.ok()) return Status::Unavailable("etcd unreachable (" + seen.status().message() + "): no failover");
  int total = 0, down = 0;
  bool self = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const KeyValue& kv : *seen) {
      const bool mine = kv.key == options_.prefix + "seen/" + options_.id;
      json j = ParseOr(kv.value);
      bool sees_down = j.value("primary", "") == primary && j.value("epoch", int64_t{-1}) == epoch &&
                       !j.value("answers", true);
      if (mine) {
        self = true;
        sees_down = seen_primary_ == primary && seen_epoch_ == epoch && !seen_answers_;
      }
      ++total;
      down += sees_down ? 1 : 0;
    }
    if (!self) {
      ++total;
      down += seen_primary_ == primary && seen_epoch_ == epoch && !seen_answers_ ? 1 : 0;
    }
  }
  if (down * 2 <= total) {
    return Status::FailedPrecondition(std::to_string(down) + " of " + std::to_string(total) + " watchers see " +
                                      primary + " down: a majority is needed");
  }
  // One failover per loss: the journal of this epoch's loss.
  auto journal = store_.GetSerializable(JournalKey(epoch), true);
  if (!journal.ok()) return Status::Unavailable("etcd unreachable (" + journal.status().message() + "): no failover");
  const KeyValue* head = nullptr;
  std::string promoted;  // "done X/promote-replica" in its steps: X
  std::string promoting;  // "start X/promote-replica": X, whose promotion may or may not have taken effect
  const std::string suffix = std::string("/") + ToString(ActionKind::kPromoteReplica);
  for (const KeyValue& kv : *journal) {
    if (kv.key == JournalKey(epoch)) {
      head = &kv;
      continue;
    }
    const std::string step = ParseOr(kv.value).value("step", "");
    for (auto [verb, into] : {std::pair<const char*, std::string*>{"done ", &promoted}, {"start ", &promoting}}) {
      const size_t n = std::string(verb).size();
      if (step.rfind(verb, 0) == 0 && step.size() > n + suffix.size() &&
          step.compare(step.size() - suffix.size(), suffix.size(), suffix) == 0) {
        *into = step.substr(n, step.size() - n - suffix.size());
      }
    }
  }
  // A leader killed inside the promotion leaves "start X/promote-replica" alone: X is asked. Writable,
  // it was promoted (a fresh failover would pick another and leave two writable servers); read-only,
  // it is a replica like the others, which the failover carried out again repoints.
  if (head != nullptr && promoted.empty() && !promoting.empty() && AnswersWritable(promoting)) promoted = promoting;
  if (head != nullptr) {
    json j = ParseOr(head->value);
    const std::string state = j.value("state", "");
    const std::string by = j.value("by", "");
    if (state == "done") {
      return Status::FailedPrecondition("the loss of " + primary + " at epoch " + std::to_string(epoch) +
                                        " was failed over already (to " + j.value("to", "?") + ", by " + by +
                                        "): not again");
    }
    if (state == "failed") {
      return Status::FailedPrecondition("the failover of the loss of " + primary + " at epoch " +
                                        std::to_string(epoch) + " failed (" + j.value("why", "") + ", by " + by +
                                        "): the operator decides");
    }
    if (!promoted.empty()) {
      // The promotion is done: this leader finishes the failover under its own term. The failover
      // carried out again finds `promoted` writable and replicating from nobody, promotes no one
      // (engine/failover_choice.h, `resumed`), repoints the replicas and apps left and rewrites the
      // file; its steps go into this journal, and a promotion of any other server is refused (Step).
      Log("the failover of " + primary + " begun by " + by + " was left unfinished after " + promoted +
          " was promoted: this leader finishes it (the other replicas and the apps follow " + promoted + ")");
    } else {
      Log("the failover of " + primary + " begun by " + by + " was left unfinished before any promotion: this " +
          "leader carries it out");
    }
    const int64_t journal_mod = head->mod_revision;
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = true;
    armed_epoch_ = epoch;
    armed_from_ = primary;
    armed_journal_mod_ = journal_mod;
    armed_promoted_ = promoted;
    armed_left_by_ = by;
    journal_begun_ = false;
    return Status::OK();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = true;
  armed_epoch_ = epoch;
  armed_from_ = primary;
  armed_journal_mod_ = 0;
  armed_promoted_.clear();
  armed_left_by_.clear();
  journal_begun_ = false;
  return Status::OK();
}

Status Coordination::Step(const std::string& what) {
  // The journal's first entry alone: the plan runs actions on several hosts at once, and two first
  // entries each comparing the journal's revision would refuse one another. Once it is written,
  // entries go to etcd side by side (each its own key, each comparing the leader key), so an
  // action on the app's path never waits behind another host's entry.
  std::unique_lock<std::mutex> one_at_a_time(step_mutex_);
  std::vector<KvCompare> when;
  std::vector<KvPut> then;
  std::vector<KvPut> carried;  // JournalWithNext's entries
  std::string key;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!LeadingLocked()) {
      std::string why = !etcd_error_.empty() ? "etcd unreachable (" + etcd_error_ + ")"
                        : leader_.empty() || leader_ == options_.id ? std::string("its lease is not renewed in time")
                                                                    : leader_ + " leads";
      return Status::FailedPrecondition("this watcher does not lead (" + why + ")");
    }
    // Finishing a failover whose promotion a dead leader did: a second server is never promoted.
    const std::string promote = "start ";
    const std::string suffix = std::string("/") + ToString(ActionKind::kPromoteReplica);
    if (armed_ && !armed_promoted_.empty() && what.rfind(promote, 0) == 0 && what.size() > suffix.size() &&
        what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        what != promote + armed_promoted_ + suffix) {
      return Status::FailedPrecondition(armed_promoted_ + " was promoted by " + armed_left_by_ +
                                        " in this failover already: " + what.substr(promote.size()) + " is not promoted");
    }
    when.push_back(LeaderIs(options_.prefix + "leader", term_));
    json step{{"step", what}, {"by", options_.id}, {"term", term_}};
    const std::string n = Padded(term_) + "-" + Padded(++step_);
    if (armed_) {
      if (!journal_begun_) {
        when.push_back(armed_journal_mod_ == 0
                           ? KvCompare{JournalKey(armed_epoch_), KvCompare::Target::kCreateRevision, 0, ""}
                           : KvCompare{JournalKey(armed_epoch_), KvCompare::Target::kModRevision, armed_journal_mod_, ""});
        then.push_back(KvPut{JournalKey(armed_epoch_),
                             json{{"from", armed_from_}, {"state", "begun"}, {"by", options_.id}, {"term", term_}}.dump(),
                             0});
      }
      key = JournalKey(armed_epoch_) + "/" + n;
    } else {
      key = options_.prefix + "fence/" + n;
    }
    then.push_back(KvPut{key, step.dump(), 0});
    if (armed_) {  // what JournalWithNext left (numbered when it was left)
      carried = std::move(with_next_);
      with_next_.clear();
      then.insert(then.end(), carried.begin(), carried.end());
    }
    if (!armed_ || journal_begun_) one_at_a_time.unlock();
  }
  auto done = store_.Txn(when, then);
  if (!done.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    EtcdFailed(done.status());
    if (armed_) with_next_.insert(with_next_.begin(), carried.begin(), carried.end());  // with the next one
    return Status::Unavailable("etcd unreachable (" + done.status().message() + "): not journaled, not done");
  }
  if (!*done) {
    return Status::FailedPrecondition("etcd refused the journal entry: this watcher leads no more, or another " +
                                      std::string("leader began this failover"));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (armed_) journal_begun_ = true;
  return Status::OK();
}

void Coordination::JournalWithNext(const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || !journal_begun_) return;
  // Its number now: in key order after the step it completes, whichever entry carries it.
  const std::string key = JournalKey(armed_epoch_) + "/" + Padded(term_) + "-" + Padded(++step_);
  with_next_.push_back(KvPut{key, json{{"step", what}, {"by", options_.id}, {"term", term_}}.dump(), 0});
}

void Coordination::FailoverEnded(const MoveOutcome& outcome) {
  int64_t epoch, term;
  std::string from, left_by;
  std::vector<KvPut> then;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!armed_) return;
    armed_ = false;
    if (!journal_begun_) return;  // refused before any change: no journal
    epoch = armed_epoch_;
    from = armed_from_;
    term = term_;
    left_by = armed_left_by_;
    then = std::move(with_next_);  // a promotion's done entry that no later step carried
    with_next_.clear();
  }
  const std::string leader = options_.prefix + "leader";
  json end{{"from", from}, {"by", options_.id}, {"term", term}};
  if (!left_by.empty()) end["finished_for"] = left_by;  // the leader that died after its promotion
  if (outcome.promoted) {
    then.push_back(KvPut{options_.prefix + "primary", json{{"primary", outcome.to}, {"epoch", outcome.epoch}}.dump(), 0});
    end["to"] = outcome.to;
    end["epoch"] = outcome.epoch;
    end["state"] = "done";
  } else {
    end["state"] = "failed";
    end["why"] = outcome.status.message();
  }
  then.push_back(KvPut{JournalKey(epoch), end.dump(), 0});
  auto done = store_.Txn({LeaderIs(leader, term)}, then);
  if (done.ok() && *done) {
    Log(outcome.promoted ? "journaled in etcd: failover of " + from + " done, " + outcome.to + " is the primary (epoch " +
                               std::to_string(outcome.epoch) + ")"
                         : "journaled in etcd: the failover of " + from + " failed");
  } else {
    Log("could not journal the end of the failover in etcd (" +
        (done.ok() ? std::string("this watcher leads no more") : done.status().message()) +
        "): the next leader rolls it forward from the journal");
  }
}

bool Coordination::AnswersWritable(const std::string& name) {
  if (sessions_ == nullptr) return false;
  auto file = ReadFile(files_, options_.topology_path);
  if (!file.ok()) return false;
  TopologyParse parse = ParseTopology(file->text, options_.topology_path);
  const ServerSpec* spec = parse.ok() ? parse.topology.FindServer(name) : nullptr;
  if (spec == nullptr) return false;
  SessionLimits limits;
  limits.sql_connect_timeout_ms = 1000;
  limits.sql_read_timeout_ms = 2000;
  limits.fresh = true;
  auto read_only = sessions_->Open(*spec, limits)->Global("read_only");
  return read_only.ok() && *read_only == "0";
}

World Coordination::Guard(const World& inner) {
  sessions_ = inner.sessions;
  executors_ = std::make_unique<GuardedExecutors>(*this, *inner.executors);
  locks_ = std::make_unique<GuardedLocks>(*this, *inner.locks);
  records_ = std::make_unique<GuardedRecords>(*this, *inner.records);
  World guarded = inner;
  guarded.executors = executors_.get();
  guarded.locks = locks_.get();
  guarded.records = records_.get();
  return guarded;
}

std::string EtcdPrefix(const std::string& configured, const std::string& cluster_name) {
  std::string prefix = configured.empty() ? "/replplan/" + cluster_name + "/" : configured;
  if (prefix.back() != '/') prefix += '/';
  return prefix;
}

Status WatchOnEtcd(WatchOptions options, const EtcdWatchOptions& etcd, const std::atomic<bool>& stop) {
  SessionPool pool;
  LiveWorld live(&pool, ExtraProbes::kNever);
  auto file = ReadFile(*live.world().files, options.topology_path);
  if (!file.ok()) return file.status();
  auto parsed = ParseTopology(file->text, options.topology_path);
  CoordinationOptions c;
  c.prefix = EtcdPrefix(etcd.prefix, parsed.topology.cluster.name);
  if (etcd.id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    c.id = std::string(host) + ":" + std::to_string(getpid());
  } else {
    c.id = etcd.id;
  }
  c.ttl_seconds = etcd.ttl_seconds;
  c.topology_path = options.topology_path;
  // The coordination's lines (leadership, the journal) go where the watcher's events go: as
  // "coordination" events when the watcher emits events (the service, text or JSON), else to its log.
  if (options.events != nullptr) {
    WatchEventSink* events = options.events;
    c.log = [events](const std::string& line) { events->Emit(WatchEvent("coordination", line)); };
  } else {
    c.log = options.log;
  }
  std::unique_ptr<KvStore> store = MakeEtcdStore(etcd.etcd);
  if (c.log) {
    c.log("watcher " + c.id + " on " + store->Describe() + " (prefix " + c.prefix + ", lease TTL " +
          std::to_string(c.ttl_seconds) + " s)");
  }
  // A TLS file that does not fit etcd's (a wrong CA, a certificate etcd refuses) stops the watcher at
  // start, naming the endpoint: it is no outage to wait out. etcd merely away: watching starts, and
  // no failover is started until it answers.
  if (auto first = store->Get(c.prefix + "leader", false);
      !first.ok() && first.status().code() == Status::Code::kFailedPrecondition) {
    return Status::FailedPrecondition("watch on etcd not started: " + first.status().message() +
                                      "; nothing was changed");
  }
  // The pause record in etcd, shared by every watcher (the store runs calls side by side: its reads
  // never queue behind the coordination's). A reading up to 250 ms old stands (a pause takes effect
  // within that): the read before a failover attempt then does not wait behind every watcher's
  // observation being written.
  KvPauseStore pause(*store, c.prefix + "pause", std::chrono::seconds(1), std::chrono::milliseconds(250));
  if (options.pause != nullptr) {
    options.pause = &pause;
    if (c.log) c.log("the pause record is etcd's (" + pause.Where() + "): `replplan watch pause` from any machine holds for every watcher");
  }
  Coordination coordination(*store, *live.world().files, c);
  World guarded = coordination.Guard(live.world());
  options.coordination = &coordination;
  return Watch(guarded, options, stop);
}

}  // namespace replplan::ops
