// Unit tests only: an in-memory KvStore (providers/etcd/kv_store.h) with etcd's semantics where the
// coordination depends on them (one revision counter, create/mod revisions, keys under a lease
// gone with it, all-or-nothing transactions), and the faults a test needs: the store unreachable
// (`down`), a lease expired now (Expire), as a frozen or killed watcher's would. Several
// coordinations share one FakeKvStore as several machines share one etcd.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "providers/etcd/kv_store.h"

namespace replplan::testing {

class FakeKvStore : public KvStore {
 public:
  Result<int64_t> GrantLease(int) override {
    ++calls;
    std::lock_guard<std::mutex> lock(mutex_);
    if (down) return Down();
    leases_.insert(++next_lease_);
    return next_lease_;
  }
  Result<int64_t> KeepAlive(int64_t lease) override {
    ++calls;
    std::lock_guard<std::mutex> lock(mutex_);
    if (down) return Down();
    return leases_.count(lease) != 0 ? 2 : 0;
  }
  Status RevokeLease(int64_t lease) override {
    ++calls;
    std::lock_guard<std::mutex> lock(mutex_);
    if (down) return Down();
    DropLease(lease);
    return Status::OK();
  }
  Result<std::vector<KeyValue>> Get(const std::string& key, bool prefix) override {
    ++calls;
    std::lock_guard<std::mutex> lock(mutex_);
    if (down) return Down();
    std::vector<KeyValue> out;
    for (const auto& [k, v] : kv_) {
      if (prefix ? k.rfind(key, 0) == 0 : k == key) out.push_back(v);
    }
    return out;
  }
  Result<bool> Txn(const std::vector<KvCompare>& when, const std::vector<KvPut>& then) override {
    ++calls;
    if (txn_delay.count() > 0) std::this_thread::sleep_for(txn_delay);  // a round trip, others' in flight
    std::lock_guard<std::mutex> lock(mutex_);
    if (down) return Down();
    for (const KvCompare& c : when) {
      auto it = kv_.find(c.key);
      switch (c.target) {
        case KvCompare::Target::kCreateRevision:
          if ((it == kv_.end() ? 0 : it->second.create_revision) != c.revision) return false;
          break;
        case KvCompare::Target::kModRevision:
          if ((it == kv_.end() ? 0 : it->second.mod_revision) != c.revision) return false;
          break;
        case KvCompare::Target::kValue:
          if (it == kv_.end() || it->second.value != c.value) return false;
          break;
      }
    }
    for (const KvPut& p : then) {
      if (p.lease != 0 && leases_.count(p.lease) == 0) return Status::NotFound("etcd: requested lease not found");
    }
    if (then.empty()) return true;
    ++revision_;
    for (const KvPut& p : then) {
      KeyValue& v = kv_[p.key];
      if (v.create_revision == 0) v.create_revision = revision_;
      v.key = p.key;
      v.value = p.value;
      v.mod_revision = revision_;
      v.lease = p.lease;
      ++puts;
    }
    return true;
  }
  std::string Describe() const override { return "the fake etcd"; }

  // The lease is gone now, and every key under it (a watcher killed or frozen past its TTL).
  void Expire(int64_t lease) {
    std::lock_guard<std::mutex> lock(mutex_);
    DropLease(lease);
  }
  std::map<std::string, KeyValue> Snapshot() {
    std::lock_guard<std::mutex> lock(mutex_);
    return kv_;
  }
  std::string Value(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = kv_.find(key);
    return it == kv_.end() ? "" : it->second.value;
  }

  std::atomic<bool> down{false};  // every call answers Unavailable
  std::atomic<int> puts{0};
  std::atomic<int> calls{0};  // every call, answered or not
  std::chrono::milliseconds txn_delay{0};  // set before the calls it delays

 private:
  Status Down() const { return Status::Unavailable("the fake etcd does not answer"); }
  void DropLease(int64_t lease) {
    leases_.erase(lease);
    std::erase_if(kv_, [&](const auto& kv) { return kv.second.lease == lease; });
  }
  std::mutex mutex_;
  std::map<std::string, KeyValue> kv_;
  std::set<int64_t> leases_;
  int64_t revision_ = 0;
  int64_t next_lease_ = 0;
};

}  // namespace replplan::testing
