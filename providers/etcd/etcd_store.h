// KvStore (providers/etcd/kv_store.h) over etcd v3's JSON gateway (etcd 3.4: POST /v3/kv/range,
// /v3/kv/txn, /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke; keys and values base64,
// 64-bit numbers as strings), with libcurl. Every call is bounded by `timeout_ms`; an endpoint that
// does not answer is left for the next one in the list, which is then tried first. TLS: the CA file
// that verifies the members' certificates, and a client certificate and key when etcd asks for one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "providers/etcd/kv_store.h"

namespace replplan {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://10.0.0.5:2379", "https://etcd1:2379"
  std::string ca_file, cert_file, key_file;
  int timeout_ms = 1000;
};

// "a,b,c" -> endpoints, each http:// or https:// with a host; InvalidArgument naming a bad one.
Result<std::vector<std::string>> ParseEtcdEndpoints(const std::string& list);

std::unique_ptr<KvStore> MakeEtcdStore(const EtcdOptions& options);

// base64 of etcd's JSON (standard alphabet, padded). Exposed for tests.
std::string Base64Encode(const std::string& bytes);
Result<std::string> Base64Decode(const std::string& text);

}  // namespace replplan
