// Strict parsing of a JSON object with simdjson, for the JWS verifiers and the claim reader.
// Internal to src/auth/*.cpp (it brings simdjson in); nothing outside auth includes it.
// Thread safety: each thread parses with its own parser, reused from call to call.
#pragma once

#include <simdjson.h>

#include <string_view>

namespace gatehouse::auth {

// True when `text` is one RFC 8259 JSON object and nothing else: leading and trailing JSON
// whitespace only, no byte-order mark, no raw NUL, valid UTF-8, no lone surrogate escapes,
// numbers that fit an int64, a uint64 or a finite double, nesting at most 1024 deep. On
// success `object` views this thread's parse: valid until the next ParseJsonObject call on the
// same thread. Parsing the same bytes twice in a row on one thread parses once, which lets a
// verifier check a payload and the claim reader read it without a second parse.
bool ParseJsonObject(std::string_view text, simdjson::dom::object& object);

}  // namespace gatehouse::auth
