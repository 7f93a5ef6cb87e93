#include "config/settings.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

namespace gatehouse::config {
namespace {

constexpr const char* kGoodSecret = "0123456789abcdef0123456789abcdef";  // exactly 32 bytes

// ---------------------------------------------------------------------------------------------
// ParseDuration

// The parsed seconds, or -1 when ParseDuration refuses the text.
int64_t Duration(const std::string& text) {
  int64_t seconds = -1;
  if (!ParseDuration(text, seconds)) return -1;
  return seconds;
}

TEST(ParseDuration, PlainNumberIsSeconds) { EXPECT_EQ(Duration("90"), 90); }
TEST(ParseDuration, SecondsSuffix) { EXPECT_EQ(Duration("90s"), 90); }
TEST(ParseDuration, MinutesSuffix) { EXPECT_EQ(Duration("15m"), 900); }
TEST(ParseDuration, HoursSuffix) { EXPECT_EQ(Duration("2h"), 7200); }
TEST(ParseDuration, DaysSuffix) { EXPECT_EQ(Duration("30d"), 2592000); }
TEST(ParseDuration, ZeroIsZero) { EXPECT_EQ(Duration("0"), 0); }
TEST(ParseDuration, EmptyIsRefused) { EXPECT_EQ(Duration(""), -1); }
TEST(ParseDuration, SuffixWithoutNumberIsRefused) { EXPECT_EQ(Duration("m"), -1); }
TEST(ParseDuration, NegativeIsRefused) { EXPECT_EQ(Duration("-5"), -1); }
TEST(ParseDuration, FractionIsRefused) { EXPECT_EQ(Duration("1.5m"), -1); }
TEST(ParseDuration, UnknownSuffixIsRefused) { EXPECT_EQ(Duration("10y"), -1); }
TEST(ParseDuration, UpperCaseSuffixIsRefused) { EXPECT_EQ(Duration("15M"), -1); }
TEST(ParseDuration, TwoSuffixesAreRefused) { EXPECT_EQ(Duration("15ms"), -1); }
TEST(ParseDuration, SpaceIsRefused) { EXPECT_EQ(Duration("15 m"), -1); }
TEST(ParseDuration, LeadingPlusIsRefused) { EXPECT_EQ(Duration("+5"), -1); }
TEST(ParseDuration, TenYearsIsTheMaximum) { EXPECT_EQ(Duration("3650d"), 315360000); }
TEST(ParseDuration, JustOverTenYearsIsRefused) { EXPECT_EQ(Duration("3651d"), -1); }
TEST(ParseDuration, JustOverTenYearsInSecondsIsRefused) { EXPECT_EQ(Duration("315360001"), -1); }

TEST(ParseDuration, HugeNumberThatWouldOverflowIsRefused) {
  EXPECT_EQ(Duration("99999999999999999999"), -1);
  EXPECT_EQ(Duration("9223372036854775807s"), -1);
  EXPECT_EQ(Duration("999999999999999999d"), -1);
  EXPECT_EQ(Duration("106751991167300d"), -1);  // * 86400 would overflow int64
}

TEST(ParseDuration, RefusalLeavesOutputUntouched) {
  int64_t seconds = 42;
  EXPECT_FALSE(ParseDuration("bogus", seconds));
  EXPECT_EQ(seconds, 42);
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(FlagName, DotsAndUnderscoresBecomeDashes) {
  EXPECT_EQ(FlagName("jwt.access_ttl"), "jwt-access-ttl");
  EXPECT_EQ(FlagName("data_dir"), "data-dir");
  EXPECT_EQ(FlagName("listen"), "listen");
  EXPECT_EQ(FlagName("limits.max_connections"), "limits-max-connections");
}

TEST(EnvName, PrefixedUpperCasedWithDotsAsUnderscores) {
  EXPECT_EQ(EnvName("jwt.access_ttl"), "GATEHOUSE_JWT_ACCESS_TTL");
  EXPECT_EQ(EnvName("data_dir"), "GATEHOUSE_DATA_DIR");
  EXPECT_EQ(EnvName("listen"), "GATEHOUSE_LISTEN");
  EXPECT_EQ(EnvName("limits.max_connections"), "GATEHOUSE_LIMITS_MAX_CONNECTIONS");
}

TEST(AllSettings, EveryListedSettingIsKnownToResolve) {
  // Whatever the value, a listed setting is never refused as "unknown setting".
  ASSERT_FALSE(AllSettings().empty());
  for (const SettingSpec& spec : AllSettings()) {
    const StartupResult<Settings> settings = Resolve({}, {}, {{spec.name, "1"}});
    if (!settings.ok()) {
      EXPECT_EQ(settings.error().detail.find("unknown setting"), std::string::npos)
          << spec.name << ": " << settings.error().detail;
    }
  }
}

TEST(AllSettings, ListsTheContractSettings) {
  std::set<std::string> names;
  for (const SettingSpec& spec : AllSettings()) names.insert(spec.name);
  for (const char* name : {"listen", "data_dir", "database", "jwt.secret", "jwt.access_ttl",
                           "jwt.refresh_ttl", "password.min_length", "threads", "hash_threads",
                           "limits.body_bytes", "limits.header_bytes", "limits.max_connections",
                           "limits.read_timeout", "limits.idle_timeout"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
}

// ---------------------------------------------------------------------------------------------
// Resolve: defaults

TEST(Resolve, DefaultsMatchTheContract) {
  const StartupResult<Settings> settings = Resolve({}, {}, {});
  ASSERT_TRUE(settings.ok()) << settings.error().detail;
  EXPECT_EQ(settings->listen_host, "127.0.0.1");
  EXPECT_EQ(settings->listen_port, 5000);
  EXPECT_EQ(settings->data_dir, "./gatehouse-data");
  EXPECT_EQ(settings->database, "sqlite://./gatehouse-data/gatehouse.db");
  EXPECT_EQ(settings->jwt_secret, "");
  EXPECT_EQ(settings->access_ttl_seconds, 1800);
  EXPECT_EQ(settings->refresh_ttl_seconds, 2592000);
  EXPECT_EQ(settings->password_min_length, 8);
  EXPECT_EQ(settings->body_bytes, 16384u);
  EXPECT_EQ(settings->header_bytes, 8192u);
  EXPECT_EQ(settings->max_connections, 10000);
  EXPECT_EQ(settings->read_timeout, std::chrono::seconds(10));
  EXPECT_EQ(settings->idle_timeout, std::chrono::seconds(60));
}

TEST(Resolve, ThreadDefaultsAreTheNumberOfCores) {
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const StartupResult<Settings> settings = Resolve({}, {}, {});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->threads, cores);
  EXPECT_EQ(settings->hash_threads, cores);
  EXPECT_EQ(settings->hash_queue, 64 * cores);
}

TEST(Resolve, HashQueueDefaultFollowsHashThreads) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"hash_threads", "3"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->hash_threads, 3);
  EXPECT_EQ(settings->hash_queue, 192);
}

TEST(Resolve, DatabaseDefaultFollowsDataDir) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"data_dir", "/var/lib/gh"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->data_dir, "/var/lib/gh");
  EXPECT_EQ(settings->database, "sqlite:///var/lib/gh/gatehouse.db");
}

TEST(Resolve, ExplicitDatabaseIsKept) {
  const StartupResult<Settings> settings =
      Resolve({}, {}, {{"data_dir", "/d"}, {"database", "sqlite:///elsewhere.db"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->database, "sqlite:///elsewhere.db");
}

// ---------------------------------------------------------------------------------------------
// Resolve: precedence

TEST(Resolve, FileOverridesDefault) {
  const StartupResult<Settings> settings = Resolve({{"jwt.access_ttl", "1m"}}, {}, {});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->access_ttl_seconds, 60);
}

TEST(Resolve, EnvOverridesFile) {
  const StartupResult<Settings> settings =
      Resolve({{"jwt.access_ttl", "1m"}}, {{"jwt.access_ttl", "2m"}}, {});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->access_ttl_seconds, 120);
}

TEST(Resolve, FlagsOverrideEnvAndFile) {
  const StartupResult<Settings> settings =
      Resolve({{"jwt.access_ttl", "1m"}}, {{"jwt.access_ttl", "2m"}}, {{"jwt.access_ttl", "3m"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->access_ttl_seconds, 180);
}

TEST(Resolve, FlagsOverrideFileWithoutEnv) {
  const StartupResult<Settings> settings =
      Resolve({{"jwt.access_ttl", "1m"}}, {}, {{"jwt.access_ttl", "3m"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->access_ttl_seconds, 180);
}

TEST(Resolve, SourcesMergePerSetting) {
  const StartupResult<Settings> settings =
      Resolve({{"jwt.access_ttl", "1m"}, {"listen", "0.0.0.0:7000"}}, {{"jwt.refresh_ttl", "2d"}},
              {{"password.min_length", "12"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->access_ttl_seconds, 60);
  EXPECT_EQ(settings->refresh_ttl_seconds, 172800);
  EXPECT_EQ(settings->password_min_length, 12);
  EXPECT_EQ(settings->listen_host, "0.0.0.0");
  EXPECT_EQ(settings->listen_port, 7000);
}

// ---------------------------------------------------------------------------------------------
// Resolve: individual settings

TEST(Resolve, ListenIpv6InBracketsIsParsed) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"listen", "[::1]:8080"}});
  ASSERT_TRUE(settings.ok()) << settings.error().detail;
  EXPECT_EQ(settings->listen_host, "::1");
  EXPECT_EQ(settings->listen_port, 8080);
}

TEST(Resolve, ListenHostnameIsParsed) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"listen", "localhost:65535"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->listen_host, "localhost");
  EXPECT_EQ(settings->listen_port, 65535);
}

TEST(Resolve, ListenWithoutPortIsRefused) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"listen", "localhost"}});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().detail.rfind("setting listen:", 0), 0u) << settings.error().detail;
}

TEST(Resolve, ListenWithoutHostIsRefused) {
  EXPECT_FALSE(Resolve({}, {}, {{"listen", ":5000"}}).ok());
}

TEST(Resolve, ListenPortZeroIsRefused) {
  EXPECT_FALSE(Resolve({}, {}, {{"listen", "127.0.0.1:0"}}).ok());
}

TEST(Resolve, ListenPortAbove65535IsRefused) {
  EXPECT_FALSE(Resolve({}, {}, {{"listen", "127.0.0.1:65536"}}).ok());
}

TEST(Resolve, ListenNonNumericPortIsRefused) {
  EXPECT_FALSE(Resolve({}, {}, {{"listen", "127.0.0.1:http"}}).ok());
}

TEST(Resolve, BadDurationNamesTheSetting) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"jwt.access_ttl", "banana"}});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().code, StartupErrorCode::kBadSetting);
  EXPECT_EQ(settings.error().detail.rfind("setting jwt.access_ttl:", 0), 0u)
      << settings.error().detail;
  EXPECT_EQ(settings.error().detail.find('\n'), std::string::npos);
}

TEST(Resolve, ZeroAccessTtlIsRefused) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"jwt.access_ttl", "0"}});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().detail.rfind("setting jwt.access_ttl:", 0), 0u);
}

TEST(Resolve, BadValueInEnvNamesTheSetting) {
  const StartupResult<Settings> settings = Resolve({}, {{"jwt.refresh_ttl", "forever"}}, {});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().detail.rfind("setting jwt.refresh_ttl:", 0), 0u)
      << settings.error().detail;
}

TEST(Resolve, UnknownSettingIsAnError) {
  const StartupResult<Settings> settings = Resolve({{"jwt.acces_ttl", "15m"}}, {}, {});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().code, StartupErrorCode::kBadSetting);
  EXPECT_EQ(settings.error().detail.rfind("setting jwt.acces_ttl:", 0), 0u)
      << settings.error().detail;
}

TEST(Resolve, SecretOfExactly32BytesIsAccepted) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"jwt.secret", kGoodSecret}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->jwt_secret, kGoodSecret);
}

TEST(Resolve, SecretShorterThan32BytesIsRefused) {
  const std::string secret = std::string(kGoodSecret).substr(0, 31);
  const StartupResult<Settings> settings = Resolve({}, {}, {{"jwt.secret", secret}});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().detail.rfind("setting jwt.secret:", 0), 0u) << settings.error().detail;
}

TEST(Resolve, RefusedSecretIsNeverEchoed) {
  const std::string secret = "Hunter2-TopSecret-Value";  // 23 bytes: too short
  const StartupResult<Settings> from_flag = Resolve({}, {}, {{"jwt.secret", secret}});
  const StartupResult<Settings> from_env = Resolve({}, {{"jwt.secret", secret}}, {});
  const StartupResult<Settings> from_file = Resolve({{"jwt.secret", secret}}, {}, {});
  for (const StartupResult<Settings>* result : {&from_flag, &from_env, &from_file}) {
    ASSERT_FALSE(result->ok());
    EXPECT_EQ(result->error().detail.find("Hunter2"), std::string::npos) << result->error().detail;
    EXPECT_EQ(result->error().detail.find("TopSecret"), std::string::npos)
        << result->error().detail;
  }
}

TEST(Resolve, PasswordMinLengthBounds) {
  EXPECT_TRUE(Resolve({}, {}, {{"password.min_length", "1"}}).ok());
  EXPECT_TRUE(Resolve({}, {}, {{"password.min_length", "1024"}}).ok());
  EXPECT_FALSE(Resolve({}, {}, {{"password.min_length", "0"}}).ok());
  EXPECT_FALSE(Resolve({}, {}, {{"password.min_length", "1025"}}).ok());
  EXPECT_FALSE(Resolve({}, {}, {{"password.min_length", "-1"}}).ok());
}

TEST(Resolve, BodyBytesBounds) {
  EXPECT_FALSE(Resolve({}, {}, {{"limits.body_bytes", "255"}}).ok());
  const StartupResult<Settings> settings = Resolve({}, {}, {{"limits.body_bytes", "256"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->body_bytes, 256u);
}

// API.md §8: 1024-65536, else the start is refused naming the setting.
TEST(Resolve, HeaderBytesBounds) {
  EXPECT_TRUE(Resolve({}, {}, {{"limits.header_bytes", "1024"}}).ok());
  EXPECT_TRUE(Resolve({}, {}, {{"limits.header_bytes", "65536"}}).ok());
  for (const char* bad : {"1023", "65537", "1048576", "0"}) {
    const StartupResult<Settings> settings = Resolve({}, {}, {{"limits.header_bytes", bad}});
    ASSERT_FALSE(settings.ok()) << bad;
    EXPECT_NE(settings.error().detail.find("limits.header_bytes"), std::string::npos)
        << settings.error().detail;
  }
}

TEST(Resolve, TimeoutsTakeDurations) {
  const StartupResult<Settings> settings =
      Resolve({}, {}, {{"limits.read_timeout", "1m"}, {"limits.idle_timeout", "2h"}});
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->read_timeout, std::chrono::seconds(60));
  EXPECT_EQ(settings->idle_timeout, std::chrono::seconds(7200));
}

TEST(Resolve, EmptyDataDirIsRefused) {
  const StartupResult<Settings> settings = Resolve({}, {}, {{"data_dir", ""}});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().detail.rfind("setting data_dir:", 0), 0u);
}

// ---------------------------------------------------------------------------------------------
// ReadTomlFile / ReadEnvironment

class TomlFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("gatehouse-settings-" + std::to_string(::getpid()) + "-" + info->name() + ".toml");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::string Write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_.string();
  }

  std::filesystem::path path_;
};

TEST_F(TomlFileTest, TablesAndTopLevelKeysBecomeDottedNames) {
  const StartupResult<RawSettings> raw =
      ReadTomlFile(Write("listen = \"0.0.0.0:6000\"\n[jwt]\naccess_ttl = \"15m\"\n"));
  ASSERT_TRUE(raw.ok()) << raw.error().detail;
  EXPECT_EQ(*raw, (RawSettings{{"jwt.access_ttl", "15m"}, {"listen", "0.0.0.0:6000"}}));
}

TEST_F(TomlFileTest, ValuesResolve) {
  const StartupResult<RawSettings> raw =
      ReadTomlFile(Write("listen = \"0.0.0.0:6000\"\n[jwt]\naccess_ttl = \"15m\"\n"));
  ASSERT_TRUE(raw.ok());
  const StartupResult<Settings> settings = Resolve(*raw, {}, {});
  ASSERT_TRUE(settings.ok()) << settings.error().detail;
  EXPECT_EQ(settings->access_ttl_seconds, 900);
  EXPECT_EQ(settings->listen_host, "0.0.0.0");
  EXPECT_EQ(settings->listen_port, 6000);
}

TEST_F(TomlFileTest, IntegerValuesBecomeText) {
  const StartupResult<RawSettings> raw =
      ReadTomlFile(Write("[limits]\nbody_bytes = 4096\n[jwt]\naccess_ttl = 900\n"));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, (RawSettings{{"jwt.access_ttl", "900"}, {"limits.body_bytes", "4096"}}));
}

TEST_F(TomlFileTest, BooleanValueFailsResolveNamingTheSetting) {
  const StartupResult<RawSettings> raw = ReadTomlFile(Write("[jwt]\naccess_ttl = true\n"));
  ASSERT_TRUE(raw.ok());
  const StartupResult<Settings> settings = Resolve(*raw, {}, {});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().detail.rfind("setting jwt.access_ttl:", 0), 0u)
      << settings.error().detail;
}

TEST_F(TomlFileTest, BooleanIsNotTakenAsTheNumberOne) {
  // `min_length = true` must not quietly become a one-byte minimum password length.
  const StartupResult<RawSettings> raw = ReadTomlFile(Write("[password]\nmin_length = true\n"));
  ASSERT_TRUE(raw.ok());
  const StartupResult<Settings> settings = Resolve(*raw, {}, {});
  EXPECT_FALSE(settings.ok()) << "resolved password.min_length = " << settings->password_min_length;
}

TEST_F(TomlFileTest, FractionalFloatValueFailsResolve) {
  const StartupResult<RawSettings> raw = ReadTomlFile(Write("[jwt]\naccess_ttl = 1.5\n"));
  ASSERT_TRUE(raw.ok());
  const StartupResult<Settings> settings = Resolve(*raw, {}, {});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().detail.rfind("setting jwt.access_ttl:", 0), 0u)
      << settings.error().detail;
}

TEST_F(TomlFileTest, EmptyFileGivesNoSettings) {
  const StartupResult<RawSettings> raw = ReadTomlFile(Write(""));
  ASSERT_TRUE(raw.ok());
  EXPECT_TRUE(raw->empty());
}

TEST_F(TomlFileTest, SyntaxErrorNamesTheFile) {
  const std::string path = Write("[jwt\naccess_ttl = \"15m\"\n");
  const StartupResult<RawSettings> raw = ReadTomlFile(path);
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.error().code, StartupErrorCode::kBadConfigFile);
  EXPECT_NE(raw.error().detail.find(path), std::string::npos) << raw.error().detail;
  EXPECT_EQ(raw.error().detail.find('\n'), std::string::npos) << raw.error().detail;
}

TEST_F(TomlFileTest, MissingFileIsAnErrorNamingTheFile) {
  const std::string path = path_.string() + ".missing";
  const StartupResult<RawSettings> raw = ReadTomlFile(path);
  ASSERT_FALSE(raw.ok());
  EXPECT_NE(raw.error().detail.find(path), std::string::npos) << raw.error().detail;
}

TEST(Resolve, PerUserRefreshAndRevocationLimitsDefaultToTheContract) {
  const StartupResult<Settings> settings = Resolve({}, {}, {});
  ASSERT_TRUE(settings.ok()) << settings.error().detail;
  EXPECT_EQ(settings->refresh_per_user.count, 120);
  EXPECT_EQ(settings->refresh_per_user.period_seconds, 60);
  EXPECT_EQ(settings->revocation_per_user.count, 60);
  EXPECT_EQ(settings->revocation_per_user.period_seconds, 60);
}

TEST(Resolve, PerUserLimitsComeFromEveryLayerAndZeroTurnsThemOff) {
  const StartupResult<Settings> settings = Resolve({{"rate_limit.refresh_per_user", "5/10s"}},
                                                   {{"rate_limit.revocation_per_user", "0"}}, {});
  ASSERT_TRUE(settings.ok()) << settings.error().detail;
  EXPECT_EQ(settings->refresh_per_user.count, 5);
  EXPECT_EQ(settings->refresh_per_user.period_seconds, 10);
  EXPECT_FALSE(settings->revocation_per_user.enabled());
}

TEST(Resolve, BadPerUserLimitNamesTheSetting) {
  for (const char* name : {"rate_limit.refresh_per_user", "rate_limit.revocation_per_user"}) {
    const StartupResult<Settings> settings = Resolve({}, {}, {{name, "lots"}});
    ASSERT_FALSE(settings.ok()) << name;
    EXPECT_NE(settings.error().detail.find(name), std::string::npos) << settings.error().detail;
  }
}

TEST(ReadEnvironment, ReadsKnownGatehouseVariables) {
  ASSERT_EQ(::setenv("GATEHOUSE_JWT_REFRESH_TTL", "7d", 1), 0);
  ASSERT_EQ(::setenv("GATEHOUSE_NOT_A_SETTING", "x", 1), 0);
  const RawSettings env = ReadEnvironment();
  ::unsetenv("GATEHOUSE_JWT_REFRESH_TTL");
  ::unsetenv("GATEHOUSE_NOT_A_SETTING");
  ASSERT_EQ(env.count("jwt.refresh_ttl"), 1u);
  EXPECT_EQ(env.at("jwt.refresh_ttl"), "7d");
  EXPECT_EQ(env.count("not_a_setting"), 0u);
  EXPECT_EQ(env.count("not.a.setting"), 0u);
}

}  // namespace
}  // namespace gatehouse::config
