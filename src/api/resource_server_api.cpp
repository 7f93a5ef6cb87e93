// What resource servers use to check tokens without the HS256 secret: POST /token/introspect
// (RFC 7662: is this token still good, revocation included) and GET /.well-known/jwks.json.
#include <nlohmann/json.hpp>

#include "api/known_user.hpp"
#include "api/services.hpp"
#include "auth/accounts.hpp"
#include "auth/client_auth.hpp"
#include "auth/passwords.hpp"
#include "http/body.hpp"
#include "http/error_response.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// RFC 7662 §4: answers about tokens must not be cached, inactive ones included.
http::Response Inactive() {
  http::Response response;
  response.body = R"({"active":false})";
  response.no_store = true;
  return response;
}

http::Response Active(const auth::Claims& claims, const config::Settings& settings) {
  JsonObjectWriter body;
  body.Add("active", true)
      .Add("sub", claims.sub)
      .Add("username", claims.sub)
      .Add("type", claims.type == auth::TokenType::kAccess ? "access" : "refresh")
      .Add("exp", claims.exp)
      .Add("iat", claims.iat)
      .Add("jti", claims.jti)
      // RFC 7662 §2.2 names RFC 6749 §5.1's token_type: both kinds are sent as Bearer tokens,
      // and `type` tells them apart.
      .Add("token_type", "Bearer");
  if (!claims.sid.empty()) body.Add("sid", claims.sid);
  // Verification required them to be exactly these (or, for aud, to contain this one).
  if (!settings.jwt_issuer.empty()) body.Add("iss", settings.jwt_issuer);
  if (!settings.jwt_audience.empty()) body.Add("aud", settings.jwt_audience);
  http::Response response;
  response.body = body.Finish();
  response.no_store = true;
  return response;
}

}  // namespace

Result<std::string> CallerToken(const http::Request& request, const Services& services) {
  const std::string& secret = services.settings.introspection_secret;
  // Without a configured secret the endpoints do not exist.
  if (secret.empty()) return Error{ErrorCode::kNotFound, {}};
  if (!auth::CallerHoldsSecret(request.authorization, secret)) {
    return Error{ErrorCode::kWrongCallerSecret, {}};
  }
  // token_type_hint is read (a duplicate or non-string one is refused) and needs no more: a
  // token names its own type, and a wrong hint must not hide the token (RFC 7662 §2.1).
  auto fields =
      http::DecodeFields(request.content_type, request.body, {"token", "token_type_hint"});
  if (!fields) return fields.error();
  auto& token = (*fields)[0];
  if (!token) return auth::RequireField("token", {}).error();
  return std::string(std::move(*token));
}

Result<std::optional<auth::Claims>> CallerTokenClaims(const std::string& token,
                                                      const Services& services) {
  auto claims = services.tokens.VerifyAnyType(token);
  if (claims) return std::optional<auth::Claims>(std::move(*claims));
  // Attacker round 15: a revoke while the feed was not followed answered 200 and revoked nothing.
  if (claims.error().code == ErrorCode::kStorageUnavailable) return claims.error();
  return std::optional<auth::Claims>();
}

namespace {

// Under rotation a refresh token's signature and the revocations in memory do not say whether
// it is still good: the store decides whether it is the session's current one (or used within
// the reuse interval, when a refresh would still answer 200 with the earlier answer).
bool AskStoreAboutRotation(const auth::Claims& claims, const config::Settings& settings) {
  return claims.type == auth::TokenType::kRefresh && !claims.sid.empty() &&
         settings.refresh_rotation;
}

// On a store thread: a verified token is active unless its user is disabled (the rule of
// api/known_user.hpp, as for /me and a refresh) or the rotation preview says it is used up.
// Introspection only looks: a used token shown here does not end its session.
http::Response StoreVerdict(Services& services, const auth::Claims& claims) {
  auto user = ReadKnownUser(services, claims.sub_key);
  if (!user) {
    if (user.error().code == ErrorCode::kTokenRevoked) return Inactive();
    return http::ErrorResponse(user.error());
  }
  if (!AskStoreAboutRotation(claims, services.settings)) return Active(claims, services.settings);
  const int64_t now = services.tokens.Now();
  store::RotationRequest preview;
  preview.sid = claims.sid;
  preview.presented_jti = claims.jti;
  preview.reuse_interval = services.settings.refresh_reuse_interval;
  preview.idle_since = IdleSince(services, now);
  preview.use.at = now;
  auto outlook = services.store.PreviewRotation(preview);
  if (!outlook) return http::ErrorResponse(outlook.error());
  using Kind = store::RotationOutcome::Kind;
  const bool live = *outlook == Kind::kRotated || *outlook == Kind::kReplay;
  return live ? Active(claims, services.settings) : Inactive();
}

}  // namespace

void Introspect(const http::Request& request, Services& services, Reply reply) {
  auto token = CallerToken(request, services);
  if (!token) return reply(http::ErrorResponse(token.error()));
  // RFC 7662 §2.2: an empty token is simply not an active one.
  if (token->empty()) return reply(Inactive());
  auto verified = CallerTokenClaims(*token, services);
  if (!verified) return reply(http::ErrorResponse(verified.error()));
  if (!*verified) return reply(Inactive());
  auth::Claims& claims = **verified;
  // A cached user is enabled: without rotation to check, the answer needs no storage.
  if (CachedUser(services, claims.sub_key) && !AskStoreAboutRotation(claims, services.settings)) {
    return reply(Active(claims, services.settings));
  }
  RunOnPool(services.store_pool, std::move(reply),
            [&services, claims = std::move(claims)] { return StoreVerdict(services, claims); });
}

}  // namespace gatehouse::api

namespace gatehouse::api {

void Jwks(const http::Request&, Services& services, Reply reply) {
  http::Response response;
  response.body = *services.keyring.JwksJson();
  // Resource servers may cache the key set for jwks.max_age: `keys rotate` publishes a key
  // longer than that before it signs (keys.publication_delay), so every cached set has it.
  response.headers.emplace_back(
      "Cache-Control", "public, max-age=" + std::to_string(services.settings.jwks_max_age));
  reply(std::move(response));
}

}  // namespace gatehouse::api

namespace gatehouse::api {
namespace {

bool IsHttpUrl(std::string_view text) {
  return text.starts_with("https://") || text.starts_with("http://");
}

}  // namespace

// RFC 8414: what standard middleware reads to configure itself. The issuer is the identifier
// every URL here is built from (§3.3), so it needs jwt.issuer set to gatehouse's public URL;
// gatehouse cannot know that URL behind a proxy by itself.
void ServerMetadata(const http::Request&, Services& services, Reply reply) {
  const config::Settings& settings = services.settings;
  if (!IsHttpUrl(settings.jwt_issuer)) {
    return reply(http::ErrorResponse(Error{ErrorCode::kNotFound, {}}));
  }
  std::string base = settings.jwt_issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string algorithm(AlgorithmName(settings.jwt_algorithm));
  nlohmann::json metadata = {{"issuer", settings.jwt_issuer},
                             {"jwks_uri", base + "/.well-known/jwks.json"},
                             {"response_types_supported", nlohmann::json::array()},
                             {"token_signing_alg_values_supported", {algorithm}}};
  if (!settings.introspection_secret.empty()) {
    const nlohmann::json methods = {"client_secret_basic"};
    metadata["introspection_endpoint"] = base + "/token/introspect";
    metadata["introspection_endpoint_auth_methods_supported"] = methods;
    metadata["revocation_endpoint"] = base + "/token/revoke";
    metadata["revocation_endpoint_auth_methods_supported"] = methods;
  }
  http::Response response;
  response.body = metadata.dump();
  response.headers.emplace_back("Cache-Control", "public, max-age=300");
  reply(std::move(response));
}

}  // namespace gatehouse::api
