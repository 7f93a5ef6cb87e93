// Settings: every setting has one dotted name (e.g. "jwt.access_ttl") used three ways, with
// this precedence: command-line flag (--jwt-access-ttl) > environment
// (GATEHOUSE_JWT_ACCESS_TTL) > TOML file (--config; key access_ttl in table [jwt]) > default.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util/cidr.hpp"
#include "util/duration.hpp"
#include "util/result.hpp"

namespace gatehouse::config {

struct Settings {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 5000;
  std::string data_dir = "./gatehouse-data";
  std::string database;                 // empty until resolved: sqlite://<data_dir>/gatehouse.db
  int database_pool_size = 8;           // PostgreSQL connections of this instance
  std::string jwt_secret;               // empty: generated into <data_dir>/jwt-secret
  std::string jwt_algorithm = "HS256";  // HS256 | EdDSA | ES256 | RS256
  std::string jwt_private_key_file;     // asymmetric: a fixed key instead of <data_dir>/keys
  std::string jwt_issuer;
  std::string jwt_audience;
  int64_t access_ttl_seconds = 30 * 60;
  int64_t refresh_ttl_seconds = 30 * 24 * 3600;
  int password_min_length = 8;
  int threads = 0;       // resolved to the number of cores
  int hash_threads = 0;  // resolved to the number of cores
  int hash_queue = 0;    // pending hash jobs beyond which 503; resolved to 64 * hash_threads
  size_t body_bytes = 16384;
  size_t header_bytes = 8192;
  int max_connections = 10000;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds idle_timeout{60};
  RateLimit login_per_user{10, 15 * 60};
  RateLimit login_per_address{100, 15 * 60};
  RateLimit registration_per_address{30, 60};
  RateLimit refresh_per_user{120, 60};     // POST /token/refresh per token's user
  RateLimit revocation_per_user{60, 60};   // /logout/*, /password per token's user
  std::vector<IpNetwork> trusted_proxies;  // whose X-Forwarded-For is believed
  std::string password_deny_list;          // file of refused passwords, one per line; empty: none
  bool log_requests = false;
  std::string introspection_secret;  // Bearer secret of /token/introspect; empty: endpoint off //
                                     // one access-log event per request
};

// One known setting: its dotted name, its default as text, and a one-line description.
struct SettingSpec {
  const char* name;
  const char* default_text;
  const char* help;
};
const std::vector<SettingSpec>& AllSettings();

// "jwt.access_ttl" -> "jwt-access-ttl" / "GATEHOUSE_JWT_ACCESS_TTL".
std::string FlagName(const std::string& setting);
std::string EnvName(const std::string& setting);

// Raw text values gathered from the three sources, keyed by dotted name.
using RawSettings = std::map<std::string, std::string>;

// Reads a TOML file into raw values. Fails with a one-line message naming the file.
Result<RawSettings> ReadTomlFile(const std::string& path);
// Reads GATEHOUSE_* variables of the known settings from the environment.
RawSettings ReadEnvironment();

// Merges (later sources win: file, env, flags) and validates. On failure the error detail is
// one line naming the setting and what is wrong.
Result<Settings> Resolve(const RawSettings& file, const RawSettings& env, const RawSettings& flags);

using gatehouse::ParseDuration;  // util/duration.hpp

}  // namespace gatehouse::config
