#include "providers/ssh/atomic_write.h"

#include "engine/shell_quote.h"

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

}  // namespace replplan
