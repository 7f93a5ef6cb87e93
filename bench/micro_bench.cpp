// Micro-benchmarks of the hot paths: sign and verify per algorithm (through the Keyring the
// server uses), the full token check of GET /me, the revocation lookup, the per-user refresh
// limit check, and body decoding.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "auth/keyring.hpp"
#include "auth/passwords.hpp"
#include "auth/rate_limiter.hpp"
#include "auth/revocation_set.hpp"
#include "auth/token_service.hpp"
#include "http/body.hpp"

namespace {

using namespace gatehouse;

constexpr std::string_view kPayload =
    R"({"fresh":true,"iat":1795520380,"jti":"bd36ac05-7158-4e2b-9be8-c4fd7102b4d2","type":"access","sub":"alice","nbf":1795520380,"exp":1795522180,"sid":"f518e506-291f-4418-8e7f-bd196d9e77e2"})";

std::unique_ptr<auth::Keyring> MakeKeyring(auth::Algorithm algorithm) {
  auth::InitCrypto();
  auth::KeyringOptions options;
  options.algorithm = algorithm;
  options.hmac_secret = std::string(43, 'k');
  options.data_dir = (std::filesystem::temp_directory_path() /
                      ("gatehouse-bench-" + std::to_string(std::random_device{}())))
                         .string();
  std::filesystem::create_directories(options.data_dir);
  options.max_token_lifetime = 3600;
  auto keyring = auth::Keyring::Open(options, 1795520380);
  std::filesystem::remove_all(options.data_dir);
  return std::move(keyring).value();
}

void BM_Sign(benchmark::State& state, auth::Algorithm algorithm) {
  const auto keyring = MakeKeyring(algorithm);
  for (auto _ : state) benchmark::DoNotOptimize(keyring->Sign(kPayload));
}

void BM_Verify(benchmark::State& state, auth::Algorithm algorithm) {
  const auto keyring = MakeKeyring(algorithm);
  const std::string token = keyring->Sign(kPayload);
  std::string payload;
  for (auto _ : state) {
    if (!keyring->Verify(token, payload).ok()) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(payload);
  }
}

BENCHMARK_CAPTURE(BM_Sign, HS256, auth::Algorithm::kHS256);
BENCHMARK_CAPTURE(BM_Verify, HS256, auth::Algorithm::kHS256);
BENCHMARK_CAPTURE(BM_Sign, EdDSA, auth::Algorithm::kEdDSA);
BENCHMARK_CAPTURE(BM_Verify, EdDSA, auth::Algorithm::kEdDSA);
BENCHMARK_CAPTURE(BM_Sign, ES256, auth::Algorithm::kES256);
BENCHMARK_CAPTURE(BM_Verify, ES256, auth::Algorithm::kES256);
BENCHMARK_CAPTURE(BM_Sign, RS256, auth::Algorithm::kRS256);
BENCHMARK_CAPTURE(BM_Verify, RS256, auth::Algorithm::kRS256);

// The whole check GET /me makes: signature, claims, time, type and three revocation lookups.
void BM_VerifyAccessToken(benchmark::State& state) {
  auth::InitCrypto();
  auth::RevocationSet revocations;
  for (int i = 0; i < state.range(0); ++i) revocations.Revoke(auth::NewUuid(), 4102444800);
  auth::TokenService tokens(std::string(43, 'k'), {}, revocations,
                            [] { return int64_t{1795520380}; });
  const std::string token = tokens.IssuePair("alice").access_token;
  for (auto _ : state) {
    auto claims = tokens.Verify(token, auth::TokenType::kAccess);
    if (!claims) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_VerifyAccessToken)->Arg(0)->Arg(1000000);

// As the server sees them: each check a different token (user, jti, sid) from the one before,
// so no per-thread state can carry over from one check to the next.
void BM_VerifyDistinctAccessTokens(benchmark::State& state) {
  auth::InitCrypto();
  auth::RevocationSet revocations;
  auth::TokenService tokens(std::string(43, 'k'), {}, revocations,
                            [] { return int64_t{1795520380}; });
  std::vector<std::string> issued;
  for (int i = 0; i < 64; ++i) {
    issued.push_back(tokens.IssuePair("user" + std::to_string(i)).access_token);
  }
  std::size_t next = 0;
  for (auto _ : state) {
    auto claims = tokens.Verify(issued[next++ % issued.size()], auth::TokenType::kAccess);
    if (!claims) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_VerifyDistinctAccessTokens);

// The JWS layer alone (HS256 through the Keyring), each token different from the one before.
void BM_VerifyDistinctHS256(benchmark::State& state) {
  const auto keyring = MakeKeyring(auth::Algorithm::kHS256);
  std::vector<std::string> signed_tokens;
  for (int i = 0; i < 64; ++i) {
    std::string payload(kPayload);
    payload.replace(payload.find("alice"), 5, "user" + std::to_string(i % 10));
    payload.replace(payload.find("bd36ac05"), 8, "bd36ac" + std::to_string(10 + i));
    signed_tokens.push_back(keyring->Sign(payload));
  }
  std::string payload;
  std::size_t next = 0;
  for (auto _ : state) {
    if (!keyring->Verify(signed_tokens[next++ % signed_tokens.size()], payload).ok()) {
      state.SkipWithError("verify failed");
    }
    benchmark::DoNotOptimize(payload);
  }
}
BENCHMARK(BM_VerifyDistinctHS256);

void BM_RevocationLookup(benchmark::State& state) {
  auth::InitCrypto();
  auth::RevocationSet revocations;
  for (int i = 0; i < state.range(0); ++i) revocations.Revoke(auth::NewUuid(), 4102444800);
  const std::string probe = auth::NewUuid();
  for (auto _ : state) benchmark::DoNotOptimize(revocations.IsRevoked(probe));
}
BENCHMARK(BM_RevocationLookup)->Arg(0)->Arg(1000000);

// What POST /token/refresh adds for rate_limit.refresh_per_user: the user's digest and one
// take, at a rate that never refuses; range(0) other users already in the table.
void BM_RefreshLimitCheck(benchmark::State& state) {
  auth::InitCrypto();
  auth::RateLimiter limiter(RateLimit{1000000000, 1});
  int64_t now = auth::MonotonicMillis();
  for (int i = 0; i < state.range(0); ++i) {
    limiter.Take(auth::LimiterKeyOf("user" + std::to_string(i), {}), now);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.Take(auth::LimiterKeyOf("Alice.Example", {}), ++now));
  }
}
BENCHMARK(BM_RefreshLimitCheck)->Arg(0)->Arg(100000);

void BM_DecodeJsonBody(benchmark::State& state) {
  const std::string body = R"({"username":"alice","password":"correct horse battery"})";
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        http::DecodeFields("application/json", body, {"username", "password"}));
  }
}
BENCHMARK(BM_DecodeJsonBody);

void BM_DecodeFormBody(benchmark::State& state) {
  const std::string body = "username=alice&password=correct+horse+battery";
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        http::DecodeFields("application/x-www-form-urlencoded", body, {"username", "password"}));
  }
}
BENCHMARK(BM_DecodeFormBody);

}  // namespace

BENCHMARK_MAIN();
