// gatehouse user add|list|remove|passwd: account administration on the configured store.
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "auth/accounts.hpp"
#include "auth/deny_list.hpp"
#include "auth/passwords.hpp"
#include "cli/commands.hpp"
#include "util/clock.hpp"

namespace gatehouse::cli {
namespace {

constexpr int kListPage = 1000;

std::string ReadLineWithoutEcho(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string line;
  std::getline(std::cin, line);
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::cerr << "\n";
  return line;
}

// From a terminal: asked twice without echo. Otherwise (a script, --password-stdin): the
// first line of stdin, so the password never appears in argv or the shell history.
std::optional<std::string> ReadNewPassword(bool from_stdin) {
  if (from_stdin || !isatty(STDIN_FILENO)) {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  std::string first = ReadLineWithoutEcho("New password: ");
  std::string second = ReadLineWithoutEcho("Repeat it: ");
  if (first != second) return std::nullopt;
  auth::Wipe(second);
  return first;
}

// The configured password deny list, read from its file here since no server has loaded it.
// nullopt (after printing why) when the file cannot be read.
std::optional<auth::PasswordDenyList> LoadDenyList(const config::Settings& settings) {
  auto deny_list = auth::PasswordDenyList::Load(settings.password_deny_list);
  if (!deny_list) {
    Failure(deny_list.error().detail);
    return std::nullopt;
  }
  return std::move(*deny_list);
}

// Reads a new password and hands it to `use` with the account module of this configuration
// (rules, no live tokens); wipes the password afterwards. 1 (after printing why) when reading
// or the deny list fails, else what `use` returned.
template <typename Use>
int WithNewPassword(const config::Settings& settings, store::Store& store,
                    const UserOptions& options, Use use) {
  auto password = ReadNewPassword(options.password_stdin);
  if (!password) return Failure("the two passwords differ, or none was given");
  auto deny_list = LoadDenyList(settings);
  int status = 1;
  if (deny_list) {
    auth::Accounts accounts(
        store, {static_cast<std::size_t>(settings.password_min_length), &*deny_list}, std::nullopt);
    status = use(accounts, *password);
  }
  auth::Wipe(*password);
  return status;
}

}  // namespace

int UserAdd(const config::Settings& settings, const UserOptions& options) {
  Status valid = auth::RequireField("username", options.username);
  if (valid) valid = auth::CheckNewUsername(options.username);
  if (!valid) return Failure(valid.error().detail);
  auto store = OpenStoreOrReport(settings);
  if (!store || !auth::InitCrypto()) return 1;
  return WithNewPassword(
      settings, *store, options, [&](auth::Accounts& accounts, const std::string& password) {
        // The username passed its rules above, before the store opened.
        Status rules = auth::CheckNewPassword("password", password, accounts.rules());
        if (!rules) return Failure(rules.error().detail);
        auto created = accounts.Create(auth::Credentials(options.username, password),
                                       store::UsernameKey(options.username));
        if (!created && created.error().code == ErrorCode::kUsernameTaken) {
          return Failure("user " + options.username + " already exists");
        }
        if (!created) return Failure(created.error().detail);
        std::cout << "created user " << options.username << "\n";
        return 0;
      });
}

int UserList(const config::Settings& settings, const UserOptions& options) {
  auto store = OpenStoreOrReport(settings);
  if (!store) return 1;
  nlohmann::json listed = nlohmann::json::array();
  std::string after;
  for (;;) {
    auto page = store->ListUsers(after, kListPage);
    if (!page) return Failure(page.error().detail);
    for (const auto& user : *page) {
      if (options.json) {
        listed.push_back({{"username", user.username}, {"created_at", Rfc3339(user.created_at)}});
      } else {
        std::cout << user.username << "\t" << Rfc3339(user.created_at) << "\n";
      }
    }
    if (page->size() < static_cast<std::size_t>(kListPage)) break;
    after = store::UsernameKey(page->back().username).str();
  }
  if (options.json) std::cout << listed.dump() << "\n";
  return 0;
}

int UserRemove(const config::Settings& settings, const UserOptions& options) {
  auto store = OpenStoreOrReport(settings);
  if (!store) return 1;
  // Every token of the account is revoked with it (those of this second by their session);
  // running servers learn of it from the revocation feed within a second.
  Status removed =
      auth::Accounts(*store, {}, std::nullopt).Remove(store::UsernameKey(options.username));
  if (!removed && removed.error().code == ErrorCode::kNotFound) {
    return Failure("no user " + options.username);
  }
  if (!removed) return Failure(removed.error().detail);
  std::cout << "removed user " << options.username << " and revoked its tokens\n";
  return 0;
}

int SessionsEndAll(const config::Settings& settings) {
  auto store = OpenStoreOrReport(settings);
  if (!store) return 1;
  // Every session was last used before the end of time: ending the "idle" ones ends them all.
  auto ended = store->EndIdleSessions(std::numeric_limits<int64_t>::max());
  if (!ended) return Failure(ended.error().detail);
  std::cout << "ended " << ended->size() << " sessions\n";
  return 0;
}

int UserPasswd(const config::Settings& settings, const UserOptions& options) {
  auto store = OpenStoreOrReport(settings);
  if (!store || !auth::InitCrypto()) return 1;
  const store::UsernameKey key(options.username);
  auto user = store->FindUser(key);
  if (!user) return Failure(user.error().detail);
  if (!*user) return Failure("no user " + options.username);
  return WithNewPassword(
      settings, *store, options, [&](auth::Accounts& accounts, const std::string& password) {
        // As with POST /password: the new hash and the revocation of every token are one
        // transaction.
        if (Status changed = accounts.SetPassword(key, password); !changed) {
          return Failure(changed.error().detail);
        }
        std::cout << "changed the password of " << (*user)->username << " and revoked its tokens\n";
        return 0;
      });
}

std::unique_ptr<store::Store> OpenStoreOrReport(const config::Settings& settings) {
  if (::mkdir(settings.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    Failure("data_dir " + settings.data_dir + ": " + std::strerror(errno));
    return nullptr;
  }
  auto store = store::OpenStore(settings.database, {settings.database_pool_size});
  if (!store) {
    Failure(store.error().detail);
    return nullptr;
  }
  return std::move(*store);
}

int Failure(const std::string& line) {
  std::cerr << "gatehouse: " << line << "\n";
  return 1;
}

}  // namespace gatehouse::cli
