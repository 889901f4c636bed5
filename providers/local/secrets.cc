#include "providers/local/secrets.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace replplan {

Result<Secret> ResolveSecret(const SecretRef& ref) {
  switch (ref.kind) {
    case SecretRef::Kind::kNone:
      return Secret();
    case SecretRef::Kind::kEnv: {
      const char* value = std::getenv(ref.name.c_str());
      if (value == nullptr) {
        return Status::NotFound("environment variable " + ref.name + " is not set");
      }
      return Secret(value);
    }
    case SecretRef::Kind::kFile: {
      std::ifstream in(ref.name);
      if (!in) return Status::NotFound("cannot read secret file " + ref.name);
      std::string line;
      std::getline(in, line);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Secret(line);
    }
  }
  return Status::Internal("unknown secret kind");
}

}  // namespace replplan
