#include "engine/secret.h"

#include <algorithm>

#include "engine/sql_quote.h"

namespace replplan {

std::string SecretRef::Describe() const {
  switch (kind) {
    case Kind::kEnv: return "env " + name;
    case Kind::kFile: return "file " + name;
    case Kind::kNone: break;
  }
  return "none";
}

std::string RedactSecrets(std::string text, const std::vector<const Secret*>& secrets) {
  // Each secret as it is, and as a statement carried it: escaped inside a string literal, which is
  // the form a server's error quotes back. Longest first, so that a secret inside another cannot
  // leave the rest of the longer one in the text.
  std::vector<std::string> needles;
  for (const Secret* secret : secrets) {
    if (secret == nullptr || secret->empty()) continue;
    needles.push_back(secret->reveal());
    std::string quoted = QuoteString(secret->reveal());
    quoted = quoted.substr(1, quoted.size() - 2);
    if (quoted != secret->reveal()) needles.push_back(std::move(quoted));
  }
  std::sort(needles.begin(), needles.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& needle : needles) {
    for (size_t pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + kSensitive.size())) {
      text.replace(pos, needle.size(), kSensitive);
    }
  }
  return text;
}

}  // namespace replplan
