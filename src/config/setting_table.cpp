// The declaration of every setting, one row each, as ClickHouse declares its settings. From a
// row come the flag (--jwt-access-ttl), the environment variable (GATEHOUSE_JWT_ACCESS_TTL),
// the TOML key (access_ttl in [jwt]), the check and its refusal line, the default every
// Settings starts from, the --help line and the row of docs/settings.md (regenerate it with
// `gatehouse settings --markdown > docs/settings.md`; a unit test compares the two).
#include "config/setting_types.hpp"

namespace gatehouse::config {
namespace {

std::vector<SettingSpec> Declare() {
  using S = Settings;
  return {
      {.name = "listen",
       .kind = Address(&S::listen_host, &S::listen_port),
       .default_value = "127.0.0.1:5000",
       .help = "address:port to listen on",
       .doc = "address:port (`[::1]:5000` for IPv6)"},
      {.name = "data_dir",
       .kind = Path(&S::data_dir),
       .default_value = "./gatehouse-data",
       .help = "directory for the database and generated keys",
       .doc = "database, generated secret and keys; created (0700) on first start",
       .expected = "expected a non-empty path"},
      {.name = "database",
       .kind = Url(&S::database),
       .default_note = "`sqlite://<data_dir>/gatehouse.db`",
       .help = "storage URL (or postgresql://...)",
       .doc = "storage URL: `sqlite://<path>` or `postgresql://user:password@host:port/db`"},
      {.name = "database_pool_size",
       .kind = Integer(&S::database_pool_size, 1, 1000),
       .default_value = "8",
       .help = "PostgreSQL: connections per instance",
       .doc = "PostgreSQL: most connections one instance opens (also its storage threads)"},
      {.name = "jwt.secret",
       .kind = Secret(&S::jwt_secret, 32),
       .default_note = "generated",
       .help = "HS256 key (>= 32 bytes); unset: generated into <data_dir>/jwt-secret",
       .doc = "HS256 key, the literal bytes of the string, at least 32, not a unit of up to "
              "8 bytes repeated, no control character, no whitespace at either end; unset: 32 "
              "random bytes written to "
              "`<data_dir>/jwt-secret` (0600), or into a PostgreSQL database, and reused"},
      {.name = "jwt.algorithm",
       .kind = Algorithm(&S::jwt_algorithm),
       .default_value = "HS256",
       .help = "token signing algorithm",
       .doc = "`HS256` (the secret), `EdDSA` (Ed25519), `ES256` (P-256) or `RS256`: the "
              "algorithm tokens are signed and verified with; kept with the keys, so a start "
              "or `keys rotate` without it uses the last one; a start with another one is "
              "refused: change it with `keys rotate --jwt-algorithm`, staged, old tokens "
              "still verifying"},
      {.name = "jwt.private_key_file",
       .kind = Path(&S::jwt_private_key_file),
       .help = "PEM private key for EdDSA/ES256/RS256; unset: <data_dir>/keys",
       .doc = "EdDSA/ES256/RS256: one fixed PEM private key that group and others cannot "
              "read (a key of another type stops the start); unset: keys made and rotated in "
              "`<data_dir>/keys`, or in a PostgreSQL database"},
      {.name = "jwks.max_age",
       .kind = Duration(&S::jwks_max_age, 0),
       .default_value = "5m",
       .help = "how long resource servers may cache GET /.well-known/jwks.json",
       .doc = "the `Cache-Control: public, max-age` of `GET /.well-known/jwks.json`: how long a "
              "resource server may keep a key set before fetching it again",
       .expected = "expected a duration such as 5m (s, m, h, d or plain seconds), or 0"},
      {.name = "keys.publication_delay",
       .kind = Duration(&S::key_publication_delay, 1),
       .default_value = "6m",
       .help = "keys rotate: a new key is published this long before it signs (> jwks.max_age)",
       .doc = "`gatehouse keys rotate` publishes the new key at once and signs with it only "
              "this long afterwards, so every cached key set lists it first; must be longer "
              "than `jwks.max_age` (`keys rotate --now` skips it)",
       .expected = "expected a duration such as 6m (s, m, h, d or plain seconds), at least 1s"},
      {.name = "jwt.issuer",
       .kind = Text(&S::jwt_issuer),
       .help = "iss claim written and required",
       .doc = "written as `iss` into every token, then required in every token verified"},
      {.name = "jwt.audience",
       .kind = Text(&S::jwt_audience),
       .help = "aud claim written and required",
       .doc = "written as `aud` into every token, then required in every token verified (a "
              "string, or an array holding it)"},
      {.name = "jwt.access_ttl",
       .kind = Duration(&S::access_ttl_seconds, 1),
       .default_value = "30m",
       .help = "lifetime of access tokens",
       .doc = "access-token lifetime",
       .expected = "expected a duration such as 30m (s, m, h, d or plain seconds), at least 1s"},
      {.name = "jwt.refresh_ttl",
       .kind = Duration(&S::refresh_ttl_seconds, 1),
       .default_value = "30d",
       .help = "lifetime of refresh tokens",
       .doc = "refresh-token lifetime",
       .expected = "expected a duration such as 30d (s, m, h, d or plain seconds), at least 1s"},
      {.name = "jwt.refresh_rotation",
       .kind = Boolean(&S::refresh_rotation),
       .default_value = "false",
       .help = "refresh tokens are single use; /token/refresh answers a new one",
       .doc = "`true`: a refresh token can be used once; `/token/refresh` answers a new "
              "refresh token too (same session, same `exp`); see `docs/api.md`, Sessions"},
      {.name = "jwt.refresh_reuse_interval",
       .kind = Duration(&S::refresh_reuse_interval, 0),
       .default_value = "10s",
       .help = "a used refresh token presented again within this gets the same answer",
       .doc = "with rotation: a used refresh token presented again within this gets the "
              "identical answer; after it, the session is revoked (reuse)",
       .expected = "expected a duration such as 10s (s, m, h, d or plain seconds)"},
      {.name = "session.idle_timeout",
       .kind = Duration(&S::session_idle_timeout, 0),
       .default_value = "0",
       .help = "a session unused this long ends (0: never)",
       .doc = "a session not used (started or refreshed) for this long ends as if revoked; "
              "`0`: off",
       .expected = "expected a duration such as 8h (s, m, h, d or plain seconds), or 0"},
      {.name = "events.retention",
       .kind = Duration(&S::events_retention, 1),
       .default_value = "30d",
       .help = "how long account events are kept",
       .doc = "account events (API.md §12) older than this are deleted, about once a minute",
       .expected = "expected a duration of at least 1s such as 30d (s, m, h, d or plain seconds)"},
      {.name = "webhooks.url",
       .kind = WebhookUrls(&S::webhook_urls),
       .help = "comma-separated http(s) URLs every account event is POSTed to (webhooks)",
       .doc = "comma-separated `http://` or `https://` URLs (at most 16); each account event "
              "(API.md §12) is POSTed to every one in the Standard Webhooks format, at least "
              "once and in event order per URL (docs/api.md, \"Webhooks\"); needs "
              "`webhooks.secret`; unset: no webhooks",
       .expected = "expected comma-separated http:// or https:// URLs (at most 16, each at "
                   "most 2048 bytes)"},
      {.name = "webhooks.secret",
       .kind = WebhookSecret(&S::webhook_key),
       .help = "webhook signing secret: whsec_ + base64 of 24 to 64 random bytes",
       .doc = "the Standard Webhooks signing secret, `whsec_` followed by the base64 of 24 to "
              "64 random bytes (e.g. `echo whsec_$(openssl rand -base64 32)`); the receiver "
              "verifies `webhook-signature` with the same string",
       .expected = "expected whsec_ followed by the base64 of 24 to 64 bytes"},
      {.name = "webhooks.events",
       .kind = EventTypes(&S::webhook_events),
       .help = "comma-separated event types sent to webhooks (unset: every type)",
       .doc = "comma-separated event types of API.md §12 (e.g. "
              "`user.created,password.reset_requested`); unset: every type",
       .expected = "expected comma-separated event types of API.md §12 such as user.created"},
      {.name = "password.min_length",
       .kind = Integer(&S::password_min_length, 1, 1024),
       .default_value = "8",
       .help = "shortest accepted password, in bytes",
       .doc = "shortest password, in bytes (the longest is 1024)"},
      {.name = "threads",
       .kind = Integer(&S::threads, 1, 256),
       .default_note = "cores",
       .help = "I/O threads",
       .doc = "I/O threads (on a machine where something else keeps a core busy, e.g. a load "
              "generator, one fewer than cores may serve more: see the README's benchmark "
              "section)"},
      {.name = "hash_threads",
       .kind = Integer(&S::hash_threads, 1, 256),
       .default_note = "cores",
       .help = "password-hashing threads",
       .doc = "argon2id threads (each hash: 19 MiB, ~30 ms)"},
      {.name = "hash_queue",
       .kind = Integer(&S::hash_queue, 1, 1000000),
       .default_note = "64 x hash_threads",
       .help = "hash jobs waiting beyond which 503 is answered",
       .doc = "waiting hash jobs beyond which login and registration answer 503"},
      {.name = "limits.body_bytes",
       .kind = Bytes(&S::body_bytes, 256, 16 << 20),
       .default_value = "16384",
       .help = "largest request body",
       .doc = "largest body (over: 413)"},
      {.name = "limits.header_bytes",
       .kind = Bytes(&S::header_bytes, 1024, 65536),
       .default_value = "8192",
       .help = "largest request header block",
       .doc = "largest request head (request line, fields, CRLFs) plus trailer section (over: "
              "431, then close)"},
      {.name = "limits.max_connections",
       .kind = Integer(&S::max_connections, 1, 1000000),
       .default_value = "10000",
       .help = "open connections beyond which new ones are refused",
       .doc = "open connections beyond which new ones are closed at once"},
      {.name = "limits.read_timeout",
       .kind = Duration(&S::read_timeout, 1),
       .default_value = "10s",
       .help = "time to receive a whole request once it has begun"},
      {.name = "limits.idle_timeout",
       .kind = Duration(&S::idle_timeout, 1),
       .default_value = "60s",
       .help = "time a keep-alive connection may sit idle",
       .doc = "idle keep-alive connections are closed after this"},
      {.name = "rate_limit.login_per_user",
       .kind = Rate(&S::login_per_user),
       .default_value = "10/15m",
       .help = "failed logins per (username, client address)"},
      {.name = "rate_limit.login_per_address",
       .kind = Rate(&S::login_per_address),
       .default_value = "100/15m",
       .help = "failed logins per client address"},
      {.name = "rate_limit.registration_per_address",
       .kind = Rate(&S::registration_per_address),
       .default_value = "30/1m",
       .help = "registrations per client address"},
      {.name = "rate_limit.refresh_per_user",
       .kind = Rate(&S::refresh_per_user),
       .default_value = "120/1m",
       .help = "token refreshes per user",
       .doc = "`POST /token/refresh` per user (the refresh token's), counted per instance"},
      {.name = "rate_limit.revocation_per_user",
       .kind = Rate(&S::revocation_per_user),
       .default_value = "60/1m",
       .help = "revocations (logout, logout all, password change) per user",
       .doc = "`/logout/access`, `/logout/refresh`, `/logout/all`, `/password` per user (the "
              "token's), counted per instance"},
      {.name = "trusted_proxies",
       .kind = Networks(&S::trusted_proxies),
       .help = "comma-separated proxies (address or CIDR) whose X-Forwarded-For is believed",
       .doc = "comma-separated addresses or CIDRs (TOML: a list) whose `X-Forwarded-For` is "
              "believed"},
      {.name = "password.deny_list",
       .kind = Path(&S::password_deny_list),
       .help = "file of refused passwords, one per line (unset: a built-in common list)",
       .doc = "file of refused passwords, one per line, ASCII case ignored; unset: a built-in "
              "list of about 180 of the most common passwords (`password123`, `qwerty123`, "
              "...); an empty file refuses none"},
      {.name = "introspection.secret",
       .kind = Secret(&S::introspection_secret, 16),
       .help = "caller secret (Bearer or Basic) of POST /token/introspect and /token/revoke (>= 16 "
               "bytes); unset: 404",
       .doc =
           "the caller secret of `POST /token/introspect` and `POST /token/revoke` "
           "(`Authorization: Bearer <secret>`, "
           "or HTTP Basic with the secret as password), at least 16 bytes, not a unit of up to 8 "
           "bytes repeated, no control character, no whitespace at either end; unset: the "
           "endpoint answers 404"},
      {.name = "tokens.location",
       .kind = TokenLocation(&S::tokens_in_headers, &S::tokens_in_cookies),
       .default_value = "headers",
       .help = "where tokens travel: headers, cookies or headers,cookies",
       .doc = "`headers` (JSON bodies and `Authorization`), `cookies` (Flask-JWT-Extended's "
              "four cookies with double-submit CSRF; JSON answers carry no tokens) or "
              "`headers,cookies` (both; a request's `Authorization` header wins over its "
              "cookie). See docs/browser.md",
       .expected = "expected headers, cookies or headers,cookies"},
      {.name = "cookies.samesite",
       .kind = Choice(&S::cookies_samesite, {"Strict", "Lax", "None"}),
       .default_value = "Lax",
       .help = "SameSite attribute of the token cookies: Strict, Lax or None",
       .doc = "`SameSite` of the four cookies: `Strict`, `Lax` or `None` (browsers take "
              "`None` only with `Secure`: with cookies on, `None` needs `cookies.secure`)",
       .expected = "expected Strict, Lax or None"},
      {.name = "cookies.secure",
       .kind = Boolean(&S::cookies_secure),
       .default_value = "true",
       .help = "mark the token cookies Secure (sent over HTTPS only)",
       .doc = "`Secure` on the four cookies; browsers also send them to http://localhost"},
      {.name = "cookies.domain",
       .kind = Text(&S::cookies_domain),
       .help = "Domain attribute of the token cookies; unset: host-only cookies",
       .doc = "`Domain` of the four cookies, a host name (letters, digits, `.`, `-`); unset: "
              "host-only cookies (sent to this host only)"},
      {.name = "cookies.max_age",
       .kind = Duration(&S::cookies_max_age_seconds, 1),
       .help = "Max-Age of the token cookies; unset: session cookies",
       .doc = "`Max-Age` of the four cookies; unset: session cookies (gone when the browser "
              "closes; the tokens' own `exp` still rules)"},
      {.name = "cors.allowed_origins",
       .kind = Origins(&S::cors_allowed_origins),
       .help = "comma-separated origins allowed to call with credentials (CORS)",
       .doc = "comma-separated exact origins (TOML: a list), e.g. `https://app.example.com`, "
              "answered with CORS headers and credentials; unset: no CORS headers at all. Never "
              "a wildcard"},
      {.name = "admin.secret",
       .kind = Secret(&S::admin_secret, 32),
       .help = "Bearer secret of the /admin/... API (>= 32 bytes); unset: 404",
       .doc = "the `Authorization: Bearer` secret of the admin API (`/admin/...`), at least 32 "
              "bytes, not a unit of up to 8 bytes repeated, no control character, no whitespace at "
              "either end; unset: every "
              "`/admin/...` path answers 404"},
      {.name = "revocations.secret",
       .kind = Secret(&S::revocations_secret, 32),
       .help = "Bearer secret of GET /revocations, the revocation feed for resource servers "
               "(>= 32 bytes); unset: 404",
       .doc = "the `Authorization: Bearer` secret of `GET /revocations` (the revocation feed "
              "for resource servers that verify tokens offline), at least 32 bytes, not a unit of "
              "up to 8 bytes repeated, no control character, no whitespace at either end; "
              "unset: `/revocations` answers 404"},
      {.name = "revocations.max_streams",
       .kind = Integer(&S::revocations_max_streams, 1, 100000),
       .default_value = "1000",
       .help = "most concurrent GET /revocations event streams; past it 503",
       .doc = "the most `GET /revocations` Server-Sent Events streams open at once (each holds "
              "a connection and at most 1 MiB of unsent events); one more answers 503 with "
              "`Retry-After`"},
      {.name = "password.reset_ttl",
       .kind = Duration(&S::password_reset_ttl_seconds, 60),
       .default_value = "1h",
       .help = "how long an admin-issued password-reset code is valid",
       .doc = "lifetime of a password-reset code (`POST /admin/users/{username}/password-reset`, "
              "`gatehouse user reset-code`)",
       .expected = "expected a duration such as 1h (s, m, h, d or plain seconds), at least 60s"},
      {.name = "registration.enabled",
       .kind = Boolean(&S::registration_enabled),
       .default_value = "true",
       .help = "whether POST /registration creates accounts",
       .doc = "`false`: `POST /registration` answers 403 `Registration is disabled` (accounts "
              "come from the admin API or `gatehouse user add`)"},
      {.name = "log.requests",
       .kind = Boolean(&S::log_requests),
       .default_value = "false",
       .help = "log one line per request (method, path, status, time, client)",
       .doc = "one log line per request"},
  };
}

}  // namespace

const std::vector<SettingSpec>& AllSettings() {
  static const std::vector<SettingSpec> settings = Declare();
  return settings;
}

}  // namespace gatehouse::config
