// What the declaration of settings shows people: --help and docs/settings.md.
#include "config/settings_doc.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace gatehouse::config {
namespace {

const SettingSpec& Spec(const std::string& name) {
  for (const SettingSpec& spec : AllSettings()) {
    if (spec.name == name) return spec;
  }
  throw std::out_of_range(name);
}

TEST(SettingsDoc, DocsSettingsMdIsWhatTheDeclarationGenerates) {
  const std::string path = std::string(GATEHOUSE_SOURCE_DIR) + "/docs/settings.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_EQ(committed.str(), SettingsMarkdown())
      << "docs/settings.md differs from src/config/setting_table.cpp: regenerate it with "
         "`build/dev/gatehouse settings --markdown > docs/settings.md`";
}

TEST(SettingsDoc, EverySettingHasOneTableRowOfFiveCells) {
  const std::string markdown = SettingsMarkdown();
  for (const SettingSpec& spec : AllSettings()) {
    const std::string start = "| `" + spec.name + "` |";
    const auto at = markdown.find(start);
    ASSERT_NE(at, std::string::npos) << spec.name;
    const std::string row = markdown.substr(at, markdown.find('\n', at) - at);
    EXPECT_EQ(std::count(row.begin(), row.end(), '|'), 6) << row;
  }
}

TEST(SettingsDoc, TheOperatorsMissingSettingsAreInTheTable) {
  const std::string markdown = SettingsMarkdown();
  for (const char* name : {"jwt.algorithm", "jwt.issuer", "jwt.audience", "jwt.private_key_file",
                           "introspection.secret"}) {
    EXPECT_NE(markdown.find("| `" + std::string(name) + "` |"), std::string::npos) << name;
  }
}

TEST(SettingsDoc, RowNamesFlagEnvironmentAndTomlKey) {
  const std::string markdown = SettingsMarkdown();
  EXPECT_NE(markdown.find("| `jwt.access_ttl` | duration, ≥ 1s | `30m` | `--jwt-access-ttl` / "
                          "`GATEHOUSE_JWT_ACCESS_TTL` / `[jwt] access_ttl` |"),
            std::string::npos);
  EXPECT_NE(markdown.find("| `limits.header_bytes` | bytes, 1024–65536 | `8192` |"),
            std::string::npos);
}

TEST(HelpType, NamesTheValueNotText) {
  EXPECT_EQ(HelpType(Spec("log.requests")), "BOOLEAN");
  EXPECT_EQ(HelpType(Spec("jwt.access_ttl")), "DURATION");
  EXPECT_EQ(HelpType(Spec("limits.idle_timeout")), "DURATION");
  EXPECT_EQ(HelpType(Spec("threads")), "INT");
  EXPECT_EQ(HelpType(Spec("limits.body_bytes")), "BYTES");
  EXPECT_EQ(HelpType(Spec("data_dir")), "PATH");
  EXPECT_EQ(HelpType(Spec("jwt.private_key_file")), "PATH");
  EXPECT_EQ(HelpType(Spec("listen")), "HOST:PORT");
  EXPECT_EQ(HelpType(Spec("rate_limit.login_per_user")), "RATE");
  EXPECT_EQ(HelpType(Spec("jwt.algorithm")), "HS256|EdDSA|ES256|RS256");
  EXPECT_EQ(HelpType(Spec("jwt.secret")), "SECRET");
}

TEST(HelpText, ShowsTheDefaultAndTheEnvironmentVariable) {
  EXPECT_EQ(HelpText(Spec("jwt.access_ttl")),
            "lifetime of access tokens (default 30m, env GATEHOUSE_JWT_ACCESS_TTL)");
  EXPECT_EQ(HelpText(Spec("jwt.issuer")),
            "iss claim written and required (default none, env GATEHOUSE_JWT_ISSUER)");
}

TEST(HelpText, NeverShowsASecretsDefault) {
  for (const SettingSpec& spec : AllSettings()) {
    if (spec.kind.type != SettingType::kSecret) continue;
    const std::string text = HelpText(spec);
    EXPECT_EQ(text.find("default"), std::string::npos) << text;
    EXPECT_NE(text.find("(env " + EnvName(spec.name) + ")"), std::string::npos) << text;
  }
}

TEST(HelpText, SecretsAreTheFiveSecretSettings) {
  int secrets = 0;
  for (const SettingSpec& spec : AllSettings()) secrets += spec.kind.type == SettingType::kSecret;
  EXPECT_EQ(Spec("jwt.secret").kind.type, SettingType::kSecret);
  EXPECT_EQ(Spec("introspection.secret").kind.type, SettingType::kSecret);
  EXPECT_EQ(Spec("admin.secret").kind.type, SettingType::kSecret);
  EXPECT_EQ(Spec("webhooks.secret").kind.type, SettingType::kSecret);
  EXPECT_EQ(Spec("revocations.secret").kind.type, SettingType::kSecret);
  EXPECT_EQ(secrets, 5);
}

TEST(TomlKey, IsTheLastPartInTheTableOfTheRest) {
  EXPECT_EQ(TomlKey("jwt.access_ttl"), "[jwt] access_ttl");
  EXPECT_EQ(TomlKey("listen"), "listen");
}

TEST(Settings, ADefaultConstructedSettingsHoldsEveryDeclaredDefault) {
  const Settings defaults;
  EXPECT_EQ(defaults.listen_host, "127.0.0.1");
  EXPECT_EQ(defaults.listen_port, 5000);
  EXPECT_EQ(defaults.body_bytes, 16384u);
  EXPECT_EQ(defaults.header_bytes, 8192u);
  EXPECT_EQ(defaults.jwt_algorithm, JwsAlgorithm::kHS256);
  EXPECT_EQ(defaults.login_per_user.count, 10);
  EXPECT_EQ(defaults.login_per_user.period_seconds, 900);
  EXPECT_FALSE(defaults.log_requests);
}

}  // namespace
}  // namespace gatehouse::config
