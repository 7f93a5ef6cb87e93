// Settings: every setting is declared once, in config/setting_table.cpp (name, type, bounds,
// default, help), and that one row gives its command-line flag, its environment variable, its
// TOML key, its validation, its --help line and its row in docs/settings.md.
// One dotted name (e.g. "jwt.access_ttl") is used three ways, with this precedence:
// command-line flag (--jwt-access-ttl) > environment (GATEHOUSE_JWT_ACCESS_TTL) > TOML file
// (--config; key access_ttl in table [jwt]) > default.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "util/cidr.hpp"
#include "util/duration.hpp"
#include "util/jws_algorithm.hpp"
#include "util/startup_error.hpp"

namespace gatehouse::config {

// The resolved settings. A default-constructed Settings holds every declared default (the
// fields' own initialisers are only the "unset" values); Resolve fills the derived ones.
struct Settings {
  Settings();

  std::string listen_host;
  uint16_t listen_port = 0;
  std::string data_dir;
  std::string database;        // empty until resolved: sqlite://<data_dir>/gatehouse.db
  int database_pool_size = 0;  // PostgreSQL connections of this instance
  std::string jwt_secret;      // empty: generated into <data_dir>/jwt-secret
  JwsAlgorithm jwt_algorithm = JwsAlgorithm::kHS256;
  bool jwt_algorithm_given = false;  // set by flag, environment or file (not the default)
  std::string jwt_private_key_file;  // asymmetric: a fixed key instead of <data_dir>/keys
  std::string jwt_issuer;
  std::string jwt_audience;
  int64_t jwks_max_age = 0;           // seconds resource servers may cache the key set
  int64_t key_publication_delay = 0;  // seconds between publishing a rotated key and signing
  int64_t access_ttl_seconds = 0;
  int64_t refresh_ttl_seconds = 0;
  bool refresh_rotation = false;            // refresh tokens single use (API.md §10)
  int64_t refresh_reuse_interval = 0;       // seconds a used refresh token gets the same answer
  int64_t session_idle_timeout = 0;         // seconds; 0: sessions do not end when idle
  int64_t events_retention = 0;             // seconds account events are kept
  std::vector<std::string> webhook_urls;    // webhooks.url; empty: no webhooks
  std::string webhook_key;                  // webhooks.secret decoded: the HMAC key
  std::vector<std::string> webhook_events;  // webhooks.events; empty: every type
  int password_min_length = 0;
  int threads = 0;       // resolved to the number of cores
  int hash_threads = 0;  // resolved to the number of cores
  int hash_queue = 0;    // pending hash jobs beyond which 503; resolved to 64 * hash_threads
  size_t body_bytes = 0;
  size_t header_bytes = 0;
  int max_connections = 0;
  std::chrono::seconds read_timeout{0};
  std::chrono::seconds idle_timeout{0};
  RateLimit login_per_user;
  RateLimit login_per_address;
  RateLimit registration_per_address;
  RateLimit refresh_per_user;              // POST /token/refresh per token's user
  RateLimit revocation_per_user;           // /logout/*, /password per token's user
  std::vector<IpNetwork> trusted_proxies;  // whose X-Forwarded-For is believed
  std::string password_deny_list;          // file of refused passwords, one per line; empty: none
  bool log_requests = false;               // one access-log event per request
  std::string introspection_secret;        // Bearer secret of /token/introspect; empty: off
  // API.md §11: where tokens travel, their cookies, and the origins allowed by CORS.
  bool tokens_in_headers = true;
  bool tokens_in_cookies = false;
  std::string cookies_samesite;  // Strict, Lax or None
  bool cookies_secure = true;
  std::string cookies_domain;                     // empty: no Domain attribute (host-only cookies)
  int64_t cookies_max_age_seconds = 0;            // 0: session cookies, no Max-Age
  std::vector<std::string> cors_allowed_origins;  // exact origins; empty: no CORS headers
  std::string admin_secret;                       // Bearer secret of /admin/...; empty: off (404)
  int64_t password_reset_ttl_seconds = 0;         // how long an admin-issued reset code is valid
  bool registration_enabled = true;               // false: /registration answers 403
  std::string revocations_secret;   // Bearer secret of GET /revocations; empty: off (404)
  int revocations_max_streams = 0;  // concurrent text/event-stream answers of /revocations
};

// What a setting's value is; it picks the parser, the refusal's wording, the --help type
// and the docs' type column.
enum class SettingType {
  kAddress,    // host:port
  kPath,       // a file or directory
  kUrl,        // sqlite://... or postgresql://...
  kText,       // any printable text
  kSecret,     // at least `low` bytes; never shown
  kInteger,    // a whole number from `low` to `high`
  kBytes,      // a whole number of bytes from `low` to `high`
  kDuration,   // 90, 90s, 15m, 2h, 30d; at least `low` seconds
  kRate,       // N/duration, or 0
  kBoolean,    // true or false
  kAlgorithm,  // a JWS algorithm name (util/jws_algorithm.hpp)
  kNetworks,   // comma-separated addresses or CIDR networks (TOML: a list)
  kChoice,     // one of a few words, exactly
  kOrigins,    // comma-separated origins, scheme://host[:port] (TOML: a list)
};

// A value's type and bounds, and how it is stored into Settings (false: refused). Made by the
// builders in config/setting_types.hpp.
struct SettingKind {
  SettingType type;
  int64_t low = 0;
  int64_t high = 0;
  std::function<bool(const std::string& text, Settings& settings)> apply;
};

// One setting: a row of config/setting_table.cpp.
struct SettingSpec {
  std::string name{};  // dotted: "jwt.access_ttl"
  SettingKind kind{};
  std::string default_value{};  // literal ("30m"), applied to every Settings; empty: none
  std::string default_note{};   // with no literal: what an unset setting means; empty: "none"
  std::string help{};           // one line for --help
  std::string doc{};            // markdown for the docs' table; empty: `help`
  std::string expected{};       // the refusal's own wording; empty: the type's (ExpectedText)
};
// Every setting, in the order of --help and the docs.
const std::vector<SettingSpec>& AllSettings();

// "jwt.access_ttl" -> "jwt-access-ttl" / "GATEHOUSE_JWT_ACCESS_TTL" / "[jwt] access_ttl".
std::string FlagName(const std::string& setting);
std::string EnvName(const std::string& setting);
std::string TomlKey(const std::string& setting);

// What a refusal of `spec` says is expected: "expected a whole number from 1 to 256".
std::string ExpectedText(const SettingSpec& spec);

// Raw text values gathered from the three sources, keyed by dotted name.
using RawSettings = std::map<std::string, std::string>;

// Reads a TOML file into raw values. Fails (kBadConfigFile) with a one-line message naming
// the file.
StartupResult<RawSettings> ReadTomlFile(const std::string& path);
// Reads GATEHOUSE_* variables of the known settings from the environment.
RawSettings ReadEnvironment();

// Merges (later sources win: file, env, flags) and validates. On failure (kBadSetting) the
// detail is one line naming the setting and what is wrong, never the refused value.
StartupResult<Settings> Resolve(const RawSettings& file, const RawSettings& env,
                                const RawSettings& flags);

using gatehouse::ParseDuration;  // util/duration.hpp

}  // namespace gatehouse::config
