// What the declaration of settings (config/setting_table.cpp) tells people: the --help line of
// each setting and docs/settings.md. A secret's value or default is never shown.
#pragma once

#include <string>

#include "config/settings.hpp"

namespace gatehouse::config {

// The value's name in --help: "DURATION", "INT", "BOOLEAN", "PATH", "HS256|EdDSA|ES256|RS256".
std::string HelpType(const SettingSpec& spec);

// The --help description: "lifetime of access tokens (default 30m, env
// GATEHOUSE_JWT_ACCESS_TTL)"; a secret's gives only its environment variable.
std::string HelpText(const SettingSpec& spec);

// The whole of docs/settings.md: one table row per setting (type and bounds, default, flag,
// environment variable, TOML key, meaning). `gatehouse settings --markdown` prints it.
std::string SettingsMarkdown();

}  // namespace gatehouse::config
