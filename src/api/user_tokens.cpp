#include "api/user_tokens.hpp"

namespace gatehouse::api {

Result<auth::TokenPair> OpenSession(Services& services, const store::UserRecord& user) {
  const store::SessionRecord session = services.tokens.NewSession(user.username);
  if (Status recorded = services.store.CreateSession(session, user.password_version); !recorded) {
    return recorded.error();
  }
  return services.tokens.IssuePair(session);
}

void ApplyRevoked(Services& services, const store::UserTokensRevoked& revoked) {
  for (const store::Revocation& session : revoked.sessions) {
    services.revocations.Revoke(session.id, session.expires_at);
  }
  services.revocations.RevokeUserBefore(revoked.user.username_key, revoked.user.revoked_before);
}

Status RevokeEveryToken(Services& services, std::string_view username) {
  // Tokens of earlier seconds fall to the time; those of this second to their session's sid.
  auto revoked = services.store.RevokeUserTokens(username, services.tokens.Now());
  if (!revoked) return revoked.error();
  ApplyRevoked(services, *revoked);
  return Ok{};
}

}  // namespace gatehouse::api
