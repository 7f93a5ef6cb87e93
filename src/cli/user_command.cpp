// gatehouse user add|list|remove|passwd: account administration on the configured store.
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/credentials.hpp"
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

// Applies the registration rules; prints the problem and returns false when one is found.
bool CheckNewPassword(const config::Settings& settings, const std::string& password) {
  const auto min_length = static_cast<std::size_t>(settings.password_min_length);
  if (auto problem = api::PasswordProblem(password, min_length); !problem.empty()) {
    Failure("password: " + problem);
    return false;
  }
  auto deny_list = auth::PasswordDenyList::Load(settings.password_deny_list);
  if (!deny_list) {
    Failure(deny_list.error().detail);
    return false;
  }
  if (deny_list->Contains(password)) {
    Failure("password: Too common, choose another");
    return false;
  }
  return true;
}

// Reads, checks and hashes a new password; nullopt (after printing why) when any step fails.
std::optional<std::string> NewPasswordHash(const config::Settings& settings, bool from_stdin) {
  auto password = ReadNewPassword(from_stdin);
  if (!password) {
    Failure("the two passwords differ, or none was given");
    return std::nullopt;
  }
  const bool acceptable = CheckNewPassword(settings, *password);
  auto hash =
      acceptable ? auth::HashPassword(*password) : Result<std::string>(ErrorCode::kBadRequest);
  auth::Wipe(*password);
  if (!acceptable) return std::nullopt;
  if (!hash) {
    Failure(hash.error().detail);
    return std::nullopt;
  }
  return std::move(*hash);
}

}  // namespace

int UserAdd(const config::Settings& settings, const UserOptions& options) {
  if (auto problem = api::UsernameProblem(options.username);
      options.username.empty() || !problem.empty()) {
    return Failure("username: " + (problem.empty() ? "This field cannot be blank" : problem));
  }
  auto store = OpenStoreOrReport(settings);
  if (!store || !auth::InitCrypto()) return 1;
  auto hash = NewPasswordHash(settings, options.password_stdin);
  if (!hash) return 1;
  Status created = store->CreateUser({options.username, *hash, UnixNow()});
  if (!created && created.error().code == ErrorCode::kConflict) {
    return Failure("user " + options.username + " already exists");
  }
  if (!created) return Failure(created.error().detail);
  std::cout << "created user " << options.username << "\n";
  return 0;
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
    after = store::UsernameKey(page->back().username);
  }
  if (options.json) std::cout << listed.dump() << "\n";
  return 0;
}

int UserRemove(const config::Settings& settings, const UserOptions& options) {
  auto store = OpenStoreOrReport(settings);
  if (!store) return 1;
  // Every token of the account is revoked with it (those of this second by their session);
  // running servers learn of it from the revocation feed within a second.
  auto removed = store->RemoveUser(options.username, UnixNow());
  if (!removed && removed.error().code == ErrorCode::kNotFound) {
    return Failure("no user " + options.username);
  }
  if (!removed) return Failure(removed.error().detail);
  std::cout << "removed user " << options.username << " and revoked its tokens\n";
  return 0;
}

int UserPasswd(const config::Settings& settings, const UserOptions& options) {
  auto store = OpenStoreOrReport(settings);
  if (!store || !auth::InitCrypto()) return 1;
  auto user = store->FindUser(options.username);
  if (!user) return Failure(user.error().detail);
  if (!*user) return Failure("no user " + options.username);
  auto hash = NewPasswordHash(settings, options.password_stdin);
  if (!hash) return 1;
  // As with POST /password: the new hash and the revocation of every token are one
  // transaction.
  if (auto changed = store->ChangePassword(options.username, *hash, UnixNow()); !changed) {
    return Failure(changed.error().detail);
  }
  std::cout << "changed the password of " << (*user)->username << " and revoked its tokens\n";
  return 0;
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
