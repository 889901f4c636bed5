#include "providers/ssh/atomic_write.h"

#include <cstdio>
#include <random>

#include "engine/shell_quote.h"
#include "engine/text.h"

namespace replplan {

namespace {

std::string Octal(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%o", mode & 07777);
  return text;
}

// The shell's refusal of anything but a regular file (or nothing) at $f.
const char kRefuseNonRegular[] =
    "if [ -L \"$f\" ] || { [ -e \"$f\" ] && [ ! -f \"$f\" ]; }; then\n"
    "  printf '%s is not a regular file (a symlink, a directory...): replplan does not write through it; "
    "remove it\\n' \"$f\" >&2; exit 3\n"
    "fi\n";

}  // namespace

std::string AtomicWriteCommand(const std::string& path, const AtomicWriteOptions& options) {
  std::string script =
      "set -e\n"
      "f=" + ShellQuote(path) + "\n";
  script += options.follow_symlink ? "if [ -L \"$f\" ]; then f=$(readlink -f -- \"$f\"); fi\n" : kRefuseNonRegular;
  script +=
      "case $f in */*) d=${f%/*}; d=${d:-/} ;; *) d=. ;; esac\n"
      // 0600 and the SSH user's from its first instant: nobody else ever opens it.
      "umask 077\n"
      "t=$(mktemp -u -- \"$f.replplan.XXXXXXXXXX\")\n"
      "trap 'rm -f -- \"$t\"' EXIT\n"
      // noclobber: O_EXCL when nothing has the name (never a planted symlink's target); what a
      // guesser put there first is not a regular file we made, and is refused before any write.
      "set -C; exec 3>\"$t\"; set +C\n"
      "[ -f /dev/fd/3 ] || { printf '%s: not a new regular file\\n' \"$t\" >&2; exit 3; }\n";
  const std::string new_mode = "chmod " + Octal(options.new_mode) + " /dev/fd/3\n";
  if (options.keep_owner_and_mode) {
    script += "if [ -e \"$f\" ]; then\n"
              "  cp --attributes-only --preserve=mode,ownership -- \"$f\" /dev/fd/3\n";
    if (options.backup) script += "  ln -f -- \"$f\" \"$f.replplan.bak\"\n";
    script += "else\n  " + new_mode + "fi\n";
  } else {
    if ((options.new_mode & 07777) != 0600) script += new_mode;
    if (options.backup) script += "if [ -e \"$f\" ]; then ln -f -- \"$f\" \"$f.replplan.bak\"; fi\n";
  }
  script +=
      "dd conv=fsync status=none >&3\n"
      "exec 3>&-\n"
      // -T: a directory at $f is an error, not a place to move the temp file into.
      "mv -fT -- \"$t\" \"$f\"\n"
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

Status AtomicWrite(SshSession& session, const std::string& path, std::string_view content,
                   const AtomicWriteOptions& options) {
  auto sftp = session.StartSftp();
  if (!sftp.ok()) return sftp.status();
  if (*sftp) {
    auto now = session.SftpLstat(path);
    if (!now.ok() && now.status().code() == Status::Code::kUnavailable) return now.status();
    if (now.ok() && now->has_value() && !(*now)->regular && !options.follow_symlink) {
      return Status::FailedPrecondition(path + " is not a regular file (a symlink, a directory...): replplan does "
                                        "not write through it; remove it");
    }
    // An existing regular file, or (when its owner and mode are not kept) nothing yet.
    const bool regular = now.ok() && now->has_value() && (*now)->regular;
    const bool absent = now.ok() && !now->has_value();
    if (regular || (absent && !options.keep_owner_and_mode)) {
      SshSession::RemoteFile like;
      like.regular = true;
      like.mode = options.new_mode & 07777;
      const bool keep = regular && options.keep_owner_and_mode;
      if (keep) like = **now;
      const std::string temp = TempName(path);
      Status created = session.SftpCreate(temp, content, like, keep);
      if (created.code() == Status::Code::kUnavailable) return created;
      if (created.ok()) {
        // The backup is a hard link to the old inode, which the rename leaves holding the old
        // content; a failure before the rename removes the temp file and changes nothing. The
        // rename replaces whatever holds the name by then (a symlink planted since the lstat
        // included), never writing through it; -T: nor moving into a directory.
        const std::string backup = regular && options.backup ? "ln -f -- \"$f\" \"$f.replplan.bak\" && " : "";
        const std::string script =
            "f=" + ShellQuote(path) + "; t=" + ShellQuote(temp) + "\n" + backup +
            "mv -fT -- \"$t\" \"$f\" || { rc=$?; rm -f -- \"$t\"; exit $rc; }\n"
            "sync -- " + ShellQuote(DirectoryOf(path)) + " 2>/dev/null || sync\n";
        auto run = session.Run(ShellJoin({"sh", "-c", script}));
        if (!run.ok()) return run.status();
        if (run->exit_status != 0) return Failed(*run);
        return Status::OK();
      }
      // Refused by SFTP (no fsync@openssh.com, say): the command does it all.
    }
  }
  auto run = session.Run(AtomicWriteCommand(path, options), content);
  if (!run.ok()) return run.status();
  if (run->exit_status != 0) return Failed(*run);
  return Status::OK();
}

}  // namespace replplan
