// Decoding request bodies (application/json or application/x-www-form-urlencoded) into the
// string fields a handler asks for. Strict on purpose: duplicate keys, invalid UTF-8, deep
// nesting or a top level that is not an object are refused, never guessed at.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace gatehouse::http {

// The fields a handler wants, in the order it named them; nullopt when absent.
using Fields = std::vector<std::optional<std::string>>;

// Nesting deeper than this is refused: no legitimate client sends it, and it bounds work.
inline constexpr int kMaxJsonDepth = 16;

// Errors: kUnsupportedMedia for a Content-Type other than JSON or form (an empty Content-Type
// with an empty body is an empty form); kMalformedBody for anything unparseable, duplicate
// keys, invalid UTF-8; a FieldError (kBadRequest) "<field>: must be a string" / "must not contain
// NUL bytes" for a wanted field with such a value. Unknown fields are ignored.
Result<Fields> DecodeFields(std::string_view content_type, std::string_view body,
                            const std::vector<std::string_view>& wanted);

// True when the media type of `content_type` is application/json (parameters and case aside).
bool IsJsonContentType(std::string_view content_type);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace gatehouse::http
