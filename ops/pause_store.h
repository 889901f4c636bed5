// Maintenance pauses of `replplan watch` (`replplan watch pause FILE --reason ...`, `resume`): where
// the operator's word is kept, behind one interface so that a shared store (etcd, for several
// watchers) can stand in for the local file without the watcher changing.
//
// What a pause means (docs/watch-service.md): the watcher keeps watching and reporting (logs,
// metrics, /health), but changes nothing on the cluster: no failover, and no fencing of a replaced
// primary that comes back writable either. A careful operator pauses to work on the cluster by hand
// (restart or upgrade the primary, rejoin a server); a watcher that then still acted, even only to
// set read_only and kill sessions on a server the operator is bringing back, would surprise them.
// The watcher reads the record every probe interval, so a pause or resume takes effect within one.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/status.h"
#include "ops/watch_events.h"
#include "providers/etcd/kv_store.h"

namespace replplan::ops {

struct PauseState {
  bool paused = false;
  std::string reason;  // the operator's words (--reason), may be empty
  std::string by;      // "root@host (pid N)": who paused or resumed
  std::string since;   // UTC, ISO 8601: when it was paused (or resumed)
  bool operator==(const PauseState&) const = default;
};

// Read is called from the watcher's probe loop and its fence guard's thread: it must be thread-safe.
class PauseStore {
 public:
  virtual ~PauseStore() = default;
  // No record yet: not paused. An error when the record exists but cannot be read or understood.
  virtual Result<PauseState> Read() = 0;
  virtual Status Write(const PauseState& state) = 0;
  // Where the record lives, for messages ("/etc/replplan/main.toml.pause").
  virtual std::string Where() const = 0;
};

// The record as a small JSON file: {"paused": true, "reason": ..., "by": ..., "since": ...},
// replaced atomically (providers/local/atomic_file.h) and always mode 0600. `owner_like` (the
// topology file): a record root creates gets that file's owner, the watcher's user, who must read it.
class LocalPauseStore : public PauseStore {
 public:
  explicit LocalPauseStore(std::string path, std::string owner_like = "")
      : path_(std::move(path)), owner_like_(std::move(owner_like)) {}
  Result<PauseState> Read() override;
  Status Write(const PauseState& state) override;
  std::string Where() const override { return path_; }

 private:
  std::string path_;
  std::string owner_like_;
};

// The record in etcd (several watchers, ops/coordination.h): the same JSON under `key` (the
// watchers' prefix + "pause", no lease), so a pause taken on any machine holds for every watcher.
// Read asks etcd each time; when etcd does not answer, that error is returned again without asking
// for `retry_after` (the probe loop is not held up by a request timeout at every interval; with
// etcd away no watcher leads anyway).
class KvPauseStore : public PauseStore {
 public:
  // `fresh_for`: a reading answered less than that long ago is the answer again, without asking
  // etcd (0: every read asks). The watcher reads the record before each failover attempt, right when
  // every watcher writes its observation: a read of etcd then waits behind those writes.
  KvPauseStore(KvStore& store, std::string key, std::chrono::milliseconds retry_after = std::chrono::seconds(1),
               std::chrono::milliseconds fresh_for = std::chrono::milliseconds(0))
      : store_(store), key_(std::move(key)), retry_after_(retry_after), fresh_for_(fresh_for) {}
  Result<PauseState> Read() override;
  Status Write(const PauseState& state) override;
  std::string Where() const override { return store_.Describe() + ", key " + key_; }

 private:
  KvStore& store_;
  std::string key_;
  std::chrono::milliseconds retry_after_;
  std::chrono::milliseconds fresh_for_;
  std::mutex mutex_;
  Status failed_;  // the last read's error, kept until failed_at_ + retry_after_
  std::chrono::steady_clock::time_point failed_at_{};
  std::optional<PauseState> last_;  // the last reading answered, at last_at_ (none after a write)
  std::chrono::steady_clock::time_point last_at_{};
};

// The local record's file for a topology file: "<state_dir>/<file name>.pause" when a state
// directory is given, else beside the topology file ("<topology path>.pause").
std::string PauseFilePath(const std::string& topology_path, const std::string& state_dir);

// PauseState as the file holds it, and back (InvalidArgument naming `where` when it is not that).
std::string PauseStateJson(const PauseState& state);
Result<PauseState> ParsePauseState(const std::string& text, const std::string& where);

// The watcher's view of the record, read once per probe interval: a change (paused, resumed, the
// record unreadable) is reported once, as an event. An unreadable or malformed record counts as
// paused: an operator's instruction the watcher cannot read is not taken as leave to act.
class PauseWatch {
 public:
  explicit PauseWatch(PauseStore* store) : store_(store) {}
  struct Reading {
    bool paused = false;
    std::optional<WatchEvent> change;  // to report: the state differs from the last reading
  };
  Reading Read();

 private:
  PauseStore* store_;
  std::optional<PauseState> last_;
  std::string last_error_;
  bool was_paused_ = false;
  bool was_unreadable_ = false;  // the last reading was an error, not an operator's pause
};

}  // namespace replplan::ops
