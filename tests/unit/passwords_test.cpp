#include "auth/passwords.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatehouse::auth {
namespace {

constexpr std::string_view kPhcPrefix = "$argon2id$v=19$m=19456,t=2,p=1$";
constexpr std::string_view kPassword = "correct horse battery staple";

// Hashing costs tens of milliseconds, so the suite shares one hash of kPassword.
class PasswordsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(InitCrypto());
    Result<std::string> hash = HashPassword(kPassword);
    ASSERT_TRUE(hash.ok()) << hash.error().detail;
    hash_ = new std::string(std::move(hash).value());
  }
  static void TearDownTestSuite() {
    delete hash_;
    hash_ = nullptr;
  }
  static const std::string& Hash() { return *hash_; }

 private:
  static std::string* hash_;
};

std::string* PasswordsTest::hash_ = nullptr;

TEST_F(PasswordsTest, HashIsArgon2idPhcStringWithOwaspParameters) {
  EXPECT_EQ(Hash().substr(0, kPhcPrefix.size()), kPhcPrefix) << Hash();
}

TEST_F(PasswordsTest, HashHasSixteenByteSaltAndThirtyTwoByteDigest) {
  // After the prefix: unpadded standard base64 of 16 salt bytes (22 characters), '$', then of
  // the 32-byte digest (43 characters).
  const std::string rest = Hash().substr(kPhcPrefix.size());
  ASSERT_EQ(rest.size(), 22u + 1u + 43u) << Hash();
  EXPECT_EQ(rest[22], '$') << Hash();
  const auto is_b64 = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  };
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (i != 22) {
      EXPECT_TRUE(is_b64(rest[i])) << "position " << i << " of " << Hash();
    }
  }
}

TEST_F(PasswordsTest, HashDoesNotContainThePassword) {
  EXPECT_EQ(Hash().find(kPassword), std::string::npos);
}

TEST_F(PasswordsTest, RightPasswordVerifies) { EXPECT_TRUE(VerifyPassword(Hash(), kPassword)); }

TEST_F(PasswordsTest, WrongPasswordDoesNotVerify) {
  EXPECT_FALSE(VerifyPassword(Hash(), "correct horse battery stapler"));
}

TEST_F(PasswordsTest, PasswordDifferingOnlyInCaseDoesNotVerify) {
  EXPECT_FALSE(VerifyPassword(Hash(), "Correct horse battery staple"));
}

TEST_F(PasswordsTest, EmptyPasswordDoesNotVerifyAgainstRealHash) {
  EXPECT_FALSE(VerifyPassword(Hash(), ""));
}

TEST_F(PasswordsTest, TamperedDigestDoesNotVerify) {
  std::string tampered = Hash();
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyPassword(tampered, kPassword));
}

TEST_F(PasswordsTest, Argon2iPrefixIsRefused) {
  // Same salt and digest, but another algorithm named: only argon2id is accepted.
  const std::string argon2i = "$argon2i$" + Hash().substr(std::string_view("$argon2id$").size());
  EXPECT_FALSE(VerifyPassword(argon2i, kPassword));
}

TEST_F(PasswordsTest, OverlongHashStringIsRefused) {
  EXPECT_FALSE(VerifyPassword(Hash() + std::string(200, 'A'), kPassword));
}

TEST(VerifyPassword, GarbageHashIsFalse) {
  ASSERT_TRUE(InitCrypto());
  EXPECT_FALSE(VerifyPassword("not a hash at all", "password123"));
}

TEST(VerifyPassword, TruncatedArgon2idHashIsFalse) {
  ASSERT_TRUE(InitCrypto());
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=19456,t=2,p=1$", "password123"));
}

TEST(VerifyPassword, Pbkdf2HashIsFalse) {
  ASSERT_TRUE(InitCrypto());
  // passlib pbkdf2_sha256 of "password": handled elsewhere, never by this function.
  EXPECT_FALSE(
      VerifyPassword("$pbkdf2-sha256$29000$N2bsnTNGqNXaO2eM8X4PwQ$"
                     "0FWx8sH7P4B5Bd0QAbCqX6M7dB4DpjPH3uGtbCYuwCk",
                     "password"));
}

TEST(VerifyPassword, EmptyHashIsFalse) {
  ASSERT_TRUE(InitCrypto());
  EXPECT_FALSE(VerifyPassword("", ""));
  EXPECT_FALSE(VerifyPassword("", "password123"));
}

TEST(HashPassword, TwoHashesOfTheSamePasswordDifferAndBothVerify) {
  ASSERT_TRUE(InitCrypto());
  const Result<std::string> first = HashPassword("same password");
  const Result<std::string> second = HashPassword("same password");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first.value(), second.value());
  EXPECT_TRUE(VerifyPassword(first.value(), "same password"));
  EXPECT_TRUE(VerifyPassword(second.value(), "same password"));
}

TEST(HashPassword, MaximumLengthPasswordHashesAndVerifies) {
  ASSERT_TRUE(InitCrypto());
  std::string password(kMaxPasswordBytes, 'x');
  for (std::size_t i = 0; i < password.size(); ++i) password[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(password.size(), 1024u);
  const Result<std::string> hash = HashPassword(password);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(VerifyPassword(hash.value(), password));
  EXPECT_FALSE(VerifyPassword(hash.value(), password.substr(0, 1023)));
}

TEST(VerifyAgainstDummy, IsAlwaysFalse) {
  ASSERT_TRUE(InitCrypto());
  EXPECT_FALSE(VerifyAgainstDummy("password123"));
  EXPECT_FALSE(VerifyAgainstDummy(""));
}

TEST(Wipe, ZeroesEveryByteAndKeepsSize) {
  std::string secret = "hunter2-hunter2";
  Wipe(secret);
  EXPECT_EQ(secret, std::string(15, '\0'));
}

}  // namespace
}  // namespace gatehouse::auth
