// The exact one-line refusal of every setting (API.md §7): the operator reads these lines, so
// moving where a setting is declared must not change a word of them.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "config/settings.hpp"

namespace gatehouse::config {
namespace {

struct Refusal {
  const char* name;
  const char* value;
  const char* line;
};

std::string RefusalLine(const std::string& name, const std::string& value) {
  const auto settings = Resolve({}, {}, {{name, value}});
  return settings.ok() ? "accepted" : settings.error().detail;
}

class SettingRefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(SettingRefusalTest, NamesTheSettingAndWhatIsExpected) {
  EXPECT_EQ(RefusalLine(GetParam().name, GetParam().value), GetParam().line);
}

INSTANTIATE_TEST_SUITE_P(
    EverySetting, SettingRefusalTest,
    ::testing::Values(
        Refusal{"listen", "localhost", "setting listen: invalid value: expected host:port"},
        Refusal{"data_dir", "", "setting data_dir: invalid value: expected a non-empty path"},
        Refusal{"database", "",
                "setting database: invalid value: expected a URL such as sqlite://path or "
                "postgresql://user:password@host:port/db"},
        Refusal{"database_pool_size", "0",
                "setting database_pool_size: invalid value: expected a whole number from 1 to "
                "1000"},
        Refusal{"jwt.secret", "short",
                "setting jwt.secret: invalid value: must be at least 32 bytes, not one repeated "
                "byte, without whitespace at either end, not a unit of up to 8 bytes repeated, "
                "without control characters"},
        Refusal{"jwt.algorithm", "hs256",
                "setting jwt.algorithm: invalid value: expected HS256, EdDSA, ES256 or RS256"},
        Refusal{"jwt.private_key_file", "",
                "setting jwt.private_key_file: invalid value: expected a path"},
        Refusal{"jwt.issuer", "", "setting jwt.issuer: invalid value: expected a non-empty string"},
        Refusal{"jwt.audience", "",
                "setting jwt.audience: invalid value: expected a non-empty string"},
        Refusal{"jwt.access_ttl", "0",
                "setting jwt.access_ttl: invalid value: expected a duration such as 30m (s, m, h, "
                "d or plain seconds), at least 1s"},
        Refusal{"jwt.refresh_ttl", "0",
                "setting jwt.refresh_ttl: invalid value: expected a duration such as 30d (s, m, "
                "h, d or plain seconds), at least 1s"},
        Refusal{"password.min_length", "0",
                "setting password.min_length: invalid value: expected a whole number from 1 to "
                "1024"},
        Refusal{"threads", "0",
                "setting threads: invalid value: expected a whole number from 1 to 256"},
        Refusal{"hash_threads", "257",
                "setting hash_threads: invalid value: expected a whole number from 1 to 256"},
        Refusal{"hash_queue", "0",
                "setting hash_queue: invalid value: expected a whole number from 1 to 1000000"},
        Refusal{"limits.body_bytes", "255",
                "setting limits.body_bytes: invalid value: expected a whole number of bytes from "
                "256 to 16777216"},
        Refusal{"limits.header_bytes", "65537",
                "setting limits.header_bytes: invalid value: expected a whole number of bytes "
                "from 1024 to 65536"},
        Refusal{"limits.max_connections", "0",
                "setting limits.max_connections: invalid value: expected a whole number from 1 "
                "to 1000000"},
        Refusal{"limits.read_timeout", "0",
                "setting limits.read_timeout: invalid value: expected a duration of at least 1s"},
        Refusal{"limits.idle_timeout", "1.5",
                "setting limits.idle_timeout: invalid value: expected a duration of at least 1s"},
        Refusal{"rate_limit.login_per_user", "lots",
                "setting rate_limit.login_per_user: invalid value: expected N/duration such as "
                "10/15m, or 0"},
        Refusal{"rate_limit.login_per_address", "lots",
                "setting rate_limit.login_per_address: invalid value: expected N/duration such "
                "as 100/15m, or 0"},
        Refusal{"rate_limit.registration_per_address", "lots",
                "setting rate_limit.registration_per_address: invalid value: expected "
                "N/duration such as 30/1m, or 0"},
        Refusal{"rate_limit.refresh_per_user", "lots",
                "setting rate_limit.refresh_per_user: invalid value: expected N/duration such as "
                "120/1m, or 0"},
        Refusal{"rate_limit.revocation_per_user", "lots",
                "setting rate_limit.revocation_per_user: invalid value: expected N/duration such "
                "as 60/1m, or 0"},
        Refusal{"trusted_proxies", "10.0.0.0/33",
                "setting trusted_proxies: invalid value: expected comma-separated addresses or "
                "CIDR networks"},
        Refusal{"password.deny_list", "",
                "setting password.deny_list: invalid value: expected a path"},
        Refusal{"introspection.secret", "0123456789abcde",
                "setting introspection.secret: invalid value: must be at least 16 bytes, not one "
                "repeated byte, without whitespace at either end, not a unit of up to 8 bytes "
                "repeated, without control characters"},
        Refusal{"log.requests", "yes",
                "setting log.requests: invalid value: expected true or false"},
        Refusal{"jwt.acces_ttl", "15m", "setting jwt.acces_ttl: unknown setting"}),
    [](const auto& test) {
      std::string name = test.param.name;
      for (char& c : name) {
        if (c == '.') c = '_';
      }
      return name;
    });

TEST(JwtAlgorithmSetting, AcceptsExactlyTheFourRfc7518Spellings) {
  for (const char* name : {"HS256", "EdDSA", "ES256", "RS256"}) {
    EXPECT_TRUE(Resolve({}, {}, {{"jwt.algorithm", name}}).ok()) << name;
  }
  for (const char* name : {"hs256", "EDDSA", "Es256", "none", "HS512", "", " HS256"}) {
    EXPECT_FALSE(Resolve({}, {}, {{"jwt.algorithm", name}}).ok()) << name;
  }
}

TEST(JwtAlgorithmSetting, ResolvesToTheNamedAlgorithm) {
  const std::pair<const char*, JwsAlgorithm> expected[] = {{"HS256", JwsAlgorithm::kHS256},
                                                           {"EdDSA", JwsAlgorithm::kEdDSA},
                                                           {"ES256", JwsAlgorithm::kES256},
                                                           {"RS256", JwsAlgorithm::kRS256}};
  for (const auto& [name, algorithm] : expected) {
    const auto settings = Resolve({}, {{"jwt.algorithm", name}}, {});
    ASSERT_TRUE(settings.ok()) << name;
    EXPECT_EQ(settings->jwt_algorithm, algorithm) << name;
  }
  EXPECT_EQ(Resolve({}, {}, {})->jwt_algorithm, JwsAlgorithm::kHS256);
}

// Every shared secret follows one rule (attacker round: one repeated byte, or whitespace that
// no trimmed header value can ever carry, were accepted for admin.secret and
// introspection.secret and left an API that nobody, or anybody, could call).
TEST(SecretSettings, WeakOrPaddedSecretsAreRefusedForEverySecret) {
  const std::string good = "0123456789abcdef0123456789abcdef";
  for (const char* name : {"jwt.secret", "introspection.secret", "admin.secret"}) {
    EXPECT_EQ(RefusalLine(name, good), "accepted") << name;
    EXPECT_EQ(RefusalLine(name, "in the middle 0123456789abcdef01234"), "accepted") << name;
    for (const std::string& weak :
         {std::string(40, 'a'), std::string(40, ' '), std::string(40, '\0'), " " + good, good + " ",
          "\t" + good, good + "\n", good + "\r\n"}) {
      const std::string line = RefusalLine(name, weak);
      EXPECT_NE(line, "accepted") << name << " [" << weak << "]";
      EXPECT_NE(line.find("not one repeated byte, without whitespace at either end"),
                std::string::npos)
          << line;
    }
  }
}

TEST(TextSettings, ControlCharactersAreRefused) {
  for (const char* name : {"data_dir", "database", "jwt.issuer", "jwt.audience",
                           "jwt.private_key_file", "password.deny_list"}) {
    EXPECT_FALSE(Resolve({}, {}, {{name, "a\tb"}}).ok()) << name;
    EXPECT_TRUE(Resolve({}, {}, {{name, "a b"}}).ok()) << name;
  }
}

}  // namespace
}  // namespace gatehouse::config
