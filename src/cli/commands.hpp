// The subcommands besides `serve`. Each returns the process exit status: 0 on success, 1 when
// the operation fails (one line on stderr says why), 2 for bad usage.
#pragma once

#include <memory>
#include <string>

#include "auth/keyring.hpp"
#include "auth/token_service.hpp"
#include "config/settings.hpp"
#include "store/store.hpp"
#include "util/startup_error.hpp"

namespace gatehouse::cli {

struct UserOptions {
  std::string username;
  bool password_stdin = false;  // read the password from stdin instead of prompting
  bool json = false;            // `user list --json`
  std::string claims;           // `user claims <username> [json]`: empty shows them
};

int UserAdd(const config::Settings& settings, const UserOptions& options);
int UserList(const config::Settings& settings, const UserOptions& options);
int UserRemove(const config::Settings& settings, const UserOptions& options);
int UserPasswd(const config::Settings& settings, const UserOptions& options);
// Disable (revoking every token) or enable; set or show claims; issue a reset code.
int UserSetDisabled(const config::Settings& settings, const UserOptions& options, bool disabled);
int UserClaims(const config::Settings& settings, const UserOptions& options);
int UserResetCode(const config::Settings& settings, const UserOptions& options);
// Ends every recorded session, as DELETE /sessions/{id} would each; running servers learn of
// it from the revocation feed.
int SessionsEndAll(const config::Settings& settings);
int ImportFlask(const config::Settings& settings, const std::string& flask_database);
// `now`: the new key signs at once instead of after keys.publication_delay. A jwt.algorithm set
// to another than the one kept is the change of algorithm: the new algorithm's first key, kept
// as the algorithm from now on; the old keys verify until their tokens have expired.
int KeysRotate(const config::Settings& settings, bool now);

// jwt.algorithm is kept with the keys (issue 15 item 4): without jwt.algorithm set, `settings`
// takes the one kept; the first start keeps the one it has. A jwt.algorithm set to another than
// the one kept is refused (kBadSetting, naming both and `keys rotate --jwt-algorithm`): a change
// is a staged rotation, never a start. Fails with kEnvironment when the record cannot be read.
StartupStatus RememberAlgorithm(config::Settings& settings, store::Store& store);

// The signing keys of the configured algorithm: the HS256 secret (generated on first use when
// unset) or the asymmetric keys (created on first use); in data_dir, or in `store` when it is
// shared by several instances.
// Fails with the secret or key file's error (kUnsafeSecretFile: exit 2), or kEnvironment.
StartupResult<std::shared_ptr<auth::Keyring>> OpenKeyring(const config::Settings& settings,
                                                          store::Store& store);
auth::TokenLifetimes TokenPolicyFor(const config::Settings& settings);

// Opens the configured store (creating data_dir when needed); prints why on failure.
std::unique_ptr<store::Store> OpenStoreOrReport(const config::Settings& settings);
// Prints "gatehouse: <line>" to stderr and returns 1.
int Failure(const std::string& line);
// The one mapping of a start-up error to the process's exit status: 2 when the operator must
// fix the configuration (a setting, the config file, a secret or key file), 1 otherwise.
int ExitStatus(const StartupError& error);

}  // namespace gatehouse::cli
