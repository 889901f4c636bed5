// Replacing a file on a remote host, atomically.
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {

// How a write treats what is at `path` now.
struct AtomicWriteOptions {
  // A symlink at `path` is followed (Debian's /etc/mysql/my.cnf -> /etc/alternatives/my.cnf, a
  // Capistrano release's config/database.yml -> shared/) and its target replaced. false: anything
  // but a regular file or nothing at `path` is refused, and a symlink planted after that check is
  // replaced by the rename, never written through. For files replplan alone owns (the app restart
  // marker) in directories another user may write to.
  bool follow_symlink = true;
  // An existing file's owner and mode are kept; a new file gets `new_mode` and the SSH user as its
  // owner. false: the file is always the SSH user's with `new_mode`.
  bool keep_owner_and_mode = true;
  unsigned new_mode = 0644;
  // The previous content stays in <path>.replplan.bak.
  bool backup = true;
};

// One shell command that replaces `path` atomically with its stdin: a temp file beside it (same
// filesystem, so rename is atomic; the name does not end in .cnf, so a half-written temp in an
// !includedir directory is never read by the server), the original's owner and mode, a backup of
// the previous content, fsync of the data before the rename and of the directory after it. A
// symlink is followed or refused as `options` say. Run by `sh -c`, so the script's own syntax is
// POSIX sh's whatever the login shell (which must still be a POSIX one to pass the quoted script
// through: docs/design.md).
//
// The temp file is never readable by anyone the final file's mode does not let read it, and never
// a file someone else made: its name is random (mktemp -u, kept in a shell variable, so not on any
// command line `ps` shows), it is created under umask 077 (0600, the SSH user's) by a noclobber
// redirection, which is O_EXCL for a name nothing holds, and everything after that goes through
// that one file descriptor (/dev/fd/3): the owner and mode are given before any byte is written,
// and a name swapped under it (in a directory the app's user may write to) redirects nothing.
//
// It runs on a failover's path to the apps' first write, so it starts few processes (each costs
// ~1.5 ms): the backup is a hard link to the old file's inode (which the rename leaves holding the
// old content, already on disk: no copy, no fsync), `cp --attributes-only` gives the temp file the
// original's owner and mode in one step, and dd writes and fsyncs the content in one process.
std::string AtomicWriteCommand(const std::string& path, const AtomicWriteOptions& options = {});

// Replaces `path` with `content` with AtomicWriteCommand's guarantees, through fewer processes
// where it can: when the server offers SFTP and `path` is a regular file (or nothing, when the
// owner and mode are not kept), the sftp-server already running creates the temp file (O_EXCL,
// random name, 0600), writes it, gives it its owner and mode and fsyncs it; one command then makes
// the hard-link backup, renames and fsyncs the directory (3 programs instead of 6, ~3 ms less on
// the lab, a failover's app repoint among them). A symlink that is followed, a missing file or a
// server without SFTP gets AtomicWriteCommand.
// Errors: Unavailable for the transport; FailedPrecondition when `path` is not a regular file and
// options.follow_symlink is false (Internal with the same reason where the command found it);
// Internal, with the host's reason, when the write failed there (the file is then unchanged and no
// temp file is left).
Status AtomicWrite(SshSession& session, const std::string& path, std::string_view content,
                   const AtomicWriteOptions& options = {});

}  // namespace replplan
