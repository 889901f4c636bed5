// The configuration a MariaDB server really reads: its config_file and every file that file
// includes, followed the server's way, so each managed key has its effective value and the file
// (and line) that sets it. Pure: a provider reads the files and directory listings over SSH and
// asks again for what this names as still unread (an included file may include more).
//
// The server's rules (mysys/my_default.c): an `!include FILE` is read where it stands; an
// `!includedir DIR` reads the files of DIR whose name ends in ".cnf" (any case), sorted by name
// (byte order), each where the directive stands; an included file starts outside any group; a
// setting read later wins over an earlier one; includes nest at most 10 deep; an included file or
// directory that is not there is skipped without a word.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace replplan {

// A file or a directory as a provider read it over SSH.
struct OptionFileRead {
  bool read_ok = false;  // false: `error` says why (permission, ...): the picture is incomplete
  bool exists = false;
  std::string text;
  std::string error;
};
struct OptionDirRead {
  bool read_ok = false;
  bool exists = false;
  std::vector<std::string> names;  // entries, any order (not "." and "..")
  std::string error;
};

// What was read besides config_file itself: by absolute path.
struct OptionFiles {
  std::map<std::string, OptionFileRead> files;
  std::map<std::string, OptionDirRead> dirs;
};

// Where the effective value of a key is set.
struct ConfigOrigin {
  std::string file;  // the option file
  int line = 0;      // 1-based
};

struct EffectiveConfig {
  std::map<std::string, std::string> settings;  // normalized key -> the value read last
  std::map<std::string, ConfigOrigin> origins;  // the same keys -> where that value is set
  std::vector<std::string> files;               // every option file read, in the server's order
  std::vector<std::string> problems;            // an include that could not be followed, and why
  // Named by an include and not in OptionFiles: read these and resolve again.
  std::vector<std::string> unread_files;
  std::vector<std::string> unread_dirs;
  bool complete() const { return unread_files.empty() && unread_dirs.empty(); }
};

// Follows `config_file` (its `text`, the server's main option file) through `included`.
EffectiveConfig ResolveEffectiveConfig(const std::string& config_file, const std::string& text,
                                       const OptionFiles& included);

// The files an `!includedir dir` reads, in the server's order: names ending in ".cnf" (any case),
// sorted by name, as paths in `dir`.
std::vector<std::string> IncludedDirFiles(const std::string& dir, const std::vector<std::string>& names);

}  // namespace replplan
