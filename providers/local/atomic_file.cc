#include "providers/local/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

namespace replplan {
namespace {

Status Failed(const std::string& doing, const std::string& path, int error) {
  return Status::Unavailable("cannot " + doing + " " + path + ": " + std::strerror(error));
}

// The process's umask without changing it (umask(2) would, for a moment, for every thread).
mode_t CurrentUmask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
  }
  return 022;
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view text, std::optional<unsigned> forced_mode,
                           const std::string& owner_like) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  // lstat: a symlink's target lends nothing (it is replaced, not written).
  struct stat old {};
  const bool existing = ::lstat(path.c_str(), &old) == 0 && S_ISREG(old.st_mode);
  const mode_t mode = forced_mode  ? static_cast<mode_t>(*forced_mode & 07777)
                      : existing ? (old.st_mode & 07777)
                                 : (0666 & ~CurrentUmask());

  std::string temp_name = dir + "/." + name + ".replplan.XXXXXX";
  std::vector<char> temp(temp_name.begin(), temp_name.end());
  temp.push_back('\0');
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Failed("create a temp file for", path, errno);
  const std::string tmp(temp.data());
  auto abandon = [&](const std::string& doing) {
    const int error = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Failed(doing, path, error);
  };
  for (size_t off = 0; off < text.size();) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon("write");
    off += static_cast<size_t>(n);
  }
  // The owner first (a chown clears set-id bits, which the mode then puts back). Only root may
  // give a file away; anyone else's is theirs already, or keeps their own.
  if (existing && (old.st_uid != ::geteuid() || old.st_gid != ::getegid()) && ::geteuid() == 0 &&
      ::fchown(fd, old.st_uid, old.st_gid) != 0) {
    return abandon("keep the owner of");
  }
  struct stat like {};
  if (!existing && !owner_like.empty() && ::geteuid() == 0 && ::stat(owner_like.c_str(), &like) == 0 &&
      (like.st_uid != ::geteuid() || like.st_gid != ::getegid()) && ::fchown(fd, like.st_uid, like.st_gid) != 0) {
    return abandon("give the owner of " + owner_like + " to");
  }
  if (::fchmod(fd, mode) != 0) return abandon("set the mode of");
  if (::fsync(fd) != 0) return abandon("write");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return Failed("write", path, error);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return Failed("replace", path, error);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

}  // namespace replplan
