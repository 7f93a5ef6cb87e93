#include "http/accept.hpp"

#include <string>
#include <vector>

#include "util/ascii.hpp"

namespace gatehouse::http {
namespace {

// `text` cut at every `separator` outside a quoted string (RFC 9110 §5.6.4: `"` ... `"`, with
// `\` escaping the next character), each piece trimmed of spaces and tabs.
std::vector<std::string_view> SplitOutsideQuotes(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (quoted && text[i] == '\\') {
      ++i;  // the escaped character, whatever it is
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && text[i] == separator) {
      pieces.push_back(TrimOws(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  pieces.push_back(TrimOws(text.substr(start)));  // start <= size: it follows a separator
  return pieces;
}

bool IsDigits(std::string_view text) {
  return text.find_first_not_of("0123456789") == std::string_view::npos;
}

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ). Whether
// `value` is one above 0; a malformed one is not.
bool IsPositiveQvalue(std::string_view value) {
  if (value.empty() || (value[0] != '0' && value[0] != '1')) return false;
  std::string_view decimals;
  if (value.size() > 1) {
    if (value[1] != '.' || value.size() > 5) return false;
    decimals = value.substr(2);
    if (!IsDigits(decimals)) return false;
  }
  if (value[0] == '1') return decimals.find_first_not_of('0') == std::string_view::npos;
  return decimals.find_first_not_of('0') != std::string_view::npos;
}

}  // namespace

bool AcceptsMediaType(std::string_view accept, std::string_view media_type) {
  const std::string lowered = AsciiLower(accept);
  const std::string wanted = AsciiLower(media_type);
  for (std::string_view range : SplitOutsideQuotes(lowered, ',')) {
    const std::vector<std::string_view> parts = SplitOutsideQuotes(range, ';');
    if (parts[0] != wanted) continue;
    for (std::size_t i = 1; i < parts.size(); ++i) {
      const std::size_t equals = parts[i].find('=');
      if (TrimOws(parts[i].substr(0, equals)) != "q") continue;
      // The first q decides (RFC 9110 gives a range one weight).
      return equals != std::string_view::npos &&
             IsPositiveQvalue(TrimOws(parts[i].substr(equals + 1)));
    }
    return true;  // no q: quality 1
  }
  return false;
}

}  // namespace gatehouse::http
