// The JSON rules shared by every JWS verifier here (HS256 in jws.cpp, the asymmetric ones in
// signing_key.cpp), so that both refuse exactly the same headers and payloads.
// Thread safety: every function may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/jws.hpp"

namespace gatehouse::auth {

// What a verifier needs from a JOSE header.
struct JoseHeader {
  std::string alg;
  std::optional<std::string> kid;
};

// A JOSE header's JSON text, or nullopt when it is not one JSON object (ParseJsonObject's
// rules), repeats a member name (RFC 7515 §4 allows refusing that), carries `crit` (no
// extension is understood here), has a `typ` other than "JWT" (ASCII case ignored), lacks a
// string `alg`, or has a `kid` that is not a string. Only top-level members count.
std::optional<JoseHeader> ParseJoseHeader(std::string_view text);

// True when `text` is one JSON object and nothing else (ParseJsonObject's rules). The parse
// is kept for this thread, so reading the same payload's claims next costs no second parse.
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
