#include "providers/ssh/atomic_write.h"

#include <random>

#include "engine/shell_quote.h"
#include "engine/text.h"

namespace replplan {

std::string AtomicWriteCommand(const std::string& path) {
  std::string script =
      "set -e\n"
      "f=" + ShellQuote(path) + "\n"
      "if [ -L \"$f\" ]; then f=$(readlink -f -- \"$f\"); fi\n"
      "case $f in */*) d=${f%/*}; d=${d:-/} ;; *) d=. ;; esac\n"
      "t=\"$f.replplan.$$\"\n"
      "trap 'rm -f -- \"$t\"' EXIT\n"
      "umask 022\n"
      "set -C; : >\"$t\"; set +C\n"
      "if [ -e \"$f\" ]; then\n"
      "  cp -p -- \"$f\" \"$t\"\n"
      "  ln -f -- \"$f\" \"$f.replplan.bak\"\n"
      "fi\n"
      "dd of=\"$t\" conv=fsync status=none\n"
      "mv -f -- \"$t\" \"$f\"\n"
      "trap - EXIT\n"
      "sync -- \"$d\" 2>/dev/null || sync\n";
  return ShellJoin({"sh", "-c", script});
}

namespace {

// Beside the file (same filesystem, so the rename is atomic), never ending in .cnf (an
// !includedir never reads a half-made one); O_EXCL makes a taken name an error, not a target.
std::string TempName(const std::string& path) {
  std::random_device random;
  static const char kHex[] = "0123456789abcdef";
  std::string suffix;
  for (int i = 0; i < 4; ++i) {
    unsigned int bits = random();
    for (int j = 0; j < 4; ++j, bits >>= 4) suffix += kHex[bits & 0xF];
  }
  return path + ".replplan." + suffix;
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status Failed(const ExecResult& run) {
  std::string why(Trim(run.err));
  if (why.size() > 500) why = "..." + why.substr(why.size() - 500);
  return Status::Internal("writing failed (exit " + std::to_string(run.exit_status) + "): " + why +
                          "; the file is unchanged");
}

}  // namespace

Status AtomicWrite(SshSession& session, const std::string& path, std::string_view content) {
  auto sftp = session.StartSftp();
  if (!sftp.ok()) return sftp.status();
  if (*sftp) {
    auto now = session.SftpLstat(path);
    if (!now.ok() && now.status().code() == Status::Code::kUnavailable) return now.status();
    if (now.ok() && now->has_value() && (*now)->regular) {
      const std::string temp = TempName(path);
      Status created = session.SftpCreate(temp, content, **now);
      if (created.code() == Status::Code::kUnavailable) return created;
      if (created.ok()) {
        // The backup is a hard link to the old inode, which the rename leaves holding the old
        // content; a failure before the rename removes the temp file and changes nothing.
        const std::string script =
            "f=" + ShellQuote(path) + "; t=" + ShellQuote(temp) + "\n"
            "ln -f -- \"$f\" \"$f.replplan.bak\" && mv -f -- \"$t\" \"$f\" || { rc=$?; rm -f -- \"$t\"; exit $rc; }\n"
            "sync -- " + ShellQuote(DirectoryOf(path)) + " 2>/dev/null || sync\n";
        auto run = session.Run(ShellJoin({"sh", "-c", script}));
        if (!run.ok()) return run.status();
        if (run->exit_status != 0) return Failed(*run);
        return Status::OK();
      }
      // Refused by SFTP (no fsync@openssh.com, say): the command does it all.
    }
  }
  auto run = session.Run(AtomicWriteCommand(path), content);
  if (!run.ok()) return run.status();
  if (run->exit_status != 0) return Failed(*run);
  return Status::OK();
}

}  // namespace replplan
