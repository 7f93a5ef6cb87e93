// Request bodies (JSON and form) through the field decoder. The first byte picks the media type.
#include <cstdint>
#include <string_view>

#include "http/body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kTypes[] = {
      "application/json", "application/x-www-form-urlencoded", "", "text/plain"};
  const std::string_view content_type = kTypes[data[0] % 4];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto fields = gatehouse::http::DecodeFields(content_type, body, {"username", "password"});
  if (fields.ok()) {
    if (fields->size() != 2) __builtin_trap();
    for (const auto& field : *fields) {
      // Decoded fields never carry NUL bytes or invalid UTF-8 onward.
      if (field &&
          (field->find('\0') != std::string::npos || !gatehouse::http::IsValidUtf8(*field))) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
