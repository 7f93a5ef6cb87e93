// What resource servers use to check tokens without the HS256 secret: POST /token/introspect
// (RFC 7662: is this token still good, revocation included) and GET /.well-known/jwks.json.
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

void Introspect(const http::Request& request, Services& services, Reply reply) {
  const std::string& secret = services.settings.introspection_secret;
  // Without a configured secret the endpoint does not exist.
  if (secret.empty()) return reply(http::ErrorResponse(Error{ErrorCode::kNotFound, {}}));
  if (!auth::CallerHoldsSecret(request.authorization, secret)) {
    return reply(http::ErrorResponse(Error{ErrorCode::kWrongCallerSecret, {}}));
  }
  auto fields =
      http::DecodeFields(request.content_type, request.body, {"token", "token_type_hint"});
  if (!fields) return reply(http::ErrorResponse(fields.error()));
  const auto& token = (*fields)[0];
  if (!token) return reply(http::ErrorResponse(auth::RequireField("token", {}).error()));
  // RFC 7662 §2.2: an empty token is simply not an active one.
  if (token->empty()) return reply(Inactive());
  // token_type_hint (fields[1]) only speeds a search up, and a wrong one must not hide the
  // token (RFC 7662 §2.1): a token names its own type, so one check answers for both.
  auto claims = services.tokens.VerifyAnyType(*token);
  reply(claims ? Active(*claims, services.settings) : Inactive());
}

}  // namespace gatehouse::api

namespace gatehouse::api {

void Jwks(const http::Request&, Services& services, Reply reply) {
  http::Response response;
  response.body = *services.keyring.JwksJson();
  // Resource servers may cache the key set for a few minutes; a rotated-in key is published
  // at once, and clients such as PyJWT's PyJWKClient refetch on an unknown kid.
  response.headers.emplace_back("Cache-Control", "public, max-age=300");
  reply(std::move(response));
}

}  // namespace gatehouse::api
