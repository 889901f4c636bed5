// Resolves a SecretRef on the machine running replplan: an environment variable or a file (its
// first line, trailing newline dropped). Errors name the source, never the value.
#pragma once

#include "engine/secret.h"
#include "engine/status.h"

namespace replplan {

Result<Secret> ResolveSecret(const SecretRef& ref);

}  // namespace replplan
