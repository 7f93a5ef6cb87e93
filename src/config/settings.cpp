#include "config/settings.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace gatehouse::config {
namespace {

std::string TomlValueText(const toml::node& node) {
  // value<T>() converts between types (a boolean reads as 1): ask for the exact type instead.
  if (const auto* text = node.as_string()) return text->get();
  if (const auto* number = node.as_integer()) return std::to_string(number->get());
  if (const auto* flag = node.as_boolean()) return flag->get() ? "true" : "false";
  if (const auto* array = node.as_array()) {  // trusted_proxies = ["10.0.0.0/8", "::1"]
    std::string joined;
    for (const auto& item : *array) joined += (joined.empty() ? "" : ",") + TomlValueText(item);
    return joined;
  }
  return "\x01";  // any other type: a control character, which every applier refuses
}

void FlattenToml(const toml::table& table, const std::string& prefix, RawSettings& out) {
  for (const auto& [key, node] : table) {
    const std::string name = prefix + std::string(key.str());
    if (const auto* sub = node.as_table()) {
      FlattenToml(*sub, name + ".", out);
    } else {
      out[name] = TomlValueText(node);
    }
  }
}

const SettingSpec* FindSetting(const std::string& name) {
  const auto& all = AllSettings();
  const auto it = std::find_if(all.begin(), all.end(),
                               [&](const SettingSpec& spec) { return spec.name == name; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace

Settings::Settings() {
  for (const SettingSpec& spec : AllSettings()) {
    if (!spec.default_value.empty() && !spec.kind.apply(spec.default_value, *this)) {
      throw std::logic_error("setting " + spec.name + ": the declared default is refused");
    }
  }
}

std::string FlagName(const std::string& setting) {
  std::string out = setting;
  for (char& c : out) {
    if (c == '.' || c == '_') c = '-';
  }
  return out;
}

std::string TomlKey(const std::string& setting) {
  const auto dot = setting.rfind('.');
  if (dot == std::string::npos) return setting;
  return "[" + setting.substr(0, dot) + "] " + setting.substr(dot + 1);
}

std::string EnvName(const std::string& setting) {
  std::string out = "GATEHOUSE_";
  for (char c : setting) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

StartupResult<RawSettings> ReadTomlFile(const std::string& path) {
  // Debian's toml++ is built with exceptions: a parse failure arrives as toml::parse_error.
  try {
    const toml::table table = toml::parse_file(path);
    RawSettings out;
    FlattenToml(table, "", out);
    return out;
  } catch (const toml::parse_error& err) {
    return StartupError{StartupErrorCode::kBadConfigFile,
                        "config: " + path + ": " + std::string(err.description()) + " (line " +
                            std::to_string(err.source().begin.line) + ")"};
  }
}

RawSettings ReadEnvironment() {
  RawSettings out;
  for (const auto& spec : AllSettings()) {
    if (const char* value = std::getenv(EnvName(spec.name).c_str())) out[spec.name] = value;
  }
  return out;
}

namespace {

// A host name as a cookie's Domain (RFC 6265 §5.2.3 drops one leading '.'): labels of 1-63
// letters, digits and '-' (not at either end), joined by single dots, 253 bytes at most. The
// domain goes into every Set-Cookie line as it is: anything else could add attributes of its
// own (`;Path=...`) or name no host a browser would send the cookie to (`.`, `a..b`).
bool IsCookieDomain(std::string_view domain) {
  if (domain.starts_with('.')) domain.remove_prefix(1);
  if (domain.empty() || domain.size() > 253) return false;
  for (std::string_view rest = domain; !rest.empty();) {
    const std::size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    const bool letters_digits_hyphens = std::all_of(label.begin(), label.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
    });
    if (!letters_digits_hyphens) return false;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
    if (rest.empty()) return false;  // a trailing dot
  }
  return true;
}

// Rules between settings, checked once each has been read.
StartupStatus CheckTogether(const Settings& settings) {
  // A key that signed before every cached key set could list it would be refused by the
  // resource servers holding those sets.
  if (settings.key_publication_delay <= settings.jwks_max_age) {
    return StartupError{StartupErrorCode::kBadSetting,
                        "setting keys.publication_delay: must be longer than jwks.max_age (" +
                            std::to_string(settings.jwks_max_age) +
                            "s), so that resource servers have the next key before it signs"};
  }
  if (!settings.cookies_domain.empty() && !IsCookieDomain(settings.cookies_domain)) {
    return StartupError{StartupErrorCode::kBadSetting,
                        "setting cookies.domain: expected a host name (labels of letters, digits "
                        "and '-' joined by '.')"};
  }
  // Browsers drop SameSite=None cookies that are not Secure: every cookie would be lost.
  if (settings.tokens_in_cookies && settings.cookies_samesite == "None" &&
      !settings.cookies_secure) {
    return StartupError{StartupErrorCode::kBadSetting,
                        "setting cookies.samesite: None needs cookies.secure = true (browsers "
                        "drop SameSite=None cookies that are not Secure)"};
  }
  return Ok{};
}

}  // namespace

StartupResult<Settings> Resolve(const RawSettings& file, const RawSettings& env,
                                const RawSettings& flags) {
  RawSettings merged = file;
  for (const auto& [k, v] : env) merged[k] = v;
  for (const auto& [k, v] : flags) merged[k] = v;

  Settings settings;
  for (const auto& [name, value] : merged) {
    const SettingSpec* spec = FindSetting(name);
    if (spec == nullptr) {
      return StartupError{StartupErrorCode::kBadSetting, "setting " + name + ": unknown setting"};
    }
    if (!spec->kind.apply(value, settings)) {
      return StartupError{StartupErrorCode::kBadSetting,
                          "setting " + name + ": invalid value: " + ExpectedText(*spec)};
    }
  }
  settings.jwt_algorithm_given = merged.count("jwt.algorithm") != 0;
  if (StartupStatus together = CheckTogether(settings); !together) return together.error();
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (settings.threads == 0) settings.threads = cores;
  if (settings.hash_threads == 0) settings.hash_threads = cores;
  if (settings.hash_queue == 0) settings.hash_queue = 64 * settings.hash_threads;
  if (settings.database.empty())
    settings.database = "sqlite://" + settings.data_dir + "/gatehouse.db";
  return settings;
}

}  // namespace gatehouse::config
