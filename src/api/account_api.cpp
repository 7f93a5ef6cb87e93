// POST /registration and POST /login: the two endpoints that cost an argon2id hash, so both
// do all their work on the hash pool.
#include "api/attempt_limits.hpp"
#include "api/credentials.hpp"
#include "api/services.hpp"
#include "api/user_tokens.hpp"
#include "auth/passwords.hpp"
#include "http/error_response.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

http::Response TokensResponse(std::string_view message, const auth::TokenPair& tokens) {
  http::Response response;
  response.body = JsonObjectWriter()
                      .Add("message", message)
                      .Add("access_token", tokens.access_token)
                      .Add("refresh_token", tokens.refresh_token)
                      .Finish();
  response.no_store = true;
  return response;
}

http::Response Taken(std::string_view username) {
  return http::MessageResponse(409, "User " + std::string(username) + " already exists");
}

http::Response CreateAccount(const Credentials& credentials, Services& services) {
  // Checking first spares an argon2id run for a taken name; the unique key in the store still
  // decides races between concurrent registrations.
  auto existing = services.store.FindUser(credentials.username);
  if (!existing) return http::ErrorResponse(existing.error());
  if (*existing) return Taken(credentials.username);

  auto hash = auth::HashPassword(credentials.password);
  if (!hash) return http::ErrorResponse(hash.error());
  const store::UserRecord user{credentials.username, std::move(*hash), services.tokens.Now()};
  if (Status created = services.store.CreateUser(user); !created) {
    if (created.error().code == ErrorCode::kConflict) return Taken(credentials.username);
    return http::ErrorResponse(created.error());
  }
  auto tokens = OpenSession(services, user);
  if (!tokens) return http::ErrorResponse(tokens.error());
  services.users.Put(store::UsernameKey(user.username), user.username, user.created_at);
  return TokensResponse("User " + user.username + " was created", *tokens);
}

// A legacy (Flask pbkdf2) or weaker hash is replaced while the plain password is at hand. A
// failure here costs nothing but the upgrade: the login itself has succeeded.
void UpgradeHash(const std::string& username, const Credentials& credentials, Services& services) {
  auto hash = auth::HashPassword(credentials.password);
  Status updated = hash ? services.store.UpdatePasswordHash(username, *hash) : Status(hash.error());
  if (!updated) obs::Warn("upgrading a password hash failed", {{"error", updated.error().detail}});
}

http::Response CheckLogin(const Credentials& credentials, Services& services) {
  auto user = services.store.FindUser(credentials.username);
  if (!user) return http::ErrorResponse(user.error());
  // An unknown user costs the same argon2id run as a wrong password: no enumeration by timing.
  const bool matches = *user ? auth::VerifyPassword((*user)->password_hash, credentials.password)
                             : auth::VerifyAgainstDummy(credentials.password);
  if (!matches) return http::ErrorResponse(Error{ErrorCode::kWrongCredentials, {}});
  const store::UserRecord& record = **user;
  if (auth::NeedsRehash(record.password_hash)) UpgradeHash(record.username, credentials, services);
  auto tokens = OpenSession(services, record);
  // The password checked above was changed (or the user removed) meanwhile: no session.
  if (!tokens && tokens.error().code == ErrorCode::kConflict) {
    return http::ErrorResponse(Error{ErrorCode::kWrongCredentials, {}});
  }
  if (!tokens) return http::ErrorResponse(tokens.error());
  services.users.Put(store::UsernameKey(record.username), record.username, record.created_at);
  return TokensResponse("Logged in as " + record.username, *tokens);
}

// The in-memory limiter keys of one login attempt: per (username, client address) and per
// address. Digests, so a 16 KB username costs the limiters no more than a short one.
struct LoginKeys {
  auth::LimiterKey user_and_address;
  auth::LimiterKey address;
};

void GiveBack(auth::AbuseLimits& limits, const LoginKeys& keys) {
  const int64_t now = auth::MonotonicMillis();
  limits.login_per_user.GiveBack(keys.user_and_address, now);
  limits.login_per_address.GiveBack(keys.address, now);
}

// On the hash pool: the shared count first (several instances), then the argon2id check; a
// success gives every attempt back.
http::Response LoginJob(const Credentials& credentials, const std::string& address,
                        const LoginKeys& keys, Services& services) {
  const std::vector<SharedAttempt> attempts{
      LoginPerUserAttempt(services.settings, credentials.username, address),
      LoginPerAddressAttempt(services.settings, address)};
  if (auto refused = TakeShared(services.store, attempts)) return std::move(*refused);
  http::Response response = CheckLogin(credentials, services);
  if (response.status == 200) {
    GiveBack(services.limits, keys);
    GiveBackShared(services.store, attempts);
  }
  return response;
}

}  // namespace

void Registration(const http::Request& request, Services& services, Reply reply) {
  auto credentials =
      ReadCredentials(request, static_cast<std::size_t>(services.settings.password_min_length),
                      /*check_rules=*/true);
  if (!credentials) return reply(http::ErrorResponse(credentials.error()));
  if (services.deny_list.Contains(credentials->password)) {
    return reply(http::MessageResponse(400, "password: Too common, choose another"));
  }
  const int64_t wait = services.limits.registration_per_address.Take(
      auth::LimiterKeyOf({}, request.client_address), auth::MonotonicMillis());
  if (wait > 0) return reply(TooMany(wait, obs::RateLimitKind::kRegistrationPerAddress));
  auto shared = std::make_shared<Credentials>(std::move(*credentials));
  RunOnPool(
      services.hash_pool, std::move(reply), [shared, &services, address = request.client_address] {
        if (auto refused =
                TakeShared(services.store, {RegistrationAttempt(services.settings, address)})) {
          return std::move(*refused);
        }
        return CreateAccount(*shared, services);
      });
}

void Login(const http::Request& request, Services& services, Reply reply) {
  auto credentials = ReadCredentials(request, 1, /*check_rules=*/false);
  if (!credentials) return reply(http::ErrorResponse(credentials.error()));

  // Attempts are taken before the argon2id work, so a burst of parallel guesses cannot all pass
  // the check before the first failure is counted; a success gives them back.
  const LoginKeys keys{auth::LimiterKeyOf(credentials->username, request.client_address),
                       auth::LimiterKeyOf({}, request.client_address)};
  auth::AbuseLimits& limits = services.limits;
  const int64_t now = auth::MonotonicMillis();
  if (const int64_t wait = limits.login_per_user.Take(keys.user_and_address, now); wait > 0) {
    return reply(TooMany(wait, obs::RateLimitKind::kLoginPerUser));
  }
  if (const int64_t wait = limits.login_per_address.Take(keys.address, now); wait > 0) {
    limits.login_per_user.GiveBack(keys.user_and_address, now);
    return reply(TooMany(wait, obs::RateLimitKind::kLoginPerAddress));
  }
  auto shared = std::make_shared<Credentials>(std::move(*credentials));
  const bool queued = RunOnPool(services.hash_pool, std::move(reply),
                                [shared, &services, keys, address = request.client_address] {
                                  return LoginJob(*shared, address, keys, services);
                                });
  if (!queued) GiveBack(limits, keys);
}

}  // namespace gatehouse::api
