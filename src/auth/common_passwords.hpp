// A small built-in list of the most common passwords, refused at registration and password
// change while no password.deny_list file is configured.
#pragma once

#include <span>
#include <string_view>

namespace gatehouse::auth {

// Lower-case; a few hundred bytes in all.
std::span<const std::string_view> CommonPasswords();

}  // namespace gatehouse::auth
