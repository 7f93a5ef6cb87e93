// An optional list of passwords that are refused at registration (`password.deny_list`): one
// per line, compared without regard to ASCII case.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "util/result.hpp"

namespace gatehouse::auth {

class PasswordDenyList {
 public:
  // An empty path gives an empty list. kStorageFailure with a one-line detail if unreadable.
  static Result<PasswordDenyList> Load(const std::string& path);
  bool Contains(std::string_view password) const;
  std::size_t size() const { return passwords_.size(); }

 private:
  std::unordered_set<std::string> passwords_;
};

}  // namespace gatehouse::auth
