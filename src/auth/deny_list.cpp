#include "auth/deny_list.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "auth/common_passwords.hpp"
#include "util/ascii.hpp"

namespace gatehouse::auth {

Result<PasswordDenyList> PasswordDenyList::Load(const std::string& path) {
  PasswordDenyList list;
  if (path.empty()) {
    for (std::string_view common : CommonPasswords()) list.passwords_.emplace(common);
    return list;
  }
  std::ifstream in(path);
  if (!in) {
    return Error{ErrorCode::kStorageFailure,
                 "password.deny_list " + path + ": " + std::strerror(errno)};
  }
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) list.passwords_.insert(AsciiLower(line));
  }
  return list;
}

bool PasswordDenyList::Contains(std::string_view password) const {
  return !passwords_.empty() && passwords_.count(AsciiLower(password)) > 0;
}

}  // namespace gatehouse::auth
