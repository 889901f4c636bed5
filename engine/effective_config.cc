#include "engine/effective_config.h"

#include <algorithm>

#include "engine/mycnf.h"
#include "engine/text.h"

namespace replplan {
namespace {

// MariaDB's max_recursion_level: config_file is level 0, what it includes level 1, ...
constexpr int kMaxIncludeDepth = 10;

class Resolver {
 public:
  explicit Resolver(const OptionFiles& included) : included_(included) {}

  void File(const std::string& path, const std::string& text, int depth) {
    out_.files.push_back(path);
    for (const MyCnfLine& line : MyCnfLines(text)) {
      switch (line.kind) {
        case MyCnfLine::Kind::kSetting:
          out_.settings[line.key] = line.value;
          out_.origins[line.key] = {path, line.line};
          break;
        case MyCnfLine::Kind::kInclude:
          if (depth < kMaxIncludeDepth) Include(path, line, line.value, depth + 1);
          break;
        case MyCnfLine::Kind::kIncludeDir:
          if (depth < kMaxIncludeDepth) IncludeDir(path, line, depth + 1);
          break;
      }
    }
  }

  EffectiveConfig Release() && { return std::move(out_); }

 private:
  static std::string At(const std::string& path, const MyCnfLine& line) {
    return path + ":" + std::to_string(line.line);
  }

  // Named once, however often it is included.
  static void Unread(std::vector<std::string>& list, const std::string& path) {
    if (std::find(list.begin(), list.end(), path) == list.end()) list.push_back(path);
  }

  // A relative include is relative to the server's working directory: not something to guess.
  bool Absolute(const std::string& from, const MyCnfLine& line, const std::string& target) {
    if (target.starts_with('/')) return true;
    out_.problems.push_back(At(from, line) + ": cannot follow '" + target + "', not an absolute path");
    return false;
  }

  void Include(const std::string& from, const MyCnfLine& line, const std::string& target, int depth) {
    if (!Absolute(from, line, target)) return;
    auto it = included_.files.find(target);
    if (it == included_.files.end()) return Unread(out_.unread_files, target);
    const OptionFileRead& file = it->second;
    if (!file.read_ok) {
      out_.problems.push_back(At(from, line) + " includes " + target + ", which cannot be read: " + file.error);
      return;
    }
    if (file.exists) File(target, file.text, depth);
  }

  void IncludeDir(const std::string& from, const MyCnfLine& line, int depth) {
    const std::string& dir = line.value;
    if (!Absolute(from, line, dir)) return;
    auto it = included_.dirs.find(dir);
    if (it == included_.dirs.end()) return Unread(out_.unread_dirs, dir);
    const OptionDirRead& listing = it->second;
    if (!listing.read_ok) {
      out_.problems.push_back(At(from, line) + " includes the directory " + dir + ", which cannot be listed: " +
                              listing.error);
      return;
    }
    for (const std::string& path : IncludedDirFiles(dir, listing.names)) Include(from, line, path, depth);
  }

  const OptionFiles& included_;
  EffectiveConfig out_;
};

}  // namespace

std::vector<std::string> IncludedDirFiles(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<std::string> sorted;
  for (const std::string& name : names) {
    size_t dot = name.rfind('.');
    if (dot == std::string::npos || Lower(std::string_view(name).substr(dot)) != ".cnf") continue;
    sorted.push_back(name);
  }
  std::sort(sorted.begin(), sorted.end());  // byte order, as the server's strcmp
  std::string prefix = dir;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix != "/") prefix += '/';
  for (std::string& name : sorted) name = prefix + name;
  return sorted;
}

EffectiveConfig ResolveEffectiveConfig(const std::string& config_file, const std::string& text,
                                       const OptionFiles& included) {
  Resolver resolver(included);
  resolver.File(config_file, text, 0);
  return std::move(resolver).Release();
}

}  // namespace replplan
