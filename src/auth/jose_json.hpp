// The JSON rules shared by every JWS verifier here (HS256 in jws.cpp, the asymmetric ones in
// signing_key.cpp), so that both refuse exactly the same headers and payloads.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "auth/jws.hpp"

namespace gatehouse::auth {

// A JOSE header's JSON text as an object, or nullopt when it holds a raw NUL byte, is not an
// object, repeats a member name (RFC 7515 §4 allows refusing that), carries `crit` (no
// extension is understood here), or has a `typ` other than "JWT" (ASCII case ignored).
std::optional<nlohmann::json> ParseJoseHeader(std::string_view text);

// True when `text` is one JSON object and nothing else (no raw NUL bytes).
bool IsJsonObjectText(std::string_view text);

// The three parts of a compact JWS (still base64url). SplitCompact is false for a token over
// kMaxTokenBytes, without exactly two dots, or with an empty header, payload or signature.
struct CompactParts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // header.payload, what the signature covers
};
bool SplitCompact(std::string_view token, CompactParts& parts);

}  // namespace gatehouse::auth
