// gatehouse user disable|enable|claims|reset-code: the admin API's account calls from a
// shell, through the same auth::Accounts calls the handlers make (API.md §12).
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/admin_request.hpp"
#include "auth/accounts.hpp"
#include "auth/passwords.hpp"
#include "cli/commands.hpp"
#include "util/clock.hpp"

namespace gatehouse::cli {
namespace {

// Runs `use` with the account module over the configured store (no live tokens: running
// servers learn revocations from the store's feed). 1, after printing why, on failure.
template <typename Use>
int WithAccounts(const config::Settings& settings, const UserOptions& options, Use use) {
  auto store = OpenStoreOrReport(settings);
  if (!store || !auth::InitCrypto()) return 1;
  auth::Accounts accounts(*store, {}, std::nullopt);
  Status done = use(accounts, store::UsernameKey(options.username));
  if (!done && done.error().code == ErrorCode::kUserNotFound) {
    return Failure("no user " + options.username);
  }
  if (!done) return Failure(done.error().detail);
  return 0;
}

}  // namespace

int UserSetDisabled(const config::Settings& settings, const UserOptions& options, bool disabled) {
  return WithAccounts(settings, options,
                      [&](auth::Accounts& accounts, const store::UsernameKey& key) -> Status {
                        if (Status set = accounts.SetDisabled(key, disabled); !set) return set;
                        std::cout << (disabled ? "disabled " : "enabled ") << options.username
                                  << (disabled ? " and revoked its tokens\n" : "\n");
                        return Ok{};
                      });
}

int UserClaims(const config::Settings& settings, const UserOptions& options) {
  return WithAccounts(
      settings, options, [&](auth::Accounts& accounts, const store::UsernameKey& key) -> Status {
        if (options.claims.empty()) {  // no JSON given: show them
          auto user = accounts.Find(key);
          if (!user) return user.error();
          std::cout << user->claims << "\n";
          return Ok{};
        }
        // The admin API's parse: a name given twice is refused, as over HTTP.
        const auto parsed = api::StrictJsonObject(options.claims);
        if (!parsed) return FieldError("claims", "Not valid JSON");
        auto claims = auth::CheckClaims(*parsed);
        if (!claims) return claims.error();
        if (Status set = accounts.SetClaims(key, *claims); !set) return set;
        std::cout << "set the claims of " << options.username << " to " << *claims << "\n";
        return Ok{};
      });
}

int UserResetCode(const config::Settings& settings, const UserOptions& options) {
  return WithAccounts(
      settings, options, [&](auth::Accounts& accounts, const store::UsernameKey& key) -> Status {
        auto code = accounts.IssueResetCode(key, settings.password_reset_ttl_seconds);
        if (!code) return code.error();
        // The code alone on stdout, so a script can capture it; when it expires on stderr.
        std::cout << code->code << "\n";
        std::cerr << "valid until " << Rfc3339(code->expires_at) << ", once\n";
        return Ok{};
      });
}

}  // namespace gatehouse::cli
