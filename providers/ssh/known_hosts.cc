#include "providers/ssh/known_hosts.h"
#include "engine/text.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace replplan {
namespace {

// Standard base64 with padding, as known_hosts writes it; nullopt when it is not.
std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') return std::nullopt;
  }
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// OpenSSH's match_pattern: `*` any run, `?` any one character.
bool WildcardMatch(std::string_view text, std::string_view pattern) {
  size_t t = 0, p = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool HashedNameMatches(const std::string& hosts, const std::string& name) {
  // |1|salt|hash
  const size_t bar = hosts.find('|', 3);
  if (bar == std::string::npos) return false;
  auto salt = DecodeBase64(std::string_view(hosts).substr(3, bar - 3));
  auto hash = DecodeBase64(std::string_view(hosts).substr(bar + 1));
  if (!salt || !hash) return false;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha1(), salt->data(), static_cast<int>(salt->size()), reinterpret_cast<const unsigned char*>(name.data()),
           name.size(), digest, &size) == nullptr) {
    return false;
  }
  return hash->size() == size && std::equal(hash->begin(), hash->end(), reinterpret_cast<const char*>(digest));
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t at = 0;
  while (at < line.size()) {
    while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
    if (at >= line.size()) break;
    size_t end = at;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    fields.push_back(line.substr(at, end - at));
    at = end;
  }
  return fields;
}

}  // namespace

std::string KnownHostsName(const std::string& host, int port) {
  return port == 22 ? Lower(host) : "[" + Lower(host) + "]:" + std::to_string(port);
}

std::string KeyBlobType(std::string_view blob) {
  if (blob.size() < 4) return "";
  const size_t length = (static_cast<size_t>(static_cast<unsigned char>(blob[0])) << 24) |
                        (static_cast<size_t>(static_cast<unsigned char>(blob[1])) << 16) |
                        (static_cast<size_t>(static_cast<unsigned char>(blob[2])) << 8) |
                        static_cast<size_t>(static_cast<unsigned char>(blob[3]));
  if (length == 0 || length > 64 || blob.size() < 4 + length) return "";
  return std::string(blob.substr(4, length));
}

bool HostsFieldMatches(const std::string& hosts, const std::string& name) {
  if (hosts.rfind("|1|", 0) == 0) return HashedNameMatches(hosts, name);
  bool matched = false;
  size_t at = 0;
  while (at <= hosts.size()) {
    size_t end = hosts.find(',', at);
    if (end == std::string::npos) end = hosts.size();
    std::string_view pattern = std::string_view(hosts).substr(at, end - at);
    const bool negated = !pattern.empty() && pattern[0] == '!';
    if (negated) pattern.remove_prefix(1);
    if (!pattern.empty() && WildcardMatch(name, Lower(pattern))) {
      if (negated) return false;
      matched = true;
    }
    at = end + 1;
  }
  return matched;
}

Result<std::vector<KnownHostsEntry>> ParseKnownHosts(std::string_view text, const std::string& file) {
  std::vector<KnownHostsEntry> entries;
  int number = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> fields = Fields(line);
    if (fields.empty() || fields[0][0] == '#') continue;
    const std::string where = file + ":" + std::to_string(number) + ": ";

    KnownHostsEntry entry;
    entry.line = number;
    size_t next = 0;
    if (fields[0][0] == '@') {
      if (fields[0] == "@revoked") {
        entry.marker = KnownHostsEntry::Marker::kRevoked;
      } else if (fields[0] == "@cert-authority") {
        entry.marker = KnownHostsEntry::Marker::kCertAuthority;
      } else {
        return Status::InvalidArgument(where + "unknown marker '" + std::string(fields[0]) +
                                       "' (known_hosts knows @revoked and @cert-authority)");
      }
      next = 1;
    }
    // SSH-1 RSA keys ("host bits exponent modulus") are of no use to SSH-2: skipped, as by OpenSSH.
    if (fields.size() >= next + 2 && std::all_of(fields[next + 1].begin(), fields[next + 1].end(), ::isdigit)) continue;
    if (fields.size() < next + 3) return Status::InvalidArgument(where + "expected hostnames, key type and base64 key");
    entry.hosts = std::string(fields[next]);
    auto key = DecodeBase64(fields[next + 2]);
    if (!key) return Status::InvalidArgument(where + "the key is not base64");
    entry.key = std::move(*key);
    entry.key_type = KeyBlobType(entry.key);
    if (entry.key_type != fields[next + 1]) {
      return Status::InvalidArgument(where + "key type '" + std::string(fields[next + 1]) +
                                     "' does not match the key, which is '" + entry.key_type + "'");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

HostKeyVerdict CheckKnownHostKey(const std::vector<KnownHostsEntry>& entries, const std::string& name,
                                 std::string_view key) {
  using Kind = HostKeyVerdict::Kind;
  for (const KnownHostsEntry& e : entries) {
    if (e.marker == KnownHostsEntry::Marker::kRevoked && e.key == key) return {Kind::kRevoked, e.line};
  }
  const std::string type = KeyBlobType(key);
  HostKeyVerdict verdict;
  for (const KnownHostsEntry& e : entries) {
    if (e.marker != KnownHostsEntry::Marker::kNone || e.key_type != type || !HostsFieldMatches(e.hosts, name)) continue;
    if (e.key == key) return {Kind::kMatch, e.line};
    if (verdict.kind == Kind::kNotFound) verdict = {Kind::kMismatch, e.line};
  }
  return verdict;
}

std::vector<std::string> KnownKeyTypes(const std::vector<KnownHostsEntry>& entries, const std::string& name) {
  std::vector<std::string> types;
  for (const KnownHostsEntry& e : entries) {
    if (e.marker != KnownHostsEntry::Marker::kNone || !HostsFieldMatches(e.hosts, name)) continue;
    if (std::find(types.begin(), types.end(), e.key_type) == types.end()) types.push_back(e.key_type);
  }
  return types;
}

}  // namespace replplan
