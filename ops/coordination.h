// Several `watch`es on different machines, coordinated through etcd (providers/etcd/kv_store.h), so
// that the watcher is no single point of failure (docs/failover.md, "Several watchers on etcd").
//
// Keys, under `prefix` (default /replplan/<cluster name>/):
//   leader            the leading watcher's id, under its lease (created only when absent: a
//                     campaign). Its create revision is the leader's term: every change to a server
//                     is a transaction that compares it, so a deposed leader (killed, frozen, cut
//                     off from etcd past its lease) that wakes up changes nothing.
//   seen/<id>         what each watcher's probe sees of the primary, under its lease (gone with it).
//   primary           {"primary", "epoch"}: the current primary and failover epoch, no lease; every
//                     watcher rewrites its own copy of the topology file from it.
//   failover/<E>      the journal of the failover of the loss of the primary of epoch E: created
//                     once (one failover per loss, whoever leads), then step keys
//                     failover/<E>/<term>-<n> ("start X", "done X/promote-replica"), then
//                     state done (or failed). A new leader finding it begun and unfinished carries
//                     it on under its own term: when the promotion was done (journaled done, or
//                     begun and the server answering writable) it finishes that failover (the
//                     failover carried out again resumes it: nobody else is promoted, the replicas
//                     and apps left follow the promoted server, the file and etcd's primary are
//                     rewritten); otherwise it carries the whole failover out itself.
//                     REPLPLAN_TEST_KILL_AFTER_PROMOTION=1 (the lab test only) kills the leader
//                     right after its promotion is journaled done.
//   fence/<term>-<n>  the fences the leader carried out.
//
// Rules: only the leader fails over or fences (Guard's World refuses anything else); the leader
// fails over only when a majority of the live watchers' observations see the primary down (its
// own counted), on top of the replicas' confirmation; with etcd unreachable or without quorum no
// one leads (the lease cannot be renewed), so nothing is started, and the log says so.
//
// Reads: the leader's decision to fail over reads the watchers' observations and the journal
// serializable (from what the etcd member has applied, without a consensus round): at the loss
// every watcher writes its observation at once, and a linearizable read waited behind those
// writes (8-9 ms measured in the lab, the leader's whole margin). What may be stale is harmless:
// an observation not yet seen is read again 2 ms later; a stale majority still needs the
// replicas' confirmation and the journal's first entry, a compare-and-swap that fails when another
// leader began this failover or when the member has lost its quorum (so has this leader's lease).
// The leader key, the epoch record and every write compare under consensus.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ops/pause_store.h"
#include "ops/watch.h"
#include "ops/watch_coordination.h"
#include "ops/world.h"
#include "providers/etcd/etcd_store.h"
#include "providers/etcd/kv_store.h"

namespace replplan::ops {

struct CoordinationOptions {
  std::string prefix;  // ends with '/'
  std::string id;      // this watcher, unique among them
  int ttl_seconds = 2;
  std::chrono::milliseconds tick{200};  // campaign, file sync and publishing every tick
  std::string topology_path;            // this watcher's own copy of the file
  std::function<void(const std::string&)> log;
};

class Coordination : public WatchCoordination {
 public:
  // `background`: ticks on a thread of its own from now on (the first at once); false: the caller
  // calls Tick (unit tests).
  Coordination(KvStore& store, Files& files, CoordinationOptions options, bool background = true);
  ~Coordination() override;  // stops ticking and revokes the lease: a standby takes over at once
  Coordination(const Coordination&) = delete;
  Coordination& operator=(const Coordination&) = delete;

  // One round: the lease kept alive (a new one when it was lost), the leader key campaigned for,
  // the observation published, the file rewritten when etcd's primary is newer.
  void Tick();

  void Observed(const std::string& primary, int64_t epoch, bool answers) override;
  bool Leading() override;
  std::string StandbyReason() override;
  bool EtcdAnswers() override;
  Status MayFailOver(const std::string& primary, int64_t epoch) override;
  void FailoverEnded(const MoveOutcome& outcome) override;

  // One step that changes a server ("start uranus/promote-replica", "record epoch 4 on uranus"),
  // journaled under the leader's term before it is carried out; FailedPrecondition (nothing to be
  // done) when this watcher does not lead, or no longer does, Unavailable when etcd does not answer.
  Status Step(const std::string& what);

  // An entry that changes nothing by itself ("done uranus/promote-replica"), journaled with the next
  // Step of this failover, or with its end: no round trip of its own on the failover's path.
  void JournalWithNext(const std::string& what);

  // `inner` with what changes a server (executor, cluster lock, epoch record) behind this
  // coordination: each action journaled first, refused when this watcher does not lead. The
  // returned World borrows from this object and from `inner`.
  World Guard(const World& inner);

  int64_t term();  // the leader key's create revision while leading, else 0

 private:
  class GuardedExecutors;
  class GuardedLocks;
  class GuardedRecords;

  void Loop();
  void KeepLease();
  void Campaign();
  void Publish();
  void SyncFile();
  void Log(const std::string& line);
  void EtcdAnswered();
  void EtcdFailed(const Status& failed);
  bool LeadingLocked() const;
  std::string JournalKey(int64_t epoch) const;
  // `name` (this watcher's file's server) answers read_only = 0 on a fresh connection.
  bool AnswersWritable(const std::string& name);

  KvStore& store_;
  Files& files_;
  SessionFactory* sessions_ = nullptr;  // Guard's World's: a dead leader's promotion, checked
  CoordinationOptions options_;

  std::mutex step_mutex_;  // held across a Step that writes the journal's first entry, etcd's answer included
  std::mutex mutex_;
  int64_t lease_ = 0;
  std::chrono::steady_clock::time_point lease_valid_until_{};
  std::chrono::steady_clock::time_point last_keepalive_{};
  int64_t term_ = 0;          // leader key create revision while this one leads
  std::string leader_;        // who leads, as last read ("" unknown)
  std::string etcd_error_;    // "" while etcd answers
  // The observation to publish.
  std::string seen_primary_;
  int64_t seen_epoch_ = 0;
  bool seen_answers_ = true;
  bool seen_dirty_ = false;
  std::chrono::steady_clock::time_point seen_published_{};
  // The failover MayFailOver allowed, until FailoverEnded.
  bool armed_ = false;
  int64_t armed_epoch_ = 0;
  std::string armed_from_;
  int64_t armed_journal_mod_ = 0;  // 0: the journal does not exist yet
  bool journal_begun_ = false;     // this term wrote the journal's begin
  std::string armed_promoted_;     // finishing a dead leader's failover: the server it promoted
  std::string armed_left_by_;      // the leader that began it ("" when this one began it)
  int64_t step_ = 0;
  std::vector<KvPut> with_next_;  // JournalWithNext's entries, written with the next Step

  std::unique_ptr<GuardedExecutors> executors_;
  std::unique_ptr<GuardedLocks> locks_;
  std::unique_ptr<GuardedRecords> records_;

  bool done_ = false;
  bool poked_ = false;  // a new observation: tick now
  std::condition_variable wake_;
  std::thread thread_;
};

// `watch` on etcd: options.coordination is set to a Coordination over `etcd`, and the failovers and
// fences go through its Guard. `prefix` "" is /replplan/<cluster name>/; `id` "" is host:pid.
struct EtcdWatchOptions {
  EtcdOptions etcd;
  std::string prefix;
  std::string id;
  int ttl_seconds = 2;
};
// With options.pause set (the service's local record), the pause record is etcd's instead
// (KvPauseStore, key <prefix>pause): a pause taken on any machine holds for every watcher.
Status WatchOnEtcd(WatchOptions options, const EtcdWatchOptions& etcd, const std::atomic<bool>& stop);

// The watchers' key prefix: `configured` (with a trailing '/'), or /replplan/<cluster name>/.
std::string EtcdPrefix(const std::string& configured, const std::string& cluster_name);

}  // namespace replplan::ops
