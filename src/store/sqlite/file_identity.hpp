// Whether the SQLite file a store opened is still the file at its path.
// SQLite keeps writing to the file it opened: deleted (or replaced by a rename) under a running
// server, every write would land in a file nobody will ever open again and be lost at the next
// start. The store records the file's device and inode when it opens it and compares them with
// the path before it reads and before it acknowledges a write (a stat(): about a microsecond, on
// the store threads only). It never recreates the file while running.
// Thread safety: none; the store calls it under its own mutex.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "util/result.hpp"

namespace gatehouse::store {

class FileIdentity {
 public:
  FileIdentity() = default;  // watches nothing: Check() is always ok
  // Records the device and inode of the file now at `path`.
  static Result<FileIdentity> Of(const std::string& path);

  // Ok while `path` still names the recorded file. Otherwise kStorageUnavailable saying whether
  // it was deleted or replaced; the first failure (and the return of the file) is logged.
  Status Check();
  // Whether `path` still names the recorded file, without logging: the same stat() as Check(),
  // reading only what Of() set, so any thread may call it at the same time as the store.
  bool Present() const;
  // Ok while the file system holding the file has at least kMinRoom bytes free for this
  // process (statvfs: the blocks an unprivileged process may use, all free blocks for root).
  // Otherwise kStorageUnavailable ("the disk holding the database is full"): a full disk is
  // seen without waiting for a write to fail on it. The transitions are logged.
  Status CheckRoom();
  static constexpr uint64_t kMinRoom = 64 * 1024;

 private:
  std::string path_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  bool lost_ = false;  // the last Check() failed: log only the transitions
  bool full_ = false;  // the last CheckRoom() failed
};

}  // namespace gatehouse::store
