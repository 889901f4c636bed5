#include "engine/secret.h"

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
  for (const Secret* secret : secrets) {
    if (secret == nullptr || secret->empty()) continue;
    const std::string& needle = secret->reveal();
    for (size_t pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + kSensitive.size())) {
      text.replace(pos, needle.size(), kSensitive);
    }
  }
  return text;
}

}  // namespace replplan
