// The JWS algorithms gatehouse signs and verifies with (RFC 7518, RFC 8037): the value of the
// jwt.algorithm setting, implemented by auth/ (auth::Algorithm is this type). Here, below both,
// so that config/ names them without depending on auth/.
#pragma once

#include <optional>
#include <string_view>

namespace gatehouse {

// HS256 keys are auth::HmacKey; the others are asymmetric: EdDSA = Ed25519,
// ES256 = ECDSA P-256 + SHA-256, RS256 = RSASSA-PKCS1-v1_5 + SHA-256.
enum class JwsAlgorithm { kHS256, kEdDSA, kES256, kRS256 };

struct NamedJwsAlgorithm {
  JwsAlgorithm algorithm;
  std::string_view name;  // the RFC 7518 / 8037 name
};
// Every one with its name, in the order the documentation lists them.
inline constexpr NamedJwsAlgorithm kJwsAlgorithms[] = {{JwsAlgorithm::kHS256, "HS256"},
                                                       {JwsAlgorithm::kEdDSA, "EdDSA"},
                                                       {JwsAlgorithm::kES256, "ES256"},
                                                       {JwsAlgorithm::kRS256, "RS256"}};

// Exact, case-sensitive match of "HS256", "EdDSA", "ES256", "RS256" (RFC 7518 names).
// Returns nullopt for anything else, including "none".
constexpr std::optional<JwsAlgorithm> ParseAlgorithm(std::string_view name) {
  for (const auto& named : kJwsAlgorithms) {
    if (named.name == name) return named.algorithm;
  }
  return std::nullopt;
}

// The RFC 7518 / 8037 name, e.g. "EdDSA".
constexpr std::string_view AlgorithmName(JwsAlgorithm algorithm) {
  for (const auto& named : kJwsAlgorithms) {
    if (named.algorithm == algorithm) return named.name;
  }
  return "";
}

}  // namespace gatehouse
