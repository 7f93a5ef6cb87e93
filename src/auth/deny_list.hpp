// The passwords refused at registration and password change: the file `password.deny_list`
// (one per line), or the built-in list of common passwords when none is configured. Compared
// without regard to ASCII case.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "util/result.hpp"

namespace gatehouse::auth {

class PasswordDenyList {
 public:
  // An empty path gives the built-in list (auth/common_passwords). kStorageFailure with a one-line
  // detail if unreadable.
  static Result<PasswordDenyList> Load(const std::string& path);
  bool Contains(std::string_view password) const;
  std::size_t size() const { return passwords_.size(); }

 private:
  std::unordered_set<std::string> passwords_;
};

}  // namespace gatehouse::auth
