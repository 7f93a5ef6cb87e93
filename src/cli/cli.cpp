#include "cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>

#include "auth/secret_file.hpp"
#include "cli/commands.hpp"
#include "cli/serve.hpp"
#include "obs/logging.hpp"
#include "store/store.hpp"

namespace gatehouse::cli {
namespace {

constexpr int kUsageError = 2;

int UsageFailure(const std::string& line) {
  std::fprintf(stderr, "gatehouse: %s\n", line.c_str());
  return kUsageError;
}

// Every setting is a flag named after it, accepted by every subcommand (they fall through to
// the top level); flags win over environment and file.
void AddSettingFlags(CLI::App& app, config::RawSettings& flags) {
  for (const auto& spec : config::AllSettings()) {
    app.add_option_function<std::string>(
        "--" + config::FlagName(spec.name),
        [&flags, name = std::string(spec.name)](const std::string& value) { flags[name] = value; },
        std::string(spec.help) + " (default " + spec.default_text + ", env " +
            config::EnvName(spec.name) + ")");
  }
}

CLI::App* AddCommand(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* command = parent.add_subcommand(name, help);
  command->fallthrough();
  return command;
}

// A config file that sets a secret (jwt.secret, introspection.secret) must be private to its
// owner, like the jwt-secret file (API.md §8).
Status CheckConfigFileMode(const std::string& path, const config::RawSettings& file) {
  const bool holds_secret = std::any_of(file.begin(), file.end(), [](const auto& entry) {
    const std::string& name = entry.first;
    return name == "secret" ||
           (name.size() > 7 && name.compare(name.size() - 7, 7, ".secret") == 0);
  });
  if (!holds_secret) return Ok{};
  return auth::CheckPrivateFile(path);
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"gatehouse: a self-hosted authentication token service", "gatehouse"};
  std::string config_file;
  app.add_option("--config", config_file, "TOML configuration file");
  config::RawSettings flags;
  AddSettingFlags(app, flags);
  app.require_subcommand(0, 1);

  // The chosen command runs after the settings are resolved.
  std::function<int(const config::Settings&)> command;
  UserOptions user;
  std::string flask_file;
  AddCommand(app, "serve", "Run the HTTP server (the default command)");
  AddCommand(app, "version", "Print the version")->callback([] {
    std::printf("gatehouse %s\n", GATEHOUSE_VERSION);
    throw CLI::Success();  // done: no settings needed
  });
  auto* users = AddCommand(app, "user", "Manage accounts on the configured store");
  users->require_subcommand(1);
  auto* add = AddCommand(*users, "add", "Create an account (password asked, or read from stdin)");
  auto* list = AddCommand(*users, "list", "List accounts: username and creation time");
  auto* remove = AddCommand(*users, "remove", "Delete an account and revoke all its tokens");
  auto* passwd = AddCommand(*users, "passwd", "Set a new password and revoke all tokens");
  for (auto* sub : {add, remove, passwd}) {
    sub->add_option("username", user.username, "The account")->required();
  }
  for (auto* sub : {add, passwd}) {
    sub->add_flag("--password-stdin", user.password_stdin, "Read the password from stdin");
  }
  list->add_flag("--json", user.json, "Print a JSON array");
  add->callback([&] { command = [&](const auto& s) { return UserAdd(s, user); }; });
  list->callback([&] { command = [&](const auto& s) { return UserList(s, user); }; });
  remove->callback([&] { command = [&](const auto& s) { return UserRemove(s, user); }; });
  passwd->callback([&] { command = [&](const auto& s) { return UserPasswd(s, user); }; });
  auto* import = AddCommand(app, "import-flask",
                            "Copy users and revoked tokens from the Flask "
                            "service's SQLite database (idempotent)");
  import->add_option("file", flask_file, "The Flask service's SQLite file")->required();
  import->callback([&] { command = [&](const auto& s) { return ImportFlask(s, flask_file);
};
}  // namespace gatehouse::cli
);

auto* keys = AddCommand(app, "keys", "Manage signing keys (EdDSA, ES256, RS256)");
keys->require_subcommand(1);
AddCommand(*keys, "rotate", "Create a new signing key; older keys verify until their tokens expire")
    ->callback([&] { command = [](const auto& s) { return KeysRotate(s); }; });

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

config::RawSettings file;
if (!config_file.empty()) {
  auto read = config::ReadTomlFile(config_file);
  if (!read) return UsageFailure(read.error().detail);
  file = std::move(*read);
  if (Status private_file = CheckConfigFileMode(config_file, file); !private_file) {
    return UsageFailure(private_file.error().detail);
  }
}
auto settings = config::Resolve(file, config::ReadEnvironment(), flags);
if (!settings) return UsageFailure(settings.error().detail);
// A malformed URL is a bad setting (exit 2), not a database that is down.
if (Status url = store::CheckDatabaseUrl(settings->database); !url) {
  return UsageFailure("setting database: " + url.error().detail);
}
obs::InitLogging();
return command ? command(*settings) : Serve(*settings);
}

}  // namespace gatehouse::cli
