// The small consistent key-value store with leases that several `watch`es coordinate through
// (ops/coordination.h): etcd v3 in production (providers/etcd/etcd_store.h, its JSON gateway over
// libcurl), an in-memory one in unit tests (providers/testing/fake_kv_store.h). Only what the
// coordination needs: leases (grant, keep alive, revoke), a read of one key or a prefix, and a
// transaction that writes only when every comparison holds (compare-and-swap), as etcd's Txn.
//
// Invariant: a write under a lease disappears with it; a transaction is all or nothing; revisions
// only grow (create_revision: when the key was created, 0 for a key that does not exist).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"

namespace replplan {

struct KeyValue {
  std::string key, value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;  // 0: none
};

// One comparison of a transaction: the key's create or mod revision equals `revision` (0 for the
// create revision: the key does not exist), or its value equals `value`.
struct KvCompare {
  enum class Target { kCreateRevision, kModRevision, kValue };
  std::string key;
  Target target = Target::kCreateRevision;
  int64_t revision = 0;
  std::string value;
};

struct KvPut {
  std::string key, value;
  int64_t lease = 0;  // 0: the key outlives its writer
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  // A lease of `ttl_seconds`; its id.
  virtual Result<int64_t> GrantLease(int ttl_seconds) = 0;
  // The lease renewed: the seconds it has left, 0 when it is gone (expired or revoked).
  virtual Result<int64_t> KeepAlive(int64_t lease) = 0;
  virtual Status RevokeLease(int64_t lease) = 0;
  // The key, or every key that starts with `key` when `prefix`, in key order.
  virtual Result<std::vector<KeyValue>> Get(const std::string& key, bool prefix) = 0;
  // The same, served from what the member answering has applied, without a round of the
  // consensus (etcd's serializable read): it does not wait behind writes in flight, and may miss
  // them, or more on a member cut off from the others' majority. Only for a read whose staleness
  // a later compare-and-swap or a retry makes harmless. By default, Get.
  virtual Result<std::vector<KeyValue>> GetSerializable(const std::string& key, bool prefix) { return Get(key, prefix); }
  // The puts, only when every comparison holds: whether they were made. NotFound when a put names
  // a lease that is gone.
  virtual Result<bool> Txn(const std::vector<KvCompare>& when, const std::vector<KvPut>& then) = 0;
  // "etcd at http://127.0.0.1:2379": for messages.
  virtual std::string Describe() const = 0;
};

}  // namespace replplan
