#include "store/sqlite/file_identity.hpp"

#include <sys/stat.h>

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

}  // namespace gatehouse::store
