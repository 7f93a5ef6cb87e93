#include "auth/json_object.hpp"

#include <cstring>
#include <memory>

namespace gatehouse::auth {
namespace {

// The parser's buffers grow in steps of this many bytes, so texts of slightly different
// lengths do not each reallocate them.
constexpr std::size_t kCapacityStep = 1024;

// One per thread. The input is copied into `text`, padded as simdjson requires; after a
// successful parse it doubles as the key of the one-entry cache.
struct ThreadParser {
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> text;
  std::size_t text_capacity = 0;
  std::size_t size = 0;
  bool cached = false;  // text[0, size) parsed into `object`
  simdjson::dom::object object;

  bool Parse(std::string_view input) {
    cached = false;
    const std::size_t capacity = (input.size() / kCapacityStep + 1) * kCapacityStep;
    if (text_capacity < capacity) {
      text = std::make_unique<char[]>(capacity + simdjson::SIMDJSON_PADDING);
      text_capacity = capacity;
    }
    if (parser.capacity() < capacity && parser.allocate(capacity) != simdjson::SUCCESS) {
      return false;
    }
    if (!input.empty()) std::memcpy(text.get(), input.data(), input.size());
    size = input.size();
    cached = !parser.parse(text.get(), size, /*realloc_if_needed=*/false).get(object);
    return cached;
  }
};

bool IsJsonWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool ParseJsonObject(std::string_view text, simdjson::dom::object& object) {
  thread_local ThreadParser mine;
  if (mine.cached && mine.size == text.size() &&
      std::memcmp(mine.text.get(), text.data(), text.size()) == 0) {
    object = mine.object;
    return true;
  }
  // simdjson already refuses these; the checks are cheap and keep the rules independent of
  // its version (a raw NUL is never JSON; a byte-order mark is not JSON text per RFC 8259 §8.1).
  std::size_t first = 0;
  while (first < text.size() && IsJsonWhitespace(text[first])) ++first;
  if (first == text.size() || text[first] != '{' ||
      std::memchr(text.data(), '\0', text.size()) != nullptr || !mine.Parse(text)) {
    mine.cached = false;
    return false;
  }
  object = mine.object;
  return true;
}

}  // namespace gatehouse::auth
