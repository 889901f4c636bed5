// Replacing a file on a remote host, atomically.
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {

// One shell command that replaces `path` atomically with its stdin: a temp file beside it (same
// filesystem, so rename is atomic; the name does not end in .cnf, so a half-written temp in an
// !includedir directory is never read by the server), the original's owner and mode, a backup of
// the previous content, fsync of the data before the rename and of the directory after it. A
// symlink (Debian's /etc/mysql/my.cnf -> /etc/alternatives/my.cnf) is followed, not replaced.
// Run by `sh -c`, so the script's own syntax is POSIX sh's whatever the login shell (which must
// still be a POSIX one to pass the quoted script through: docs/design.md).
//
// It runs on a failover's path to the apps' first write, so it starts few processes (each costs
// ~1.5 ms): the backup is a hard link to the old file's inode (which the rename leaves holding the
// old content, already on disk: no copy, no fsync), `cp -p` gives the temp file the original's
// owner and mode in one step, dd writes and fsyncs the content in one process, and the temp
// file's unique name is the shell's pid, created with noclobber (never an existing file, never
// followed through a planted symlink).
std::string AtomicWriteCommand(const std::string& path);

// Replaces `path` with `content` with AtomicWriteCommand's guarantees, through fewer processes
// where it can: when the server offers SFTP and `path` is a regular file, the sftp-server already
// running creates the temp file (O_EXCL, random name), writes it, gives it the original's owner
// and mode and fsyncs it; one command then makes the hard-link backup, renames and fsyncs the
// directory (3 programs instead of 6, ~3 ms less on the lab, a failover's app repoint among
// them). A symlink, a missing file or a server without SFTP gets AtomicWriteCommand.
// Errors: Unavailable for the transport; Internal, with the host's reason, when the write failed
// there (the file is then unchanged and no temp file is left).
Status AtomicWrite(SshSession& session, const std::string& path, std::string_view content);

}  // namespace replplan
