// Replacing a file on the machine running replplan (the topology file a switchover or failover
// rewrites, a plan saved with `plan --out`), atomically and without trusting the directory: it may
// be /tmp, or one another user can write to, and replplan often runs as root.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace replplan {

// Replaces `path` with `text`: a temp file beside it (same filesystem, so the rename is atomic),
// fsync, rename, fsync of the directory: a crash leaves the old file or the new one, never half of
// each. The temp file's name is random and it is created with O_CREAT|O_EXCL|O_NOFOLLOW (mkostemp),
// so a name someone planted (a symlink, a file) is never opened and two writers never share one;
// it is 0600 while written, then given the old file's mode (and owner, where replplan may give it)
// with fchmod/fchown on its descriptor, never by name. A symlink at `path` is replaced by the
// file, never written through; a new file gets 0666 less the umask, as any program's would.
// Errors: Unavailable, naming the path and the system's reason (the file is then unchanged and
// no temp file is left).
// `mode`, when given, is the file's mode whatever the old one was (0600 for a state file that others
// must not read or replace). `owner_like`, when given: a new file (none at `path` yet) gets that
// file's owner and group where replplan may give them (as root), so a state file root writes beside
// a service's topology file stays readable by the service's user.
Status WriteFileAtomically(const std::string& path, std::string_view text,
                           std::optional<unsigned> mode = std::nullopt, const std::string& owner_like = "");

}  // namespace replplan
