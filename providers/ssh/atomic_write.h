// Replacing a file on a remote host, atomically, through one shell command.
#pragma once

#include <string>

namespace replplan {

// One shell command that replaces `path` atomically with its stdin: a temp file beside it (same
// filesystem, so rename is atomic; the name does not end in .cnf, so a half-written temp in an
// !includedir directory is never read by the server), the original's owner and mode, a backup of
// the previous content, fsync of the data before the rename and of the directory after it. A
// symlink (Debian's /etc/mysql/my.cnf -> /etc/alternatives/my.cnf) is followed, not replaced.
// Run by `sh -c` so the remote user's login shell does not matter.
//
// It runs on a failover's path to the apps' first write, so it starts few processes (each costs
// ~1.5 ms): the backup is a hard link to the old file's inode (which the rename leaves holding the
// old content, already on disk: no copy, no fsync), `cp -p` gives the temp file the original's
// owner and mode in one step, dd writes and fsyncs the content in one process, and the temp
// file's unique name is the shell's pid, created with noclobber (never an existing file, never
// followed through a planted symlink).
std::string AtomicWriteCommand(const std::string& path);

}  // namespace replplan
