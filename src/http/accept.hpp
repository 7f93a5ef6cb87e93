// Content negotiation by the Accept header (RFC 9110 §12.5.1), as far as gatehouse needs it:
// whether a client asked for one media type.
#pragma once

#include <string_view>

namespace gatehouse::http {

// Whether `accept` lists `media_type` itself (case-insensitively; not through `*/*` or
// `text/*`) with a quality above 0. Commas and semicolons inside quoted parameter values do not
// split; a `q` that is not a well-formed qvalue ("0" to "1", at most three decimals) counts as 0,
// so a malformed range never selects the type.
bool AcceptsMediaType(std::string_view accept, std::string_view media_type);

}  // namespace gatehouse::http
