#include "config/settings.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <limits>
#include <thread>

namespace gatehouse::config {
namespace {

// The table of every setting. Keep it in step with Apply() below and docs/api.md.
const std::vector<SettingSpec> kSettings = {
    {"listen", "127.0.0.1:5000", "address:port to listen on"},
    {"data_dir", "./gatehouse-data", "directory for the database and generated keys"},
    {"database", "sqlite://<data_dir>/gatehouse.db", "storage URL (or postgresql://...)"},
    {"database_pool_size", "8", "PostgreSQL: connections per instance"},
    {"jwt.secret", "", "HS256 key (>= 32 bytes); unset: generated into <data_dir>/jwt-secret"},
    {"jwt.algorithm", "HS256", "HS256, EdDSA, ES256 or RS256"},
    {"jwt.private_key_file", "none",
     "PEM private key for EdDSA/ES256/RS256; unset: <data_dir>/keys"},
    {"jwt.issuer", "none", "iss claim written and required"},
    {"jwt.audience", "none", "aud claim written and required"},
    {"jwt.access_ttl", "30m", "lifetime of access tokens"},
    {"jwt.refresh_ttl", "30d", "lifetime of refresh tokens"},
    {"password.min_length", "8", "shortest accepted password, in bytes"},
    {"threads", "cores", "I/O threads"},
    {"hash_threads", "cores", "password-hashing threads"},
    {"hash_queue", "64 x hash_threads", "hash jobs waiting beyond which 503 is answered"},
    {"limits.body_bytes", "16384", "largest request body"},
    {"limits.header_bytes", "8192", "largest request header block"},
    {"limits.max_connections", "10000", "open connections beyond which new ones are refused"},
    {"limits.read_timeout", "10s", "time to receive a whole request once it has begun"},
    {"limits.idle_timeout", "60s", "time a keep-alive connection may sit idle"},
    {"rate_limit.login_per_user", "10/15m", "failed logins per (username, client address)"},
    {"rate_limit.login_per_address", "100/15m", "failed logins per client address"},
    {"rate_limit.registration_per_address", "30/1m", "registrations per client address"},
    {"rate_limit.refresh_per_user", "120/1m", "token refreshes per user"},
    {"rate_limit.revocation_per_user", "60/1m",
     "revocations (logout, logout all, password change) per user"},
    {"trusted_proxies", "none",
     "comma-separated proxies (address or CIDR) whose X-Forwarded-For is believed"},
    {"password.deny_list", "none", "file of refused passwords, one per line"},
    {"introspection.secret", "none", "Bearer secret for POST /token/introspect (>= 16 bytes)"},
    {"log.requests", "false", "log one line per request (method, path, status, time, client)"},
};

bool ParseInt(const std::string& text, int64_t low, int64_t high, int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value < low || value > high) return false;
  out = value;
  return true;
}

bool ParseListen(const std::string& text, Settings& s) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int64_t port = 0;
  if (!ParseInt(text.substr(colon + 1), 1, 65535, port)) return false;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  s.listen_host = host;
  s.listen_port = static_cast<uint16_t>(port);
  return true;
}

using Applier = std::function<bool(const std::string&, Settings&)>;

Applier IntSetting(int64_t low, int64_t high, std::function<void(Settings&, int64_t)> set) {
  return [=](const std::string& text, Settings& s) {
    int64_t value = 0;
    if (!ParseInt(text, low, high, value)) return false;
    set(s, value);
    return true;
  };
}

Applier DurationSetting(int64_t low, std::function<void(Settings&, int64_t)> set) {
  return [=](const std::string& text, Settings& s) {
    int64_t value = 0;
    if (!ParseDuration(text, value) || value < low) return false;
    set(s, value);
    return true;
  };
}

Applier TextSetting(std::string Settings::*field) {
  return [field](const std::string& text, Settings& s) {
    const bool printable = std::none_of(
        text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
    return !text.empty() && printable && (s.*field = text, true);
  };
}

Applier RateSetting(RateLimit Settings::*field) {
  return [field](const std::string& text, Settings& s) { return ParseRateLimit(text, s.*field); };
}

bool ParseProxies(const std::string& text, Settings& s) {
  s.trusted_proxies.clear();
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) {
      auto network = ParseNetwork(item);
      if (!network) return false;
      s.trusted_proxies.push_back(*network);
    }
    start = comma + 1;
  }
  return true;
}

const std::map<std::string, std::pair<Applier, const char*>>& Appliers() {
  static const std::map<std::string, std::pair<Applier, const char*>> appliers = {
      {"listen", {ParseListen, "expected host:port"}},
      {"data_dir", {TextSetting(&Settings::data_dir), "expected a non-empty path"}},
      {"database",
       {TextSetting(&Settings::database),
        "expected a URL such as sqlite://path or postgresql://user:password@host:port/db"}},
      {"database_pool_size",
       {IntSetting(1, 1000, [](Settings& s, int64_t v) { s.database_pool_size = int(v); }),
        "expected a whole number from 1 to 1000"}},
      {"jwt.secret",
       {[](const std::string& t, Settings& s) {
          // One repeated byte (40 NULs, 32 'a's) has the length of a key and none of its worth.
          const bool weak = t.size() < 32 || t.find_first_not_of(t.front()) == std::string::npos;
          return !weak && (s.jwt_secret = t, true);
        },
        "must be at least 32 bytes, not one repeated byte"}},
      {"jwt.algorithm",
       {[](const std::string& t, Settings& s) {
          const bool known = t == "HS256" || t == "EdDSA" || t == "ES256" || t == "RS256";
          return known && (s.jwt_algorithm = t, true);
        },
        "expected HS256, EdDSA, ES256 or RS256"}},
      {"jwt.private_key_file", {TextSetting(&Settings::jwt_private_key_file), "expected a path"}},
      {"jwt.issuer", {TextSetting(&Settings::jwt_issuer), "expected a non-empty string"}},
      {"jwt.audience", {TextSetting(&Settings::jwt_audience), "expected a non-empty string"}},
      {"jwt.access_ttl",
       {DurationSetting(1, [](Settings& s, int64_t v) { s.access_ttl_seconds = v; }),
        "expected a duration such as 30m (s, m, h, d or plain seconds), at least 1s"}},
      {"jwt.refresh_ttl",
       {DurationSetting(1, [](Settings& s, int64_t v) { s.refresh_ttl_seconds = v; }),
        "expected a duration such as 30d (s, m, h, d or plain seconds), at least 1s"}},
      {"password.min_length",
       {IntSetting(1, 1024, [](Settings& s, int64_t v) { s.password_min_length = int(v); }),
        "expected a whole number from 1 to 1024"}},
      {"threads",
       {IntSetting(1, 256, [](Settings& s, int64_t v) { s.threads = int(v); }),
        "expected a whole number from 1 to 256"}},
      {"hash_threads",
       {IntSetting(1, 256, [](Settings& s, int64_t v) { s.hash_threads = int(v); }),
        "expected a whole number from 1 to 256"}},
      {"hash_queue",
       {IntSetting(1, 1000000, [](Settings& s, int64_t v) { s.hash_queue = int(v); }),
        "expected a whole number from 1 to 1000000"}},
      {"limits.body_bytes",
       {IntSetting(256, 16 << 20, [](Settings& s, int64_t v) { s.body_bytes = size_t(v); }),
        "expected a whole number of bytes from 256 to 16777216"}},
      {"limits.header_bytes",
       {IntSetting(1024, 65536, [](Settings& s, int64_t v) { s.header_bytes = size_t(v); }),
        "expected a whole number of bytes from 1024 to 65536"}},
      {"limits.max_connections",
       {IntSetting(1, 1000000, [](Settings& s, int64_t v) { s.max_connections = int(v); }),
        "expected a whole number from 1 to 1000000"}},
      {"limits.read_timeout",
       {DurationSetting(1,
                        [](Settings& s, int64_t v) { s.read_timeout = std::chrono::seconds(v); }),
        "expected a duration of at least 1s"}},
      {"limits.idle_timeout",
       {DurationSetting(1,
                        [](Settings& s, int64_t v) { s.idle_timeout = std::chrono::seconds(v); }),
        "expected a duration of at least 1s"}},
      {"rate_limit.login_per_user",
       {RateSetting(&Settings::login_per_user), "expected N/duration such as 10/15m, or 0"}},
      {"rate_limit.login_per_address",
       {RateSetting(&Settings::login_per_address), "expected N/duration such as 100/15m, or 0"}},
      {"rate_limit.registration_per_address",
       {RateSetting(&Settings::registration_per_address),
        "expected N/duration such as 30/1m, or 0"}},
      {"rate_limit.refresh_per_user",
       {RateSetting(&Settings::refresh_per_user), "expected N/duration such as 120/1m, or 0"}},
      {"rate_limit.revocation_per_user",
       {RateSetting(&Settings::revocation_per_user), "expected N/duration such as 60/1m, or 0"}},
      {"trusted_proxies", {ParseProxies, "expected comma-separated addresses or CIDR networks"}},
      {"password.deny_list", {TextSetting(&Settings::password_deny_list), "expected a path"}},
      {"introspection.secret",
       {[](const std::string& t, Settings& s) {
          return t.size() >= 16 && (s.introspection_secret = t, true);
        },
        "must be at least 16 bytes"}},
      {"log.requests",
       {[](const std::string& t, Settings& s) {
          if (t != "true" && t != "false") return false;
          s.log_requests = t == "true";
          return true;
        },
        "expected true or false"}},
  };
  return appliers;
}

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

}  // namespace

const std::vector<SettingSpec>& AllSettings() { return kSettings; }

std::string FlagName(const std::string& setting) {
  std::string out = setting;
  for (char& c : out) {
    if (c == '.' || c == '_') c = '-';
  }
  return out;
}

std::string EnvName(const std::string& setting) {
  std::string out = "GATEHOUSE_";
  for (char c : setting) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

Result<RawSettings> ReadTomlFile(const std::string& path) {
  // Debian's toml++ is built with exceptions: a parse failure arrives as toml::parse_error.
  try {
    const toml::table table = toml::parse_file(path);
    RawSettings out;
    FlattenToml(table, "", out);
    return out;
  } catch (const toml::parse_error& err) {
    return Error{ErrorCode::kBadRequest, "config: " + path + ": " + std::string(err.description()) +
                                             " (line " + std::to_string(err.source().begin.line) +
                                             ")"};
  }
}

RawSettings ReadEnvironment() {
  RawSettings out;
  for (const auto& spec : kSettings) {
    if (const char* value = std::getenv(EnvName(spec.name).c_str())) out[spec.name] = value;
  }
  return out;
}

Result<Settings> Resolve(const RawSettings& file, const RawSettings& env,
                         const RawSettings& flags) {
  RawSettings merged = file;
  for (const auto& [k, v] : env) merged[k] = v;
  for (const auto& [k, v] : flags) merged[k] = v;

  Settings settings;
  for (const auto& [name, value] : merged) {
    const auto it = Appliers().find(name);
    if (it == Appliers().end()) {
      return Error{ErrorCode::kBadRequest, "setting " + name + ": unknown setting"};
    }
    if (!it->second.first(value, settings)) {
      return Error{ErrorCode::kBadRequest,
                   "setting " + name + ": invalid value: " + it->second.second};
    }
  }
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (settings.threads == 0) settings.threads = cores;
  if (settings.hash_threads == 0) settings.hash_threads = cores;
  if (settings.hash_queue == 0) settings.hash_queue = 64 * settings.hash_threads;
  if (settings.database.empty())
    settings.database = "sqlite://" + settings.data_dir + "/gatehouse.db";
  return settings;
}

}  // namespace gatehouse::config
