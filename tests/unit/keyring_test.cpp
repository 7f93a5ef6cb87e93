#include "auth/keyring.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "auth/jws.hpp"
#include "auth/passwords.hpp"

namespace gatehouse::auth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kLifetime = 3600;

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto());
    dir_ = fs::temp_directory_path() / ("keyring-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  KeyringOptions Options(Algorithm algorithm) const {
    KeyringOptions options;
    options.algorithm = algorithm;
    options.data_dir = dir_.string();
    options.max_token_lifetime = kLifetime;
    return options;
  }
  std::vector<std::string> Kids(const Keyring& keyring) const {
    std::vector<std::string> kids;
    const nlohmann::json jwks = nlohmann::json::parse(*keyring.JwksJson());
    for (const auto& key : jwks["keys"]) {
      kids.push_back(key["kid"]);
    }
    return kids;
  }
  bool Verifies(const Keyring& keyring, const std::string& token) const {
    std::string payload;
    return keyring.Verify(token, payload).ok();
  }

  fs::path dir_;
};

TEST_F(KeyringTest, FirstOpenCreatesOnePrivateKeyFile) {
  auto keyring = Keyring::Open(Options(Algorithm::kEdDSA), kNow);
  ASSERT_TRUE(keyring.ok()) << keyring.error().detail;
  std::vector<fs::path> files(fs::directory_iterator(dir_ / "keys"), fs::directory_iterator());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(fs::status(files[0]).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(dir_ / "keys").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(Kids(**keyring), std::vector<std::string>{(*keyring)->SigningKid()});
}

TEST_F(KeyringTest, ReopeningUsesTheSameKey) {
  auto first = Keyring::Open(Options(Algorithm::kES256), kNow);
  auto second = Keyring::Open(Options(Algorithm::kES256), kNow + 5);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ((*first)->SigningKid(), (*second)->SigningKid());
  EXPECT_TRUE(Verifies(**second, (*first)->Sign(R"({"sub":"a"})")));
}

TEST_F(KeyringTest, RotationSwitchesTheSigningKeyAndKeepsTheOldOneVerifying) {
  auto keyring = Keyring::Open(Options(Algorithm::kEdDSA), kNow);
  ASSERT_TRUE(keyring.ok());
  const std::string old_kid = (*keyring)->SigningKid();
  const std::string old_token = (*keyring)->Sign(R"({"sub":"a"})");
  auto new_kid = RotateSigningKey(Options(Algorithm::kEdDSA), kNow + 10);
  ASSERT_TRUE(new_kid.ok()) << new_kid.error().detail;
  auto changed = (*keyring)->Reload(kNow + 11);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ((*keyring)->SigningKid(), *new_kid);
  EXPECT_EQ(Kids(**keyring), (std::vector<std::string>{*new_kid, old_kid}));
  EXPECT_TRUE(Verifies(**keyring, old_token));
}

// Each thread signs with its own copy of the key set (CurrentOnThisThread); a Reload must reach
// a thread that signed before it, the reloading thread and another one alike.
std::string KidOf(const std::string& token) {
  std::string header;
  EXPECT_TRUE(Base64UrlDecode(token.substr(0, token.find('.')), header));
  return nlohmann::json::parse(header).value("kid", "");
}

TEST_F(KeyringTest, ThreadsThatSignedBeforeAReloadSignWithTheNewKeyAfterIt) {
  auto keyring = Keyring::Open(Options(Algorithm::kEdDSA), kNow);
  ASSERT_TRUE(keyring.ok());
  const std::string old_kid = (*keyring)->SigningKid();
  std::promise<std::string> before_reload;
  std::promise<void> reloaded;
  std::promise<std::string> after_reload;
  std::thread other([&] {
    before_reload.set_value(KidOf((*keyring)->Sign(R"({"sub":"a"})")));
    reloaded.get_future().wait();
    after_reload.set_value(KidOf((*keyring)->Sign(R"({"sub":"a"})")));
  });
  EXPECT_EQ(before_reload.get_future().get(), old_kid);
  EXPECT_EQ(KidOf((*keyring)->Sign(R"({"sub":"a"})")), old_kid);
  auto new_kid = RotateSigningKey(Options(Algorithm::kEdDSA), kNow + 10);
  const bool rotated = new_kid.ok() && (*keyring)->Reload(kNow + 11).ok();
  reloaded.set_value();  // the thread goes on either way, so that it can be joined
  const std::string other_kid_after = after_reload.get_future().get();
  other.join();
  ASSERT_TRUE(rotated);
  EXPECT_EQ(other_kid_after, *new_kid);
  EXPECT_EQ(KidOf((*keyring)->Sign(R"({"sub":"a"})")), *new_kid);
}

// Two keyrings used in turn on one thread: each signs with its own keys, never the other's.
TEST_F(KeyringTest, KeyringsUsedInTurnOnOneThreadKeepTheirOwnKeys) {
  auto first = Keyring::Open(Options(Algorithm::kEdDSA), kNow);
  ASSERT_TRUE(first.ok());
  auto kid = RotateSigningKey(Options(Algorithm::kEdDSA), kNow + 10);
  ASSERT_TRUE(kid.ok());
  auto second = Keyring::Open(Options(Algorithm::kEdDSA), kNow + 11);
  ASSERT_TRUE(second.ok());
  ASSERT_NE((*first)->SigningKid(), (*second)->SigningKid());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(KidOf((*first)->Sign(R"({"sub":"a"})")), (*first)->SigningKid());
    EXPECT_EQ(KidOf((*second)->Sign(R"({"sub":"a"})")), (*second)->SigningKid());
  }
}

TEST_F(KeyringTest, OldKeyDropsOutWhenItsSuccessorOutlivesTheLongestToken) {
  auto keyring = Keyring::Open(Options(Algorithm::kEdDSA), kNow);
  ASSERT_TRUE(keyring.ok());
  const std::string old_token = (*keyring)->Sign(R"({"sub":"a"})");
  ASSERT_TRUE(RotateSigningKey(Options(Algorithm::kEdDSA), kNow + 10).ok());
  ASSERT_TRUE((*keyring)->Reload(kNow + 10 + kLifetime - 1).ok());
  EXPECT_TRUE(Verifies(**keyring, old_token));
  auto changed = (*keyring)->Reload(kNow + 10 + kLifetime);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(Kids(**keyring).size(), 1u);
  EXPECT_FALSE(Verifies(**keyring, old_token));
}

TEST_F(KeyringTest, KeysRotatedWithinOneSecondSignInCreationOrder) {
  auto keyring = Keyring::Open(Options(Algorithm::kEdDSA), kNow);
  ASSERT_TRUE(keyring.ok());
  std::string last_kid;
  for (int i = 0; i < 5; ++i) {
    auto kid = RotateSigningKey(Options(Algorithm::kEdDSA), kNow);
    ASSERT_TRUE(kid.ok());
    last_kid = *kid;
  }
  ASSERT_TRUE((*keyring)->Reload(kNow).ok());
  EXPECT_EQ((*keyring)->SigningKid(), last_kid);
}

TEST_F(KeyringTest, ReloadWithoutChangesReportsNoChange) {
  auto keyring = Keyring::Open(Options(Algorithm::kES256), kNow);
  ASSERT_TRUE(keyring.ok());
  auto changed = (*keyring)->Reload(kNow + 1);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

// Issue 15 item 4: a change of algorithm is a rotation, so the old algorithm's keys keep
// verifying beside the new one's first key until their window closes (they used to be ignored).
TEST_F(KeyringTest, KeysOfAnotherAlgorithmVerifyBesideTheNewOnesUntilTheirWindowCloses) {
  auto eddsa = Keyring::Open(Options(Algorithm::kEdDSA), kNow);
  auto es256 = Keyring::Open(Options(Algorithm::kES256), kNow + 1);
  ASSERT_TRUE(eddsa.ok() && es256.ok()) << es256.error().detail;
  EXPECT_NE((*eddsa)->SigningKid(), (*es256)->SigningKid());
  const std::string old_token = (*eddsa)->Sign(R"({"sub":"a"})");
  EXPECT_TRUE(Verifies(**es256, old_token));
  ASSERT_TRUE((*es256)->Reload(kNow + 1 + kLifetime).ok());
  EXPECT_FALSE(Verifies(**es256, old_token));
  EXPECT_TRUE(Verifies(**es256, (*es256)->Sign(R"({"sub":"a"})")));
}

TEST_F(KeyringTest, HmacKeyringHasAnEmptyJwksAndNoKid) {
  KeyringOptions options;
  options.hmac_secret = std::string(32, 's');
  auto keyring = Keyring::Open(options, kNow);
  ASSERT_TRUE(keyring.ok());
  EXPECT_EQ(*(*keyring)->JwksJson(), R"({"keys":[]})");
  EXPECT_EQ((*keyring)->SigningKid(), "");
  EXPECT_TRUE(Verifies(**keyring, (*keyring)->Sign(R"({"sub":"a"})")));
}

TEST_F(KeyringTest, RotateRefusesAConfiguredHmacSecretAndAFixedKeyFile) {
  KeyringOptions hmac = Options(Algorithm::kHS256);
  hmac.hmac_secret = std::string(32, 's');
  EXPECT_FALSE(RotateSigningKey(hmac, kNow).ok());
  EXPECT_FALSE(fs::exists(dir_ / "keys"));
  KeyringOptions fixed = Options(Algorithm::kEdDSA);
  fixed.private_key_file = (dir_ / "key.pem").string();
  EXPECT_FALSE(RotateSigningKey(fixed, kNow).ok());
}

// ---- HS256 with a generated secret: rotation as for asymmetric keys --------------------------

KeyringOptions GeneratedHmac(KeyringOptions options) {
  options.algorithm = Algorithm::kHS256;
  options.hmac_secret = "generated-secret-0123456789abcdef0123456789";
  options.hmac_secret_generated = true;
  return options;
}

TEST_F(KeyringTest, HmacRotationSignsWithAKidAndKeepsTheGeneratedSecretVerifying) {
  const KeyringOptions options = GeneratedHmac(Options(Algorithm::kHS256));
  auto keyring = Keyring::Open(options, kNow);
  ASSERT_TRUE(keyring.ok()) << keyring.error().detail;
  const std::string old_token = (*keyring)->Sign(R"({"sub":"a"})");
  EXPECT_EQ(KidOf(old_token), "");
  EXPECT_TRUE(Verifies(**keyring, HmacKey(options.hmac_secret).Sign(R"({"sub":"flask"})")));

  auto kid = RotateSigningKey(options, kNow + 10);
  ASSERT_TRUE(kid.ok()) << kid.error().detail;
  std::vector<fs::path> files(fs::directory_iterator(dir_ / "keys"), fs::directory_iterator());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].extension(), ".hs256");
  EXPECT_EQ(fs::status(files[0]).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  auto changed = (*keyring)->Reload(kNow + 11);
  ASSERT_TRUE(changed.ok() && *changed);
  EXPECT_EQ((*keyring)->SigningKid(), *kid);
  const std::string new_token = (*keyring)->Sign(R"({"sub":"a"})");
  EXPECT_EQ(KidOf(new_token), *kid);
  EXPECT_TRUE(Verifies(**keyring, new_token));
  EXPECT_TRUE(Verifies(**keyring, old_token));
  EXPECT_EQ(*(*keyring)->JwksJson(), R"({"keys":[]})");

  // a fresh start (a restart) finds both
  auto reopened = Keyring::Open(options, kNow + 12);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->SigningKid(), *kid);
  EXPECT_TRUE(Verifies(**reopened, old_token));
  EXPECT_TRUE(Verifies(**reopened, new_token));
}

TEST_F(KeyringTest, HmacGeneratedSecretDropsOutWhenItsSuccessorOutlivesTheLongestToken) {
  const KeyringOptions options = GeneratedHmac(Options(Algorithm::kHS256));
  auto keyring = Keyring::Open(options, kNow);
  ASSERT_TRUE(keyring.ok());
  const std::string old_token = (*keyring)->Sign(R"({"sub":"a"})");
  auto first = RotateSigningKey(options, kNow + 10);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*keyring)->Reload(kNow + 10 + kLifetime - 1).ok());
  const std::string first_token = (*keyring)->Sign(R"({"sub":"a"})");
  EXPECT_TRUE(Verifies(**keyring, old_token));
  ASSERT_TRUE((*keyring)->Reload(kNow + 10 + kLifetime).ok());
  EXPECT_FALSE(Verifies(**keyring, old_token));
  EXPECT_TRUE(Verifies(**keyring, first_token));
  // a second rotation keeps the first rotated secret for its window
  auto second = RotateSigningKey(options, kNow + 20 + kLifetime);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE((*keyring)->Reload(kNow + 21 + kLifetime).ok());
  EXPECT_EQ((*keyring)->SigningKid(), *second);
  EXPECT_TRUE(Verifies(**keyring, first_token));
}

// Issue 14: one rule deletes a key whose window has closed: `keys rotate` deletes what a reload
// deletes, the generated secret's file included (the command used to keep it).
TEST_F(KeyringTest, RotateDeletesTheGeneratedSecretAsAReloadDoes) {
  const KeyringOptions options = GeneratedHmac(Options(Algorithm::kHS256));
  std::ofstream(dir_ / "jwt-secret") << options.hmac_secret << "\n";
  fs::permissions(dir_ / "jwt-secret", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(RotateSigningKey(options, kNow).ok());  // the generated secret retires now
  ASSERT_TRUE(RotateSigningKey(options, kNow + kLifetime - 1).ok());
  EXPECT_TRUE(fs::exists(dir_ / "jwt-secret")) << "deleted inside its window";
  ASSERT_TRUE(RotateSigningKey(options, kNow + kLifetime).ok());
  EXPECT_FALSE(fs::exists(dir_ / "jwt-secret"));
}

TEST_F(KeyringTest, HmacRotatedSecretsAreIgnoredForAConfiguredSecret) {
  const KeyringOptions generated = GeneratedHmac(Options(Algorithm::kHS256));
  ASSERT_TRUE(RotateSigningKey(generated, kNow).ok());
  KeyringOptions configured = generated;
  configured.hmac_secret_generated = false;
  auto keyring = Keyring::Open(configured, kNow + 1);
  ASSERT_TRUE(keyring.ok());
  EXPECT_EQ((*keyring)->SigningKid(), "");
  const std::string token = (*keyring)->Sign(R"({"sub":"a"})");
  EXPECT_EQ(KidOf(token), "");
  EXPECT_TRUE(Verifies(**keyring, HmacKey(configured.hmac_secret).Sign(R"({"sub":"a"})")));
}

TEST_F(KeyringTest, PrivateKeyFileOfTheWrongTypeFailsToOpen) {
  auto key = SigningKey::Generate(Algorithm::kES256);
  ASSERT_TRUE(key.ok());
  const fs::path path = dir_ / "key.pem";
  std::ofstream(path) << (*key)->PrivatePem();
  KeyringOptions options = Options(Algorithm::kES256);
  options.private_key_file = path.string();
  // Written with the umask's mode (0644 here): a key others can read is refused (API.md §8).
  auto exposed = Keyring::Open(options, kNow);
  ASSERT_FALSE(exposed.ok());
  EXPECT_EQ(exposed.error().code, StartupErrorCode::kUnsafeSecretFile);
  EXPECT_NE(exposed.error().detail.find(path.string()), std::string::npos);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  options.algorithm = Algorithm::kEdDSA;
  EXPECT_FALSE(Keyring::Open(options, kNow).ok());
  options.algorithm = Algorithm::kES256;
  auto keyring = Keyring::Open(options, kNow);
  ASSERT_TRUE(keyring.ok());
  EXPECT_EQ((*keyring)->SigningKid(), (*key)->kid());
}

// Staged rotation (issue 15 item 3): the rule on its own, then with keys on disk and an
// injected clock.
TEST(SelectKeysTest, AKeyWhoseTimeHasNotComeIsPublishedButTheOneBeforeItSigns) {
  const KeySelection selection = SelectKeys({100, 200}, 150, kLifetime);
  EXPECT_EQ(selection.in_use, (std::vector<std::size_t>{1, 0}));
  EXPECT_EQ(selection.signer, 0u);
  EXPECT_EQ(SelectKeys({100, 200}, 199, kLifetime).signer, 0u);
  EXPECT_EQ(SelectKeys({100, 200}, 200, kLifetime).signer, 1u);
}

TEST(SelectKeysTest, WhenNoKeysTimeHasComeTheOldestSigns) {
  const KeySelection selection = SelectKeys({500, 600}, 100, kLifetime);
  EXPECT_EQ(selection.signer, 0u);
  EXPECT_EQ(selection.in_use, (std::vector<std::size_t>{1, 0}));
}

TEST(SelectKeysTest, AReplacedKeyVerifiesUntilItsSuccessorHasSignedForTheLongestLifetime) {
  // The window counts from when the successor started signing, not from its publication.
  EXPECT_EQ(SelectKeys({100, 200}, 200 + kLifetime - 1, kLifetime).in_use,
            (std::vector<std::size_t>{1, 0}));
  EXPECT_EQ(SelectKeys({100, 200}, 200 + kLifetime, kLifetime).in_use,
            (std::vector<std::size_t>{1}));
  // A pending key keeps the signer and the signer's own predecessor in their windows.
  EXPECT_EQ(SelectKeys({100, 200, 300}, 250, kLifetime).in_use,
            (std::vector<std::size_t>{2, 1, 0}));
}

constexpr int64_t kDelay = 360;

TEST_F(KeyringTest, StagedRotationPublishesAtOnceAndSignsAfterTheDelay) {
  KeyringOptions options = Options(Algorithm::kEdDSA);
  options.publication_delay = kDelay;
  auto keyring = Keyring::Open(options, kNow);
  ASSERT_TRUE(keyring.ok());
  const std::string old_kid = (*keyring)->SigningKid();
  int64_t signs_from = 0;
  auto new_kid = RotateSigningKey(options, kNow + 10, &signs_from);
  ASSERT_TRUE(new_kid.ok()) << new_kid.error().detail;
  EXPECT_EQ(signs_from, kNow + 10 + kDelay);
  ASSERT_TRUE((*keyring)->Reload(kNow + 11).ok());
  EXPECT_EQ(Kids(**keyring), (std::vector<std::string>{*new_kid, old_kid}));
  EXPECT_EQ((*keyring)->SigningKid(), old_kid);
  // Another instance (or a restart) during the stage: the same, from the key times stored.
  auto other = Keyring::Open(options, kNow + 20);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->SigningKid(), old_kid);
  EXPECT_EQ(Kids(**other), Kids(**keyring));
  ASSERT_TRUE((*keyring)->Reload(signs_from - 1).ok());
  EXPECT_EQ((*keyring)->SigningKid(), old_kid);
  auto changed = (*keyring)->Reload(signs_from);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ((*keyring)->SigningKid(), *new_kid);
  auto restarted = Keyring::Open(options, signs_from + 1);
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ((*restarted)->SigningKid(), *new_kid);
  EXPECT_TRUE(Verifies(**restarted, (*other)->Sign(R"({"sub":"a"})")));
}

TEST_F(KeyringTest, ImmediateRotationReplacesAKeyStillWaitingToSign) {
  KeyringOptions options = Options(Algorithm::kEdDSA);
  options.publication_delay = kDelay;
  ASSERT_TRUE(Keyring::Open(options, kNow).ok());
  auto staged = RotateSigningKey(options, kNow + 10);
  ASSERT_TRUE(staged.ok());
  options.publication_delay = 0;
  auto now = RotateSigningKey(options, kNow + 20);
  ASSERT_TRUE(now.ok());
  auto keyring = Keyring::Open(options, kNow + 21);
  ASSERT_TRUE(keyring.ok());
  EXPECT_EQ((*keyring)->SigningKid(), *now);
  const auto kids = Kids(**keyring);
  EXPECT_EQ(std::count(kids.begin(), kids.end(), *staged), 0);
  ASSERT_TRUE((*keyring)->Reload(kNow + 10 + kDelay).ok());
  EXPECT_EQ((*keyring)->SigningKid(), *now);
}

TEST_F(KeyringTest, HmacStagedRotationKeepsTheGeneratedSecretSigningUntilTheDelay) {
  KeyringOptions options = GeneratedHmac(Options(Algorithm::kHS256));
  options.publication_delay = kDelay;
  auto keyring = Keyring::Open(options, kNow);
  ASSERT_TRUE(keyring.ok());
  int64_t signs_from = 0;
  auto kid = RotateSigningKey(options, kNow, &signs_from);
  ASSERT_TRUE(kid.ok());
  EXPECT_EQ(signs_from, kNow + kDelay);
  ASSERT_TRUE((*keyring)->Reload(kNow + 1).ok());
  EXPECT_EQ((*keyring)->SigningKid(), "");
  ASSERT_TRUE((*keyring)->Reload(signs_from).ok());
  EXPECT_EQ((*keyring)->SigningKid(), *kid);
}

}  // namespace
}  // namespace gatehouse::auth
