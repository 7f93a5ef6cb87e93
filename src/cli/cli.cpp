#include "cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>

#include "auth/secret_file.hpp"
#include "cli/commands.hpp"
#include "cli/serve.hpp"
#include "config/settings_doc.hpp"
#include "obs/logging.hpp"
#include "store/store.hpp"

namespace gatehouse::cli {
namespace {

constexpr int kUsageError = 2;

// Prints "gatehouse: <line>" to stderr and returns `exit_status`.
int UsageFailure(const std::string& line, int exit_status = kUsageError) {
  std::fprintf(stderr, "gatehouse: %s\n", line.c_str());
  return exit_status;
}

// The subcommand chosen on the command line; it runs once the settings are resolved. None
// chosen: serve.
using Command = std::function<int(const config::Settings&)>;

// What the subcommands' own arguments are parsed into.
struct CommandArguments {
  UserOptions user;
  std::string flask_file;
  bool markdown = false;
  bool rotate_now = false;  // `keys rotate --now`
};

// Every setting is a flag named after it, accepted by every subcommand (they fall through to
// the top level); flags win over environment and file.
void AddSettingFlags(CLI::App& app, config::RawSettings& flags) {
  for (const auto& spec : config::AllSettings()) {
    app.add_option_function<std::string>(
           "--" + config::FlagName(spec.name),
           [&flags, name = spec.name](const std::string& value) { flags[name] = value; },
           config::HelpText(spec))
        ->type_name(config::HelpType(spec));
  }
}

CLI::App* AddCommand(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* command = parent.add_subcommand(name, help);
  command->fallthrough();
  return command;
}

// Prints `text` and ends parsing: Main returns 0 without reading any setting.
void PrintAndStop(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  throw CLI::Success();
}

void AddUserCommands(CLI::App& app, Command& command, UserOptions& user) {
  auto* users = AddCommand(app, "user", "Manage accounts on the configured store");
  users->require_subcommand(1);
  auto* add = AddCommand(*users, "add", "Create an account (password asked, or read from stdin)");
  auto* list = AddCommand(*users, "list", "List accounts: username and creation time");
  auto* remove = AddCommand(*users, "remove", "Delete an account and revoke all its tokens");
  auto* passwd = AddCommand(*users, "passwd", "Set a new password and revoke all tokens");
  auto* disable = AddCommand(*users, "disable", "Refuse logins and revoke all tokens");
  auto* enable = AddCommand(*users, "enable", "Allow logins again");
  auto* claims = AddCommand(*users, "claims", "Show, or set (a JSON object), access-token claims");
  auto* reset = AddCommand(*users, "reset-code", "Print a single-use password-reset code");
  for (auto* sub : {add, remove, passwd, disable, enable, claims, reset}) {
    sub->add_option("username", user.username, "The account")->required();
  }
  for (auto* sub : {add, passwd}) {
    sub->add_flag("--password-stdin", user.password_stdin, "Read the password from stdin");
  }
  // After the username: positionals fill in the order they are declared.
  claims->add_option("claims", user.claims, "The new claims, e.g. '{\"roles\":[\"admin\"]}'");
  list->add_flag("--json", user.json, "Print a JSON array");
  add->callback([&] { command = [&](const auto& s) { return UserAdd(s, user); }; });
  list->callback([&] { command = [&](const auto& s) { return UserList(s, user); }; });
  remove->callback([&] { command = [&](const auto& s) { return UserRemove(s, user); }; });
  passwd->callback([&] { command = [&](const auto& s) { return UserPasswd(s, user); }; });
  disable->callback(
      [&] { command = [&](const auto& s) { return UserSetDisabled(s, user, true); }; });
  enable->callback(
      [&] { command = [&](const auto& s) { return UserSetDisabled(s, user, false); }; });
  claims->callback([&] { command = [&](const auto& s) { return UserClaims(s, user); }; });
  reset->callback([&] { command = [&](const auto& s) { return UserResetCode(s, user); }; });
  auto* sessions = AddCommand(app, "sessions", "Manage sessions on the configured store");
  sessions->require_subcommand(1);
  AddCommand(*sessions, "end-all",
             "End every session (after restoring a backup: no used refresh token comes back)")
      ->callback([&] { command = [](const auto& s) { return SessionsEndAll(s); }; });
}

// Commands that print and end before any setting is read.
void AddInfoCommands(CLI::App& app, CommandArguments& arguments) {
  AddCommand(app, "version", "Print the version")->callback([] {
    PrintAndStop("gatehouse " + std::string(GATEHOUSE_VERSION) + "\n");
  });
  auto* settings = AddCommand(app, "settings", "Describe every setting");
  settings->add_flag("--markdown", arguments.markdown, "As the table of docs/settings.md")
      ->required();
  settings->callback([] { PrintAndStop(config::SettingsMarkdown()); });
}

void AddKeysAndImportCommands(CLI::App& app, Command& command, CommandArguments& arguments) {
  auto* import = AddCommand(app, "import-flask",
                            "Copy users and revoked tokens from the Flask "
                            "service's SQLite database (idempotent)");
  import->add_option("file", arguments.flask_file, "The Flask service's SQLite file")
      ->required()
      ->type_name("PATH");
  import->callback([&] {
    command = [&](const auto& s) { return ImportFlask(s, arguments.flask_file);
};
}  // namespace
);
auto* keys = AddCommand(app, "keys", "Manage signing keys");
keys->require_subcommand(1);
auto* rotate = AddCommand(*keys, "rotate",
                          "Publish a new signing key; it signs after keys.publication_delay, "
                          "older keys verify until their tokens expire");
rotate->add_flag("--now", arguments.rotate_now,
                 "Sign with the new key at once (a leaked key): resource servers holding a "
                 "cached key set refuse new tokens until they fetch it again");
rotate->callback([&] {
  command = [&](const auto& s) { return KeysRotate(s, arguments.rotate_now); };
});
}  // namespace gatehouse::cli

// The exit status when parsing ends the run (help, version, bad usage); nullopt to go on.
std::optional<int> Parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {  // before Success, which it derives from
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success&) {
    return 0;
  } catch (const CLI::ParseError& e) {
    return UsageFailure(e.what());
  }
  return std::nullopt;
}

// A config file that sets a secret (jwt.secret, introspection.secret) must be private to its
// owner, like the jwt-secret file (API.md §8).
StartupStatus CheckConfigFileMode(const std::string& path, const config::RawSettings& file) {
  const bool holds_secret = std::any_of(file.begin(), file.end(), [](const auto& entry) {
    const std::string& name = entry.first;
    return name == "secret" ||
           (name.size() > 7 && name.compare(name.size() - 7, 7, ".secret") == 0);
  });
  if (!holds_secret) return Ok{};
  // The file was just read: whatever fails here is the config file's (exit 2).
  if (StartupStatus private_file = auth::CheckPrivateFile(path); !private_file) {
    return StartupError{StartupErrorCode::kBadConfigFile, private_file.error().detail};
  }
  return Ok{};
}

// The settings from the config file (when given), the environment and the flags.
StartupResult<config::Settings> LoadSettings(const std::string& config_file,
                                             const config::RawSettings& flags) {
  config::RawSettings file;
  if (!config_file.empty()) {
    auto read = config::ReadTomlFile(config_file);
    if (!read) return read.error();
    file = std::move(*read);
    if (StartupStatus private_file = CheckConfigFileMode(config_file, file); !private_file) {
      return private_file.error();
    }
  }
  auto settings = config::Resolve(file, config::ReadEnvironment(), flags);
  if (!settings) return settings.error();
  // A malformed URL is a bad setting (exit 2), not a database that is down.
  if (StartupStatus url = store::CheckDatabaseUrl(settings->database); !url) {
    return StartupError{url.error().code, "setting database: " + url.error().detail};
  }
  return settings;
}

}  // namespace

int ExitStatus(const StartupError& error) {
  return error.code == StartupErrorCode::kEnvironment ? 1 : kUsageError;
}

int Main(int argc, char** argv) {
  CLI::App app{"gatehouse: a self-hosted authentication token service", "gatehouse"};
  std::string config_file;
  app.add_option("--config", config_file, "TOML configuration file")->type_name("PATH");
  config::RawSettings flags;
  AddSettingFlags(app, flags);
  app.require_subcommand(0, 1);
  Command command;
  CommandArguments arguments;
  AddCommand(app, "serve", "Run the HTTP server (the default command)");
  AddInfoCommands(app, arguments);
  AddUserCommands(app, command, arguments.user);
  AddKeysAndImportCommands(app, command, arguments);
  if (const std::optional<int> ended = Parse(app, argc, argv)) return *ended;

  const auto settings = LoadSettings(config_file, flags);
  if (!settings) return UsageFailure(settings.error().detail, ExitStatus(settings.error()));
  obs::InitLogging();
  return command ? command(*settings) : Serve(*settings);
}

}  // namespace gatehouse::cli
