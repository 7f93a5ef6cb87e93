// A tiny writer for the flat JSON objects this service answers with. It exists because the
// hot paths (/me, /token/refresh) should not build a DOM to print four fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse {

// Appends `text` as a JSON string literal (quotes included), escaping as RFC 8259 requires;
// a byte that is not part of well-formed UTF-8 becomes U+FFFD, so the result is always valid
// JSON whatever bytes a client sent.
void AppendJsonString(std::string& out, std::string_view text);

class JsonObjectWriter {
 public:
  JsonObjectWriter() {
    out_.reserve(256);
    out_ += '{';
  }
  JsonObjectWriter& Add(std::string_view key, std::string_view value);
  JsonObjectWriter& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  JsonObjectWriter& Add(std::string_view key, int64_t value);
  JsonObjectWriter& Add(std::string_view key, bool value);
  // Closes the object and hands the text over.
  std::string Finish();

 private:
  void Key(std::string_view key);
  std::string out_;
  bool first_ = true;
};

}  // namespace gatehouse
