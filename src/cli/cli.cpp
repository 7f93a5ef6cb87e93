#include "cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/serve.hpp"
#include "obs/logging.hpp"

namespace gatehouse::cli {
namespace {

constexpr int kUsageError = 2;

int Fail(const std::string& line) {
  std::fprintf(stderr, "gatehouse: %s\n", line.c_str());
  return kUsageError;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"gatehouse: a self-hosted authentication token service", "gatehouse"};
  app.set_help_all_flag("--help-all", "Show help for every command");
  std::string config_file;
  app.add_option("--config", config_file, "TOML configuration file");

  // Every setting is a flag named after it; flags win over environment and file.
  config::RawSettings flags;
  for (const auto& spec : config::AllSettings()) {
    app.add_option_function<std::string>(
        "--" + config::FlagName(spec.name),
        [&flags, name = std::string(spec.name)](const std::string& value) { flags[name] = value; },
        std::string(spec.help) + " (default " + spec.default_text + ", env " +
            config::EnvName(spec.name) + ")");
  }
  auto* serve = app.add_subcommand("serve", "Run the HTTP server (the default command)");
  serve->fallthrough();
  auto* version = app.add_subcommand("version", "Print the version");
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(e.what());
  }

  if (version->parsed()) {
    std::printf("gatehouse %s\n", GATEHOUSE_VERSION);
    return 0;
  }

  config::RawSettings file;
  if (!config_file.empty()) {
    auto read = config::ReadTomlFile(config_file);
    if (!read) return Fail(read.error().detail);
    file = std::move(*read);
  }
  auto settings = config::Resolve(file, config::ReadEnvironment(), flags);
  if (!settings) return Fail(settings.error().detail);
  obs::InitLogging();
  return Serve(*settings);
}

}  // namespace gatehouse::cli
