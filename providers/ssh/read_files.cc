#include "providers/ssh/read_files.h"

#include <cstdint>

#include "engine/shell_quote.h"
#include "engine/text.h"

namespace replplan {
namespace {

std::string DecodeBase64(std::string_view in, bool& ok) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t bits = 0;
  int count = 0;
  ok = true;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else { ok = false; return {}; }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xFF));
      out.push_back(static_cast<char>((bits >> 8) & 0xFF));
      out.push_back(static_cast<char>(bits & 0xFF));
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) out.push_back(static_cast<char>((bits >> 4) & 0xFF));
  if (count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xFF));
    out.push_back(static_cast<char>((bits >> 2) & 0xFF));
  }
  ok = count != 1;
  return out;
}

// The next line of a command's answers (one per file or directory), taken off `out`.
Result<std::string_view> NextAnswer(std::string_view& out, SshSession& session, const std::string& doing,
                                    const ExecResult& run) {
  size_t end = out.find('\n');
  if (end == std::string_view::npos) {
    return Status::Unavailable("ssh " + session.Endpoint() + ": " + doing +
                               ": the remote shell stopped early: " + std::string(Trim(run.err)));
  }
  std::string_view line = out.substr(0, end);
  out.remove_prefix(end + 1);
  return line;
}

}  // namespace

Result<std::vector<FileRead>> ReadFilesByCommand(SshSession& session, const std::vector<std::string>& paths) {
  std::string command = "for f in";
  for (const std::string& path : paths) command += " " + ShellQuote(path);
  command +=
      "; do if [ ! -e \"$f\" ]; then echo missing; elif c=$(base64 -w0 -- \"$f\" 2>&1); then echo \"ok $c\"; "
      // printf, not echo: the error names the path, and dash's echo would turn a backslash in it into
      // a newline (or cut the line at \c), shifting every later file's answer by a line.
      "else printf 'error %s\\n' \"$(printf %s \"$c\" | tr '\\n' ' ')\"; fi; done";
  auto run = session.Run(command);
  if (!run.ok()) return run.status();
  std::vector<FileRead> files;
  std::string_view out = run->out;
  for (size_t i = 0; i < paths.size(); ++i) {
    auto answer = NextAnswer(out, session, "reading " + paths[i], *run);
    if (!answer.ok()) return answer.status();
    std::string_view line = *answer;
    FileRead file;
    if (line == "missing") {
      file.read_ok = true;
    } else if (line.substr(0, 3) == "ok ") {
      bool decoded = false;
      file.text = DecodeBase64(line.substr(3), decoded);
      file.read_ok = decoded;
      file.exists = decoded;
      if (!decoded) file.error = "ssh " + session.Endpoint() + ": cannot read " + paths[i] + ": garbled base64";
    } else {
      std::string why(Trim(line.substr(0, 6) == "error " ? line.substr(6) : line));
      file.error = "ssh " + session.Endpoint() + ": cannot read " + paths[i] + ": " + why;
    }
    files.push_back(std::move(file));
  }
  return files;
}

Result<std::vector<DirRead>> ListDirectories(SshSession& session, const std::vector<std::string>& dirs) {
  std::string command = "for d in";
  for (const std::string& dir : dirs) command += " " + ShellQuote(dir);
  command +=
      "; do if [ ! -e \"$d\" ]; then echo missing; elif [ ! -d \"$d\" ]; then echo 'error not a directory'; "
      "elif e=$(find \"$d\" -mindepth 1 -maxdepth 1 -printf '' 2>&1) && [ -z \"$e\" ]; then "
      "printf 'ok %s\\n' \"$(find \"$d\" -mindepth 1 -maxdepth 1 -printf '%f\\0' | base64 -w0)\"; "
      "else printf 'error %s\\n' \"$(printf %s \"$e\" | tr '\\n' ' ')\"; fi; done";
  auto run = session.Run(command);
  if (!run.ok()) return run.status();
  std::vector<DirRead> out;
  std::string_view text = run->out;
  for (const std::string& dir : dirs) {
    auto answer = NextAnswer(text, session, "listing " + dir, *run);
    if (!answer.ok()) return answer.status();
    std::string_view line = *answer;
    DirRead read;
    if (line == "missing") {
      read.read_ok = true;
    } else if (line.substr(0, 3) == "ok ") {
      bool decoded = false;
      std::string names = DecodeBase64(line.substr(3), decoded);
      read.read_ok = decoded;
      read.exists = decoded;
      if (!decoded) read.error = "ssh " + session.Endpoint() + ": cannot list " + dir + ": garbled base64";
      size_t start = 0;
      while (decoded && start < names.size()) {
        size_t nul = names.find('\0', start);
        if (nul == std::string::npos) nul = names.size();
        if (nul > start) read.names.push_back(names.substr(start, nul - start));
        start = nul + 1;
      }
    } else {
      read.exists = true;
      std::string why(Trim(line.substr(0, 6) == "error " ? line.substr(6) : line));
      read.error = "ssh " + session.Endpoint() + ": cannot list " + dir + ": " + why;
    }
    out.push_back(std::move(read));
  }
  return out;
}

Result<std::vector<FileRead>> ReadFiles(SshSession& session, const std::vector<std::string>& paths) {
  auto sftp = session.StartSftp();
  if (!sftp.ok()) return sftp.status();
  if (!*sftp) return ReadFilesByCommand(session, paths);
  std::vector<FileRead> files(paths.size());
  std::vector<size_t> again;  // what SFTP could not read: a directory, a FIFO (SFTP reads seek)...
  for (size_t i = 0; i < paths.size(); ++i) {
    auto read = session.ReadFileSftp(paths[i]);
    if (!read.ok() && read.status().code() != Status::Code::kFailedPrecondition) return read.status();
    if (!read.ok()) {
      again.push_back(i);
      continue;
    }
    files[i].read_ok = true;
    files[i].exists = read->value().has_value();
    if (files[i].exists) files[i].text = std::move(*read->value());
  }
  if (again.empty()) return files;
  // ... is read by a command, which streams what SFTP cannot and says why in the shell's words.
  std::vector<std::string> rest;
  for (size_t i : again) rest.push_back(paths[i]);
  auto by_command = ReadFilesByCommand(session, rest);
  if (!by_command.ok()) return by_command.status();
  for (size_t k = 0; k < again.size(); ++k) files[again[k]] = std::move((*by_command)[k]);
  return files;
}

}  // namespace replplan
