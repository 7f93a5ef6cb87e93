// The account module without a socket: a real SQLite store in a temporary directory, real
// argon2id, a real token service and revocation set.
#include "auth/accounts.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "auth/passwords.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gatehouse::auth {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr std::size_t kMinPassword = 8;

TokenLifetimes Lifetimes() {
  TokenLifetimes lifetimes;
  lifetimes.access_seconds = 900;
  lifetimes.refresh_seconds = 86400;
  return lifetimes;
}

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto());
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("gatehouse-accounts-test-" + std::to_string(random()) + std::to_string(random()));
    ASSERT_TRUE(fs::create_directory(dir_));
    auto opened = store::SqliteStore::Open((dir_ / "gatehouse.db").string());
    ASSERT_TRUE(opened) << opened.error().detail;
    store_ = std::move(opened).value();
    std::ofstream(dir_ / "deny.txt") << "Password123\nletmein-please\n";
    auto deny_list = PasswordDenyList::Load((dir_ / "deny.txt").string());
    ASSERT_TRUE(deny_list) << deny_list.error().detail;
    deny_list_ = std::move(*deny_list);
  }

  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  PasswordRules Rules() const { return {kMinPassword, &deny_list_}; }
  Accounts Live() { return Accounts(*store_, Rules(), LiveTokens{tokens_, revocations_, users_}); }
  Accounts Offline() { return Accounts(*store_, Rules(), std::nullopt); }

  OpenedSession MustRegister(std::string_view username, std::string_view password) {
    auto session = Live().Register(Credentials(std::string(username), std::string(password)),
                                   store::UsernameKey(username));
    EXPECT_TRUE(session) << session.error().detail;
    return session ? std::move(*session) : OpenedSession{};
  }

  Result<OpenedSession> LogIn(std::string_view username, std::string_view password) {
    return Live().Login(Credentials(std::string(username), std::string(password)),
                        store::UsernameKey(username));
  }

  ErrorCode AccessCheck(const TokenPair& tokens) {
    auto claims = tokens_.Verify(tokens.access_token, TokenType::kAccess);
    return claims ? ErrorCode::kInternal : claims.error().code;  // kInternal: still good
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  PasswordDenyList deny_list_;
  int64_t now_ = 1'700'000'000;
  RevocationSet revocations_;
  TokenService tokens_{kSecret, Lifetimes(), revocations_, [this] { return now_; }};
  store::UserCache users_;
};

constexpr ErrorCode kStillGood = ErrorCode::kInternal;

TEST_F(AccountsTest, RegisterStoresTheUserAndOpensASession) {
  const OpenedSession session = MustRegister("Alice", "correct horse");
  EXPECT_EQ(session.username, "Alice");
  EXPECT_EQ(AccessCheck(session.tokens), kStillGood);
  auto stored = store_->FindUser(store::UsernameKey("alice"));
  ASSERT_TRUE(stored && *stored);
  EXPECT_TRUE(VerifyPassword((*stored)->password_hash, "correct horse"));
  ASSERT_TRUE(users_.Get(store::UsernameKey("alice")));
  EXPECT_EQ(users_.Get(store::UsernameKey("alice"))->created_at, now_);
}

TEST_F(AccountsTest, RegisterRefusesATakenNameIgnoringCase) {
  MustRegister("alice", "correct horse");
  auto again = Live().Register(Credentials("ALICE", "another pass"), store::UsernameKey("ALICE"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kUsernameTaken);
  EXPECT_EQ(again.error().field, "ALICE");
}

TEST_F(AccountsTest, LoginWithTheRightPasswordOpensASession) {
  MustRegister("alice", "correct horse");
  auto session = LogIn("ALICE", "correct horse");
  ASSERT_TRUE(session) << session.error().detail;
  EXPECT_EQ(session->username, "alice");  // as stored, not as typed
  EXPECT_EQ(AccessCheck(session->tokens), kStillGood);
}

TEST_F(AccountsTest, WrongPasswordAndUnknownUserGiveTheSameError) {
  MustRegister("alice", "correct horse");
  auto wrong = LogIn("alice", "wrong horse");
  auto unknown = LogIn("bob", "correct horse");
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(wrong.error().code, ErrorCode::kWrongCredentials);
  EXPECT_EQ(unknown.error().code, ErrorCode::kWrongCredentials);
  EXPECT_EQ(wrong.error().detail, unknown.error().detail);
}

TEST_F(AccountsTest, PasswordChangeRevokesEveryEarlierTokenAndOpensANewSession) {
  const OpenedSession first = MustRegister("alice", "correct horse");
  auto second = LogIn("alice", "correct horse");
  ASSERT_TRUE(second);
  auto changed = Live().ChangePassword({"alice", "correct horse", "battery staple"},
                                       store::UsernameKey("alice"));
  ASSERT_TRUE(changed) << changed.error().detail;
  // Same second as the old tokens: their sessions' sids revoke them.
  EXPECT_EQ(AccessCheck(first.tokens), ErrorCode::kTokenRevoked);
  EXPECT_EQ(AccessCheck(second->tokens), ErrorCode::kTokenRevoked);
  EXPECT_EQ(AccessCheck(changed->tokens), kStillGood);
  EXPECT_FALSE(LogIn("alice", "correct horse"));
  EXPECT_TRUE(LogIn("alice", "battery staple"));
}

TEST_F(AccountsTest, PasswordChangeWithAWrongOldPasswordChangesNothing) {
  const OpenedSession first = MustRegister("alice", "correct horse");
  auto changed = Live().ChangePassword({"alice", "not the one", "battery staple"},
                                       store::UsernameKey("alice"));
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::kWrongCredentials);
  EXPECT_EQ(AccessCheck(first.tokens), kStillGood);
  EXPECT_TRUE(LogIn("alice", "correct horse"));
}

TEST_F(AccountsTest, AdministratorPasswordChangeAppliesTheRulesAndReplacesTheHash) {
  MustRegister("alice", "correct horse");
  Status short_one = Offline().SetPassword(store::UsernameKey("alice"), "short");
  ASSERT_FALSE(short_one);
  EXPECT_EQ(short_one.error().detail, "password: Must be at least 8 bytes");
  ASSERT_TRUE(Offline().SetPassword(store::UsernameKey("alice"), "battery staple"));
  EXPECT_FALSE(LogIn("alice", "correct horse"));
  EXPECT_TRUE(LogIn("alice", "battery staple"));
}

TEST_F(AccountsTest, RevokeEveryTokenRevokesTheTokensButNotTheAccount) {
  const OpenedSession first = MustRegister("alice", "correct horse");
  ASSERT_TRUE(Live().RevokeEveryToken(store::UsernameKey("ALICE")));
  EXPECT_EQ(AccessCheck(first.tokens), ErrorCode::kTokenRevoked);
  EXPECT_TRUE(LogIn("alice", "correct horse"));
}

TEST_F(AccountsTest, RemoveRevokesTheTokensAndForgetsTheUser) {
  const OpenedSession first = MustRegister("alice", "correct horse");
  ASSERT_TRUE(Live().Remove(store::UsernameKey("alice")));
  EXPECT_EQ(AccessCheck(first.tokens), ErrorCode::kTokenRevoked);
  EXPECT_FALSE(users_.Get(store::UsernameKey("alice")));
  auto login = LogIn("alice", "correct horse");
  ASSERT_FALSE(login);
  EXPECT_EQ(login.error().code, ErrorCode::kWrongCredentials);
  Status again = Offline().Remove(store::UsernameKey("alice"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

TEST_F(AccountsTest, DenyListedPasswordsAreRefusedIgnoringAsciiCase) {
  Status registered = CheckRegistration(Credentials("alice", "PASSWORD123"), Rules());
  ASSERT_FALSE(registered);
  EXPECT_EQ(registered.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(registered.error().field, "password");
  EXPECT_EQ(registered.error().reason, "Too common, choose another");
  EXPECT_FALSE(store_->FindUser(store::UsernameKey("alice")).value());

  Status change = CheckPasswordChange({"alice", "old one", "LetMeIn-Please"}, Rules());
  ASSERT_FALSE(change);
  EXPECT_EQ(change.error().detail, "new_password: Too common, choose another");
}

// Field, reason and detail of the first problem found, or "" when the input is accepted.
std::string Problem(const Status& status) {
  if (status) return "";
  EXPECT_EQ(status.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(status.error().detail, status.error().field + ": " + status.error().reason);
  return status.error().detail;
}

TEST_F(AccountsTest, RegistrationInputRulesAnswerTheFirstProblemAsAFieldError) {
  const PasswordRules rules = Rules();
  EXPECT_EQ(Problem(CheckRegistration(Credentials("", ""), rules)),
            "username: This field cannot be blank");
  EXPECT_EQ(Problem(CheckRegistration(Credentials("bad name", ""), rules)),
            "password: This field cannot be blank");
  EXPECT_EQ(Problem(CheckRegistration(Credentials("bad name", "x"), rules)),
            "username: Only letters, digits and . _ @ + - are allowed");
  EXPECT_EQ(Problem(CheckRegistration(Credentials(std::string(65, 'a'), "x"), rules)),
            "username: Must be at most 64 characters");
  EXPECT_EQ(Problem(CheckRegistration(Credentials("alice", "short"), rules)),
            "password: Must be at least 8 bytes");
  EXPECT_EQ(Problem(CheckRegistration(Credentials("alice", std::string(1025, 'p')), rules)),
            "password: Must be at most 1024 bytes");
  EXPECT_EQ(Problem(CheckRegistration(Credentials("a.b_c@d+e-f", "long enough"), rules)), "");
}

// The CLI's passwords are not decoded from an HTTP body, which refuses NUL bytes: the account
// rules refuse them too, or `user add` would store a password no client can send.
TEST_F(AccountsTest, ANewPasswordWithANulByteIsRefused) {
  const std::string with_nul("pass\0word123", 12);
  EXPECT_EQ(Problem(CheckNewPassword("password", with_nul, Rules())),
            "password: must not contain NUL bytes");
}

TEST_F(AccountsTest, LoginInputRulesOnlyBoundTheWork) {
  EXPECT_EQ(Problem(CheckLoginInput(Credentials("any name at all!", "x"))), "");
  EXPECT_EQ(Problem(CheckLoginInput(Credentials("alice", ""))),
            "password: This field cannot be blank");
  EXPECT_EQ(Problem(CheckLoginInput(Credentials("alice", std::string(1025, 'p')))),
            "password: Must be at most 1024 bytes");
}

TEST_F(AccountsTest, PasswordChangeInputRules) {
  const PasswordRules rules = Rules();
  EXPECT_EQ(Problem(CheckPasswordChange({"alice", "", ""}, rules)),
            "old_password: This field cannot be blank");
  EXPECT_EQ(Problem(CheckPasswordChange({"alice", "x", ""}, rules)),
            "new_password: This field cannot be blank");
  EXPECT_EQ(Problem(CheckPasswordChange({"alice", std::string(1025, 'p'), "y"}, rules)),
            "old_password: Must be at most 1024 bytes");
  EXPECT_EQ(Problem(CheckPasswordChange({"alice", "x", "short"}, rules)),
            "new_password: Must be at least 8 bytes");
}

}  // namespace
}  // namespace gatehouse::auth
