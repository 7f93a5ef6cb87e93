// argon2_fast against RFC 9106's test vector and, differentially, against libsodium: raw tags
// for random passwords (0..128 bytes, NULs and high bytes included), salts and parameters, on
// every compression kernel this CPU runs; PHC strings verified both ways; wrong passwords refused.
#include "auth/argon2_fast.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace gatehouse::auth {
namespace {

using argon2_detail::Kernel;
using argon2_detail::Params;

constexpr std::array kKernels = {Kernel::kPortable, Kernel::kAvx2, Kernel::kAvx512};

std::string Hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t k = 0; k < size; ++k) {
    out += kDigits[bytes[k] >> 4];
    out += kDigits[bytes[k] & 15];
  }
  return out;
}

std::string RandomBytes(std::mt19937_64& rng, std::size_t size) {
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xFF);
  // Make NULs and high bytes common rather than occasional.
  if (size > 0 && rng() % 3 == 0) out[rng() % size] = '\0';
  if (size > 0 && rng() % 3 == 0) out[rng() % size] = static_cast<char>(0xFF);
  return out;
}

std::vector<unsigned char> LibsodiumRaw(const std::string& password, const unsigned char* salt,
                                        uint32_t passes, uint32_t memory_kib) {
  std::vector<unsigned char> out(32);
  EXPECT_EQ(
      crypto_pwhash(out.data(), out.size(), password.data(), password.size(), salt, passes,
                    static_cast<std::size_t>(memory_kib) * 1024, crypto_pwhash_ALG_ARGON2ID13),
      0);
  return out;
}

class Argon2FastTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(Argon2FastTest, Rfc9106Argon2idTestVectorOnEveryKernel) {
  // RFC 9106 section 5.3.
  std::string password(32, '\x01');
  const std::vector<unsigned char> salt(16, 0x02);
  const std::vector<unsigned char> secret(8, 0x03);
  const std::vector<unsigned char> ad(12, 0x04);
  const Params params{3, 32, 4};
  for (Kernel kernel : kKernels) {
    if (!argon2_detail::KernelAvailable(kernel)) continue;
    unsigned char tag[32];
    ASSERT_TRUE(argon2_detail::Argon2idRaw(params, password, salt, secret, ad, tag, kernel))
        << argon2_detail::KernelName(kernel);
    EXPECT_EQ(Hex(tag, sizeof tag),
              "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
        << argon2_detail::KernelName(kernel);
  }
}

TEST_F(Argon2FastTest, PortableKernelAlwaysAvailableAndTheBestAvailableIsChosen) {
  EXPECT_TRUE(argon2_detail::KernelAvailable(Kernel::kPortable));
  const Kernel expected = argon2_detail::KernelAvailable(Kernel::kAvx512) ? Kernel::kAvx512
                          : argon2_detail::KernelAvailable(Kernel::kAvx2) ? Kernel::kAvx2
                                                                          : Kernel::kPortable;
  EXPECT_EQ(argon2_detail::BestKernel(), expected);
  std::printf("argon2_fast: best kernel here is %s\n",
              argon2_detail::KernelName(argon2_detail::BestKernel()));
}

TEST_F(Argon2FastTest, RejectsParametersOutOfRange) {
  const std::vector<unsigned char> salt(16, 1);
  const std::vector<unsigned char> short_salt(7, 1);
  unsigned char tag[32];
  unsigned char short_tag[15];
  EXPECT_FALSE(argon2_detail::Argon2idRaw({0, 64, 1}, "pw", salt, {}, {}, tag));
  EXPECT_FALSE(argon2_detail::Argon2idRaw({1, 64, 0}, "pw", salt, {}, {}, tag));
  EXPECT_FALSE(argon2_detail::Argon2idRaw({1, 15, 2}, "pw", salt, {}, {}, tag));  // m < 8p
  EXPECT_FALSE(argon2_detail::Argon2idRaw({1, 64, 1}, "pw", short_salt, {}, {}, tag));
  EXPECT_FALSE(argon2_detail::Argon2idRaw({1, 64, 1}, "pw", salt, {}, {}, short_tag));
  EXPECT_TRUE(argon2_detail::Argon2idRaw({1, 8, 1}, "pw", salt, {}, {}, tag));
}

// Random passwords, salts, t in 1..max_passes and m in min_kib..min_kib+span_kib-1 (p=1, all
// libsodium's crypto_pwhash takes): the raw tag on every kernel this CPU runs equals libsodium's.
// Everything derives from `seed`, so a failure repeats.
void ExpectRawTagsEqualLibsodium(uint64_t seed, int rounds, uint32_t max_passes, uint32_t min_kib,
                                 uint32_t span_kib) {
  std::mt19937_64 rng(seed);
  for (int round = 0; round < rounds; ++round) {
    const std::string password = RandomBytes(rng, rng() % 129);
    unsigned char salt[crypto_pwhash_SALTBYTES];
    for (unsigned char& byte : salt) byte = static_cast<unsigned char>(rng());
    const uint32_t passes = 1 + static_cast<uint32_t>(rng() % max_passes);
    const uint32_t memory_kib = min_kib + static_cast<uint32_t>(rng() % span_kib);
    const auto expected = LibsodiumRaw(password, salt, passes, memory_kib);
    for (Kernel kernel : kKernels) {
      if (!argon2_detail::KernelAvailable(kernel)) continue;
      unsigned char tag[32];
      ASSERT_TRUE(argon2_detail::Argon2idRaw({passes, memory_kib, 1}, password, {salt, sizeof salt},
                                             {}, {}, tag, kernel));
      ASSERT_EQ(Hex(tag, sizeof tag), Hex(expected.data(), expected.size()))
          << "kernel " << argon2_detail::KernelName(kernel) << " round " << round << " t=" << passes
          << " m=" << memory_kib << " salt " << Hex(salt, sizeof salt) << " password "
          << Hex(reinterpret_cast<const unsigned char*>(password.data()), password.size());
    }
  }
}

// Thousands of random inputs at small m and t (fast).
TEST_F(Argon2FastTest, RawTagsEqualLibsodiumOnRandomInputsAtSmallParameters) {
  ExpectRawTagsEqualLibsodium(20240917, 3000, 4, 8, 121);
}

// Larger areas exercise long reference distances and many address blocks per segment.
TEST_F(Argon2FastTest, RawTagsEqualLibsodiumAtMediumParameters) {
  ExpectRawTagsEqualLibsodium(7, 60, 3, 512, 4096);
}

// Strings with p > 1 (which we never write, but may meet in an imported hash) take our path
// too when their area fits: libsodium, which computes them lane after lane, must accept ours.
TEST_F(Argon2FastTest, SeveralLanesAgreeWithLibsodiumVerify) {
  std::mt19937_64 rng(31);
  for (int round = 0; round < 40; ++round) {
    const std::string password = RandomBytes(rng, rng() % 65);
    unsigned char salt[16];
    for (unsigned char& byte : salt) byte = static_cast<unsigned char>(rng());
    const uint32_t lanes = 2 + static_cast<uint32_t>(rng() % 15);
    const uint32_t passes = 1 + static_cast<uint32_t>(rng() % 3);
    const uint32_t memory_kib = 8 * lanes + static_cast<uint32_t>(rng() % 2048);
    const Params params{passes, memory_kib, lanes};
    for (Kernel kernel : kKernels) {
      if (!argon2_detail::KernelAvailable(kernel)) continue;
      unsigned char tag[32];
      ASSERT_TRUE(argon2_detail::Argon2idRaw(params, password, salt, {}, {}, tag, kernel));
      const std::string phc = argon2_detail::EncodePhc(params, salt, tag);
      EXPECT_EQ(crypto_pwhash_str_verify(phc.c_str(), password.data(), password.size()), 0)
          << argon2_detail::KernelName(kernel) << " " << phc;
      EXPECT_TRUE(VerifyArgon2id(phc, password)) << phc;
      EXPECT_FALSE(VerifyArgon2id(phc, password + "x")) << phc;
    }
  }
}

// Hundreds of random inputs at the real parameters: raw tags equal, PHC strings cross-verify,
// wrong passwords are refused by both. Split over two threads (each with its own work area).
TEST_F(Argon2FastTest, RealParametersAgreeWithLibsodiumBothWays) {
  constexpr int kRounds = 300;
  std::atomic<int> next{0};
  std::vector<std::string> failure_text(kRounds);
  const auto worker = [&] {
    for (int round; (round = next.fetch_add(1)) < kRounds;) {
      std::mt19937_64 rng(1000 + static_cast<uint64_t>(round));
      const std::string password = RandomBytes(rng, rng() % 129);
      std::string wrong = password;
      if (wrong.empty() || rng() % 2 == 0) {
        wrong.push_back(static_cast<char>(rng() & 0xFF));
      } else {
        wrong[rng() % wrong.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      std::string problem;
      if (round % 3 == 0) {
        // Raw tag against crypto_pwhash, with a salt from the round's seed.
        unsigned char salt[crypto_pwhash_SALTBYTES];
        for (unsigned char& byte : salt) byte = static_cast<unsigned char>(rng());
        unsigned char expected[32];
        unsigned char tag[32];
        if (crypto_pwhash(expected, sizeof expected, password.data(), password.size(), salt,
                          kArgon2idPasses, kArgon2idMemoryKiB * 1024ull,
                          crypto_pwhash_ALG_ARGON2ID13) != 0 ||
            !argon2_detail::Argon2idRaw({}, password, {salt, sizeof salt}, {}, {}, tag) ||
            std::memcmp(expected, tag, sizeof tag) != 0) {
          problem = "raw tag differs";
        }
      } else if (round % 3 == 1) {
        // Ours hashes, libsodium verifies.
        auto ours = HashArgon2id(password);
        if (!ours.ok()) {
          problem = "HashArgon2id failed";
        } else if (crypto_pwhash_str_verify(ours->c_str(), password.data(), password.size()) != 0) {
          problem = "libsodium refuses ours: " + *ours;
        } else if (crypto_pwhash_str_verify(ours->c_str(), wrong.data(), wrong.size()) == 0) {
          problem = "libsodium accepts a wrong password against ours";
        } else if (!VerifyArgon2id(*ours, password) || VerifyArgon2id(*ours, wrong)) {
          problem = "ours disagrees with itself";
        }
      } else {
        // libsodium hashes, ours verifies.
        char theirs[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str_alg(theirs, password.data(), password.size(), kArgon2idPasses,
                                  kArgon2idMemoryKiB * 1024ull,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
          problem = "libsodium failed";
        } else if (!VerifyArgon2id(theirs, password)) {
          problem = std::string("ours refuses libsodium's ") + theirs;
        } else if (VerifyArgon2id(theirs, wrong)) {
          problem = "ours accepts a wrong password against libsodium's";
        }
      }
      failure_text[static_cast<std::size_t>(round)] = problem;
    }
  };
  std::thread other(worker);
  worker();
  other.join();
  for (int round = 0; round < kRounds; ++round) {
    EXPECT_TRUE(failure_text[static_cast<std::size_t>(round)].empty())
        << "round " << round << ": " << failure_text[static_cast<std::size_t>(round)];
  }
}

TEST_F(Argon2FastTest, PhcStringHasLibsodiumsExactShape) {
  auto ours = HashArgon2id("correct horse battery staple");
  ASSERT_TRUE(ours.ok());
  char theirs[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(theirs, "x", 1, kArgon2idPasses, kArgon2idMemoryKiB * 1024ull,
                                  crypto_pwhash_ALG_ARGON2ID13),
            0);
  const std::string prefix = "$argon2id$v=19$m=19456,t=2,p=1$";
  EXPECT_EQ(ours->substr(0, prefix.size()), prefix);
  EXPECT_EQ(ours->size(), std::strlen(theirs));
  EXPECT_EQ(ours->size(), prefix.size() + 22 + 1 + 43);
  EXPECT_EQ(
      crypto_pwhash_str_needs_rehash(ours->c_str(), kArgon2idPasses, kArgon2idMemoryKiB * 1024ull),
      0);
  // A known salt and password give libsodium's string byte for byte.
  const unsigned char salt[16] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  unsigned char tag[32];
  ASSERT_TRUE(argon2_detail::Argon2idRaw({}, "correct horse battery staple", salt, {}, {}, tag));
  constexpr char kExpected[] =
      "$argon2id$v=19$m=19456,t=2,p=1$AgICAgICAgICAgICAgICAg$"
      "sZyZ2CKtUsaQyV/MRyYVNTK9rn4Acg0rHku1LbLVkSA";
  EXPECT_EQ(argon2_detail::EncodePhc({}, salt, tag), kExpected);
  const std::string_view password = "correct horse battery staple";
  EXPECT_EQ(crypto_pwhash_str_verify(kExpected, password.data(), password.size()), 0);
}

TEST_F(Argon2FastTest, MalformedAndForeignStringsAnswerLikeLibsodium) {
  const std::string password = "hunter2";
  char small[crypto_pwhash_STRBYTES];
  // Parameters outside the fast path (more memory than the work area) go to libsodium.
  ASSERT_EQ(crypto_pwhash_str_alg(small, password.data(), password.size(), 1, 32 * 1024 * 1024,
                                  crypto_pwhash_ALG_ARGON2ID13),
            0);
  EXPECT_TRUE(VerifyArgon2id(small, password));
  EXPECT_FALSE(VerifyArgon2id(small, "hunter3"));

  auto ours = HashArgon2id(password);
  ASSERT_TRUE(ours.ok());
  const std::string good = *ours;
  std::vector<std::string> variants = {
      "",
      "$argon2id$",
      good.substr(0, good.size() - 1),
      good + "A",
      good + std::string(1, '\0') + "junk",
      "$argon2i$" + good.substr(10),
      "$argon2id$v=16$" + good.substr(15),
      "$argon2id$" + good.substr(15),  // no v=
      "$argon2id$v=19$m=019456,t=2,p=1$" + good.substr(31),
      "$argon2id$v=19$m=19456,t=2,p=0$" + good.substr(31),
      "$argon2id$v=19$m=19456,t=0,p=1$" + good.substr(31),
      "$argon2id$v=19$m=19456,t=2,p=1$$" + good.substr(31),
      "$argon2id$v=19$m=19456,t=2,p=1$" + good.substr(31, 10) + "$" + good.substr(31 + 23),
  };
  // Non-canonical base64: the unused low bits of the last salt / tag character set.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (const std::size_t at : {std::size_t{31 + 21}, good.size() - 1}) {
    std::string changed = good;
    changed[at] = kAlphabet[kAlphabet.find(changed[at]) | 1];
    variants.push_back(changed);
  }
  // Random single-character changes of the good string.
  std::mt19937_64 rng(99);
  for (int k = 0; k < 40; ++k) {
    std::string changed = good;
    const std::size_t at = rng() % changed.size();
    changed[at] = "$=,0123456789+/AZaz"[rng() % 19];
    variants.push_back(changed);
  }
  for (const std::string& phc : variants) {
    const std::string terminated(phc.c_str());  // what libsodium sees
    const bool expected =
        phc.find('\0') == std::string::npos &&
        crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
    EXPECT_EQ(VerifyArgon2id(phc, password), expected) << phc;
  }
}

TEST_F(Argon2FastTest, ThreadsHashConcurrentlyWithTheirOwnAreas) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ok, t] {
      const std::string password = "password-" + std::to_string(t);
      for (int k = 0; k < 3; ++k) {
        auto phc = HashArgon2id(password);
        if (phc.ok() && VerifyArgon2id(*phc, password) && !VerifyArgon2id(*phc, "other")) {
          ok.fetch_add(1);
        }
      }
      ReleaseArgon2idWorkArea();
      ReleaseArgon2idWorkArea();  // twice is harmless
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kThreads * 3);
}

TEST_F(Argon2FastTest, SaltsAreFresh) {
  auto a = HashArgon2id("same");
  auto b = HashArgon2id("same");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace gatehouse::auth
