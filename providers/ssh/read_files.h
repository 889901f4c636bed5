// Several files of one host at once: the config file and every app's database.yml, or an app's file
// and its restart marker. Through the session's SFTP channel (SshSession::StartSftp: no process
// starts on the server, ~0.5 ms a file); on a server without SFTP, in ONE remote command.
#pragma once

#include <string>
#include <vector>

#include "engine/status.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {

// One file as the batch read saw it.
struct FileRead {
  bool read_ok = false;  // false: `error` says why (permission, a directory, ...)
  bool exists = false;
  std::string text;
  std::string error;
};

// The files' contents, in the order of `paths`, byte for byte. What SFTP cannot read (a FIFO, a
// directory) is read again by ReadFilesByCommand, for its content or the shell's reason.
// Errors: the transport only; a file's own trouble is in its FileRead.
Result<std::vector<FileRead>> ReadFiles(SshSession& session, const std::vector<std::string>& paths);

// The same in one command, whatever the server offers: ReadFiles' fallback (and its baseline in
// bench/remote_steps.sh). Each file answers one line, "missing", "ok <base64>" (any bytes,
// trailing newlines included, survive) or "error <message>" (permission, a directory...); base64
// is coreutils, on every Debian. Errors also: a remote shell that stopped before answering for
// every file.
Result<std::vector<FileRead>> ReadFilesByCommand(SshSession& session, const std::vector<std::string>& paths);

// One directory as ListDirectories saw it.
struct DirRead {
  bool read_ok = false;  // false: `error` says why (permission, not a directory, ...)
  bool exists = false;
  std::vector<std::string> names;  // its entries, any order, without "." and ".."
  std::string error;
};

// The entries of each directory of `dirs` (absolute paths), in ONE remote command (find(1): any
// byte of a name survives, NUL-separated through base64). Errors: the transport only, or a shell
// that stopped before answering for every directory.
Result<std::vector<DirRead>> ListDirectories(SshSession& session, const std::vector<std::string>& dirs);

}  // namespace replplan
