#include "store/sqlite/file_identity.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "obs/logging.hpp"

namespace gatehouse::store {

Result<FileIdentity> FileIdentity::Of(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Error{ErrorCode::kStorageFailure,
                 "database '" + path + "': stat: " + std::strerror(errno)};
  }
  FileIdentity identity;
  identity.path_ = path;
  identity.device_ = info.st_dev;
  identity.inode_ = info.st_ino;
  return identity;
}

bool FileIdentity::Present() const {
  if (path_.empty()) return true;
  struct stat info {};
  return ::stat(path_.c_str(), &info) == 0 && info.st_dev == device_ && info.st_ino == inode_;
}

Status FileIdentity::Check() {
  if (path_.empty()) return Ok{};
  struct stat info {};
  std::string cause;
  if (::stat(path_.c_str(), &info) != 0) {
    cause = errno == ENOENT ? "deleted" : std::string("unreachable: ") + std::strerror(errno);
  } else if (info.st_dev != device_ || info.st_ino != inode_) {
    cause = "replaced";
  }
  if (cause.empty()) {
    if (lost_) obs::Info("storage available again: the database file is back", {{"path", path_}});
    lost_ = false;
    return Ok{};
  }
  if (!lost_) {
    obs::Error("storage unavailable: the database file was " + cause +
                   " under the running server; writes answer 503 until it is restored or "
                   "gatehouse is restarted",
               {{"path", path_}, {"cause", cause}});
  }
  lost_ = true;
  return Error{ErrorCode::kStorageUnavailable, "database '" + path_ + "' was " + cause};
}

Status FileIdentity::CheckRoom() {
  if (path_.empty()) return Ok{};
  struct statvfs disk {};
  if (::statvfs(path_.c_str(), &disk) != 0) return Ok{};  // Check() tells what happened to it
  const uint64_t blocks = ::geteuid() == 0 ? disk.f_bfree : disk.f_bavail;
  const bool full = blocks * disk.f_frsize < kMinRoom;
  if (full && !full_) {
    obs::Error(
        "storage unavailable: the disk holding the database is full; /readyz answers 503 "
        "until there is room again",
        {{"path", path_}});
  } else if (!full && full_) {
    obs::Info("storage available again: the disk holding the database has room", {{"path", path_}});
  }
  full_ = full;
  if (!full) return Ok{};
  return Error{ErrorCode::kStorageUnavailable, "the disk holding '" + path_ + "' is full"};
}

}  // namespace gatehouse::store
