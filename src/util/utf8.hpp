// Well-formed UTF-8 (RFC 3629) for text a client sent as bytes: a header stored and answered
// as a JSON string (a session's user agent) must be valid UTF-8 within its byte bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gatehouse {

// The length of the well-formed UTF-8 sequence (no overlong forms, no surrogates, nothing
// above U+10FFFF) that starts at text[i], a byte >= 0x80; 0 when there is none.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

// `text` as well-formed UTF-8 of at most `max_bytes` bytes: each byte that is not part of a
// well-formed sequence, and each control character but TAB (C0 and DEL), becomes U+FFFD (three
// bytes), and the result is cut after the last whole character that fits. Replacing before
// cutting is what keeps the bound: a byte replaced after a cut would triple.
std::string PrintableUtf8(std::string_view text, std::size_t max_bytes);

}  // namespace gatehouse
