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

// The files' contents, in the order of `paths`, byte for byte. In the remote command each file
// answers one line, "missing", "ok <base64>" (any bytes, trailing newlines included, survive) or
// "error <message>" (permission, a directory...). base64 is coreutils, on every Debian.
// Errors: the transport, or a remote shell that stopped before answering for every file.
Result<std::vector<FileRead>> ReadFiles(SshSession& session, const std::vector<std::string>& paths);

}  // namespace replplan
