#include "providers/etcd/etcd_store.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <mutex>
#include <optional>
#include <vector>
#include <nlohmann/json.hpp>

#include "engine/text.h"

namespace replplan {
namespace {

using nlohmann::json;

// curl_global_init is not thread-safe: done once, before the first handle.
void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t Collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

int64_t Number(const json& j, const char* field) {
  if (!j.contains(field)) return 0;  // proto3 JSON leaves zeroes out
  const json& v = j.at(field);
  if (v.is_string()) return std::stoll(v.get<std::string>());
  if (v.is_number_integer()) return v.get<int64_t>();
  return 0;
}

class EtcdStore : public KvStore {
 public:
  explicit EtcdStore(EtcdOptions options) : options_(std::move(options)) { GlobalInit(); }
  ~EtcdStore() override {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  Result<int64_t> GrantLease(int ttl_seconds) override {
    auto r = Post("/v3/lease/grant", json{{"TTL", std::to_string(ttl_seconds)}});
    if (!r.ok()) return r.status();
    int64_t id = Number(*r, "ID");
    if (id == 0) return Status::Internal(Describe() + " granted no lease: " + r->dump());
    return id;
  }
  Result<int64_t> KeepAlive(int64_t lease) override {
    auto r = Post("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}});
    if (!r.ok()) return r.status();
    if (!r->contains("result")) return Status::Internal(Describe() + ": keepalive answered " + r->dump());
    return Number(r->at("result"), "TTL");  // absent (0): the lease is gone
  }
  Status RevokeLease(int64_t lease) override {
    auto r = Post("/v3/lease/revoke", json{{"ID", std::to_string(lease)}});
    return r.ok() || r.status().code() == Status::Code::kNotFound ? Status::OK() : r.status();
  }
  Result<std::vector<KeyValue>> Get(const std::string& key, bool prefix) override { return Range(key, prefix, false); }
  Result<std::vector<KeyValue>> GetSerializable(const std::string& key, bool prefix) override {
    return Range(key, prefix, true);
  }
  Result<std::vector<KeyValue>> Range(const std::string& key, bool prefix, bool serializable) {
    json body{{"key", Base64Encode(key)}};
    if (prefix) body["range_end"] = Base64Encode(PrefixEnd(key));
    if (serializable) body["serializable"] = true;
    auto r = Post("/v3/kv/range", body);
    if (!r.ok()) return r.status();
    std::vector<KeyValue> out;
    if (!r->contains("kvs")) return out;
    for (const json& kv : r->at("kvs")) {
      KeyValue v;
      auto k = Base64Decode(kv.value("key", ""));
      auto value = Base64Decode(kv.value("value", ""));
      if (!k.ok() || !value.ok()) return Status::Internal(Describe() + ": a key or value that is not base64");
      v.key = std::move(*k);
      v.value = std::move(*value);
      v.create_revision = Number(kv, "create_revision");
      v.mod_revision = Number(kv, "mod_revision");
      v.lease = Number(kv, "lease");
      out.push_back(std::move(v));
    }
    return out;
  }
  Result<bool> Txn(const std::vector<KvCompare>& when, const std::vector<KvPut>& then) override {
    json compare = json::array();
    for (const KvCompare& c : when) {
      json one{{"key", Base64Encode(c.key)}, {"result", "EQUAL"}};
      switch (c.target) {
        case KvCompare::Target::kCreateRevision:
          one["target"] = "CREATE";
          one["create_revision"] = std::to_string(c.revision);
          break;
        case KvCompare::Target::kModRevision:
          one["target"] = "MOD";
          one["mod_revision"] = std::to_string(c.revision);
          break;
        case KvCompare::Target::kValue:
          one["target"] = "VALUE";
          one["value"] = Base64Encode(c.value);
          break;
      }
      compare.push_back(std::move(one));
    }
    json success = json::array();
    for (const KvPut& p : then) {
      json put{{"key", Base64Encode(p.key)}, {"value", Base64Encode(p.value)}};
      if (p.lease != 0) put["lease"] = std::to_string(p.lease);
      success.push_back(json{{"request_put", std::move(put)}});
    }
    auto r = Post("/v3/kv/txn", json{{"compare", compare}, {"success", success}});
    if (!r.ok()) return r.status();
    return r->value("succeeded", false);
  }
  std::string Describe() const override { return "etcd at " + Join(options_.endpoints, ","); }

 private:
  // The smallest key greater than every key starting with `prefix` (etcd's range_end for a prefix).
  static std::string PrefixEnd(std::string prefix) {
    while (!prefix.empty()) {
      unsigned char last = static_cast<unsigned char>(prefix.back());
      if (last < 0xff) {
        prefix.back() = static_cast<char>(last + 1);
        return prefix;
      }
      prefix.pop_back();
    }
    return std::string(1, '\0');  // every key
  }

  // One request to the endpoints in turn, starting with the last one that answered. Each call
  // borrows an idle handle (one is made when none is idle) and gives it back, so its connection
  // stays open for the next call, and calls from several threads run at once: a failover's
  // journal entry never waits behind the lease's keepalive or another host's entry.
  Result<json> Post(const std::string& path, const json& body) {
    CURL* handle = nullptr;
    size_t first = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!idle_.empty()) {
        handle = idle_.back();
        idle_.pop_back();
      }
      first = current_;
    }
    if (handle == nullptr) handle = curl_easy_init();
    if (handle == nullptr) return Status::Internal("curl_easy_init failed");
    std::vector<std::string> why;  // each endpoint's, in the order tried
    std::optional<Result<json>> answer;
    const size_t n = options_.endpoints.size();
    for (size_t i = 0; i < n && !answer; ++i) {
      const size_t at = (first + i) % n;
      auto r = PostTo(handle, options_.endpoints[at], path, body);
      if (r.ok() || r.status().code() != Status::Code::kUnavailable) {
        std::lock_guard<std::mutex> lock(mutex_);
        current_ = at;
        answer = std::move(r);
      } else {
        why.push_back(r.status().message());
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      idle_.push_back(handle);
    }
    if (answer) return std::move(*answer);
    if (why.size() == 1) return Status::Unavailable(why.front());
    return Status::Unavailable("no etcd endpoint answers (" + Join(why, "; ") + ")");
  }

  Result<json> PostTo(CURL* curl, const std::string& endpoint, const std::string& path, const json& body) {
    std::string url = endpoint + path;
    std::string request = body.dump();
    std::string response;
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout_ms));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.cert_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.cert_file.c_str());
    if (!options_.key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.key_file.c_str());
    struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      std::string why = error[0] != 0 ? error : curl_easy_strerror(rc);
      if (rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_PEER_FAILED_VERIFICATION) {
        return Status::FailedPrecondition("etcd at " + endpoint + ": TLS: " + why +
                                          " (check --etcd-cacert, --etcd-cert, --etcd-key, or [watch] etcd_cacert, " +
                                          "etcd_cert, etcd_key)");
      }
      return Status::Unavailable("etcd at " + endpoint + " does not answer: " + why);
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    json parsed = json::parse(response, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return Status::Internal("etcd at " + endpoint + path + " answered HTTP " + std::to_string(code) +
                              " with what is not JSON");
    }
    if (code != 200 || parsed.contains("error")) {
      std::string message = parsed.value("message", parsed.value("error", std::string("HTTP ") + std::to_string(code)));
      if (message.find("lease not found") != std::string::npos) return Status::NotFound("etcd: " + message);
      // No leader, no quorum, a request that timed out inside etcd: the same to us as no answer.
      if (message.find("timed out") != std::string::npos || message.find("leader") != std::string::npos ||
          message.find("unavailable") != std::string::npos || code == 503) {
        return Status::Unavailable("etcd at " + endpoint + ": " + message);
      }
      return Status::Internal("etcd at " + endpoint + path + ": " + message);
    }
    return parsed;
  }

  EtcdOptions options_;
  std::mutex mutex_;          // guards idle_ and current_, never held across a request
  std::vector<CURL*> idle_;   // handles between calls, their connections open
  size_t current_ = 0;
};

}  // namespace

Result<std::vector<std::string>> ParseEtcdEndpoints(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string one(Trim(std::string_view(list).substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (!one.empty()) {
      bool scheme = one.rfind("http://", 0) == 0 || one.rfind("https://", 0) == 0;
      size_t host = one.find("://");
      if (!scheme || host + 3 >= one.size() || one.find('@') != std::string::npos) {
        return Status::InvalidArgument("etcd endpoint '" + one + "': expected http://HOST:PORT or https://HOST:PORT");
      }
      if (one.back() == '/') one.pop_back();
      out.push_back(one);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty()) return Status::InvalidArgument("no etcd endpoint given (--etcd http://HOST:2379[,...])");
  return out;
}

std::unique_ptr<KvStore> MakeEtcdStore(const EtcdOptions& options) { return std::make_unique<EtcdStore>(options); }

std::string Base64Encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(const std::string& text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("not base64");
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidArgument("not base64");
  // EVP_DecodeBlock counts the padding's zero bytes in: take them off.
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace replplan
