#include "auth/secret_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/jws.hpp"
#include "obs/logging.hpp"
#include "util/secret_strength.hpp"

namespace gatehouse::auth {
namespace {

StartupError FileError(const std::string& path, const std::string& what) {
  return StartupError{StartupErrorCode::kEnvironment, path + ": " + what};
}

StartupResult<std::string> ReadSecret(const std::string& path) {
  if (StartupStatus private_file = CheckPrivateFile(path); !private_file) {
    return private_file.error();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileError(path, std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  if (IsWeakSecret(secret)) {
    sodium_memzero(secret.data(), secret.size());
    return StartupError{
        StartupErrorCode::kUnsafeSecretFile,
        path +
            ": the secret is too weak (at least 32 bytes, not one repeated byte, no whitespace "
            "at either end, not a unit of up to 8 bytes repeated, no control characters)"};
  }
  return secret;
}

}  // namespace

std::string GenerateSecret() {
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  std::string secret =
      Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  sodium_memzero(random, sizeof random);
  return secret;
}

bool IsWeakSecret(std::string_view secret) { return !IsStrongSecret(secret, 32); }

StartupStatus CheckPrivateFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return FileError(path, std::strerror(errno));
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) == 0) return Ok{};
  // As ssh does with keys: a secret others could read is no longer a secret.
  return StartupError{
      StartupErrorCode::kUnsafeSecretFile,
      path + ": holds a secret but group or others can read it (chmod 600 " + path + ")"};
}

StartupStatus CheckPrivateDir(const std::string& dir, std::string_view holds) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) return FileError(dir, std::strerror(errno));
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return StartupError{StartupErrorCode::kUnsafeSecretFile,
                        dir + ": holds " + std::string(holds) +
                            " but group or others can write to it (chmod 700 " + dir + ")"};
  }
  if (info.st_uid != ::geteuid() && info.st_uid != 0) {
    return StartupError{StartupErrorCode::kUnsafeSecretFile,
                        dir + ": holds " + std::string(holds) + " but another user (uid " +
                            std::to_string(info.st_uid) + ") owns it and could replace them"};
  }
  return Ok{};
}

Result<std::string> LoadExistingStoredSecret(store::Store& store) {
  auto keys = store.LoadSigningKeys("HS256");
  if (!keys) return keys.error();
  std::string secret;
  for (auto& stored : *keys) {
    if (stored.kid == kStoredSecretKid && stored.material.size() >= 32) {
      secret = std::move(stored.material);
    } else {
      sodium_memzero(stored.material.data(), stored.material.size());
    }
  }
  return secret;
}

Result<std::string> LoadOrCreateStoredSecret(store::Store& store, int64_t now) {
  store::StoredKey key{std::string(kStoredSecretKid), "HS256", GenerateSecret(), now};
  auto added = store.AddSigningKey(key);
  sodium_memzero(key.material.data(), key.material.size());
  if (!added) return added.error();
  if (*added) obs::Info("generated a new HS256 secret in the database's signing keys");
  auto secret = LoadExistingStoredSecret(store);
  if (secret && secret->empty()) {
    return Error{ErrorCode::kStorageFailure,
                 "database: the stored HS256 secret is missing or short"};
  }
  return secret;
}

StartupResult<std::string> LoadExistingSecret(const std::string& data_dir) {
  const std::string path = data_dir + "/jwt-secret";
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 && errno == ENOENT) return std::string();
  return ReadSecret(path);
}

StartupResult<std::string> LoadOrCreateSecret(const std::string& data_dir) {
  const std::string path = data_dir + "/jwt-secret";
  std::string secret = GenerateSecret();

  // O_EXCL: when two instances start together on one data_dir, one creates and both read.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(secret.data(), secret.size());
    if (errno == EEXIST) return ReadSecret(path);
    return FileError(path, std::strerror(errno));
  }
  const std::string line = secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return FileError(path, "cannot write the generated secret");
  }
  // The operator must know where the key of every token lives (backups, several instances);
  // the path only, never the secret.
  obs::Info("generated a new HS256 secret in " + path + " (mode 0600); later starts reuse it",
            {{"path", path}});
  return secret;
}

}  // namespace gatehouse::auth
