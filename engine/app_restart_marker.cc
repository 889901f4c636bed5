#include "engine/app_restart_marker.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <regex>

#include "engine/sha256.h"
#include "engine/text.h"

namespace replplan {
namespace {

constexpr std::string_view kPrefix = "sha256:";
constexpr std::string_view kLegacyPrefix = "fnv1a64:";

size_t IndentOf(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i;
}

bool SecretKey(std::string_view key) {
  const std::string lower = Lower(key);
  for (const char* word : {"password", "passwd", "secret", "token"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// A block-style "key: value" line (after its indentation and any "- "): the offset just past the
// colon when the key is a secret's, else npos.
size_t SecretValueStart(std::string_view line) {
  size_t i = IndentOf(line);
  while (i + 1 < line.size() && line[i] == '-' && (line[i + 1] == ' ' || line[i + 1] == '\t')) {
    i = i + 1 + IndentOf(line.substr(i + 1));
  }
  size_t key_begin = i;
  size_t key_end;
  size_t colon;
  if (i < line.size() && (line[i] == '"' || line[i] == '\'')) {
    size_t close = line.find(line[i], i + 1);
    if (close == std::string_view::npos) return std::string_view::npos;
    key_begin = i + 1;
    key_end = close;
    colon = close + 1;
    while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
    if (colon >= line.size() || line[colon] != ':') return std::string_view::npos;
  } else {
    colon = line.find(':', i);
    if (colon == std::string_view::npos) return std::string_view::npos;
    key_end = colon;
  }
  if (colon + 1 < line.size() && line[colon + 1] != ' ' && line[colon + 1] != '\t') return std::string_view::npos;
  return SecretKey(line.substr(key_begin, key_end - key_begin)) ? colon + 1 : std::string_view::npos;
}

}  // namespace

std::string DatabaseYmlWithoutSecrets(std::string_view text) {
  // password: in a flow mapping ({ password: x, ... }), up to the next ',' or '}'.
  static const std::regex kFlowSecret(R"re(((["']?)[A-Za-z0-9_-]*(password|passwd|secret|token)[A-Za-z0-9_-]*\2[ \t]*:)[^,}]*)re",
                                      std::regex::icase);
  // scheme://user:password@host
  static const std::regex kUrlPassword(R"re(([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@\s]*@)re");
  std::string out;
  size_t block_indent = std::string_view::npos;  // inside a secret's block scalar: its key's indent
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view content = line;
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    if (block_indent != std::string_view::npos) {
      if (Trim(content).empty() || IndentOf(content) > block_indent) continue;  // the secret's lines
      block_indent = std::string_view::npos;
    }
    std::string kept;
    size_t value = SecretValueStart(content);
    if (value != std::string_view::npos) {
      kept = std::string(content.substr(0, value));
      std::string_view rest = Trim(content.substr(value));
      // "|", ">-", ... or nothing: the value is on the lines below, indented deeper.
      if (rest.empty() || rest.front() == '|' || rest.front() == '>') block_indent = IndentOf(content);
    } else {
      kept = std::string(content);
      if (kept.find('{') != std::string::npos) kept = std::regex_replace(kept, kFlowSecret, "$1");
    }
    if (kept.find("://") != std::string::npos) kept = std::regex_replace(kept, kUrlPassword, "$1@");
    out += kept;
    out += '\n';
  }
  return out;
}

std::string AppRestartDigest(std::string_view text) {
  return std::string(kPrefix) + Sha256Hex(DatabaseYmlWithoutSecrets(text));
}

std::string LegacyAppRestartDigest(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto feed = [&](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 0x100000001b3ULL;
    }
  };
  feed(std::to_string(text.size()) + ":");
  feed(text);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

bool IsLegacyAppRestartMarker(std::string_view recorded) { return Trim(recorded).starts_with(kLegacyPrefix); }

bool AppRestartMarkerMatches(std::string_view recorded, std::string_view text) {
  std::string_view mark = Trim(recorded);
  if (mark.empty()) return false;
  if (mark.starts_with(kLegacyPrefix)) return mark == std::string(kLegacyPrefix) + LegacyAppRestartDigest(text);
  return mark == AppRestartDigest(text);
}

}  // namespace replplan
