#include "http/body.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace gatehouse::http {
namespace {

enum class MediaType { kJson, kForm, kNone, kOther };

MediaType ClassifyContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  auto equals = [&](std::string_view want) {
    return std::equal(media.begin(), media.end(), want.begin(), want.end(),
                      [](char a, char b) { return std::tolower((unsigned char)a) == b; });
  };
  if (media.empty()) return MediaType::kNone;
  if (equals("application/json")) return MediaType::kJson;
  if (equals("application/x-www-form-urlencoded")) return MediaType::kForm;
  return MediaType::kOther;
}

// Stores a decoded value for a wanted field. NUL bytes would be truncated by C APIs further
// down, so they are refused here rather than silently cut.
std::optional<Error> Accept(const std::vector<std::string_view>& wanted, std::string_view key,
                            std::string value, Fields& fields) {
  const auto it = std::find(wanted.begin(), wanted.end(), key);
  if (it == wanted.end()) return std::nullopt;
  if (value.find('\0') != std::string::npos) return FieldError(key, "must not contain NUL bytes");
  fields[it - wanted.begin()] = std::move(value);
  return std::nullopt;
}

// SAX consumer: sees the document once, keeps only wanted top-level strings, and aborts on the
// first thing it refuses (returning false stops nlohmann's parser at once).
class FieldCollector : public nlohmann::json_sax<nlohmann::json> {
 public:
  FieldCollector(const std::vector<std::string_view>& wanted, Fields& fields)
      : wanted_(wanted), fields_(fields) {}

  std::optional<Error> error;

  bool null() override { return Scalar(); }
  bool boolean(bool) override { return Scalar(); }
  bool number_integer(number_integer_t) override { return Scalar(); }
  bool number_unsigned(number_unsigned_t) override { return Scalar(); }
  bool number_float(number_float_t, const string_t&) override { return Scalar(); }
  bool binary(binary_t&) override { return Fail(ErrorCode::kMalformedBody); }
  bool string(string_t& value) override {
    if (depth_ != 1) return depth_ > 1 || Fail(ErrorCode::kMalformedBody);
    error = Accept(wanted_, key_, std::move(value), fields_);
    return !error;
  }
  bool start_object(std::size_t) override { return Open(); }
  bool end_object() override { return --depth_, true; }
  bool start_array(std::size_t) override {
    return depth_ == 0 ? Fail(ErrorCode::kMalformedBody) : Open();
  }
  bool end_array() override { return --depth_, true; }
  bool key(string_t& key) override {
    if (depth_ != 1) return true;
    if (!seen_keys_.insert(key).second) return Fail(ErrorCode::kMalformedBody);
    key_ = key;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    if (!error) error = Error{ErrorCode::kMalformedBody, {}};
    return false;
  }

 private:
  bool Open() {
    // A wanted field holding an object or array is the wrong type, not a malformed body.
    if (depth_ == 1 && IsWanted()) return FieldFail("must be a string");
    if (++depth_ > kMaxJsonDepth) return Fail(ErrorCode::kMalformedBody);
    return true;
  }
  bool Scalar() {
    if (depth_ == 0) return Fail(ErrorCode::kMalformedBody);
    if (depth_ == 1 && IsWanted()) return FieldFail("must be a string");
    return true;
  }
  bool IsWanted() const { return std::find(wanted_.begin(), wanted_.end(), key_) != wanted_.end(); }
  bool Fail(ErrorCode code) { return error = Error{code, {}}, false; }
  bool FieldFail(std::string_view what) { return error = FieldError(key_, what), false; }

  const std::vector<std::string_view>& wanted_;
  Fields& fields_;
  int depth_ = 0;
  std::string key_;
  std::set<std::string> seen_keys_;
};

Result<Fields> DecodeJson(std::string_view body, const std::vector<std::string_view>& wanted) {
  // nlohmann's lexer takes a raw NUL for the end of input and would ignore what follows; a raw
  // NUL is never valid JSON anyway (inside strings it must be escaped).
  if (body.find('\0') != std::string_view::npos) return ErrorCode::kMalformedBody;
  Fields fields(wanted.size());
  FieldCollector collector(wanted, fields);
  const bool ok = nlohmann::json::sax_parse(body, &collector, nlohmann::json::input_format_t::json,
                                            /*strict=*/true);
  if (collector.error) return *collector.error;
  if (!ok) return ErrorCode::kMalformedBody;
  return fields;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int high = HexValue(in[i + 1]);
      const int low = HexValue(in[i + 2]);
      if (high < 0 || low < 0) return false;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return IsValidUtf8(out);
}

Result<Fields> DecodeForm(std::string_view body, const std::vector<std::string_view>& wanted) {
  Fields fields(wanted.size());
  std::set<std::string> seen_keys;
  std::string key;
  std::string value;
  while (!body.empty()) {
    const std::size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    if (!PercentDecode(pair.substr(0, eq), key)) return ErrorCode::kMalformedBody;
    if (!PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), value)) {
      return ErrorCode::kMalformedBody;
    }
    if (!seen_keys.insert(key).second) return ErrorCode::kMalformedBody;
    if (auto error = Accept(wanted, key, std::move(value), fields)) return *error;
  }
  return fields;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    int extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++p;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else
      return false;
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinForLength[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

bool IsJsonContentType(std::string_view content_type) {
  return ClassifyContentType(content_type) == MediaType::kJson;
}

Result<Fields> DecodeFields(std::string_view content_type, std::string_view body,
                            const std::vector<std::string_view>& wanted) {
  switch (ClassifyContentType(content_type)) {
    case MediaType::kJson:
      return DecodeJson(body, wanted);
    case MediaType::kForm:
      return DecodeForm(body, wanted);
    case MediaType::kNone:
      if (body.empty()) return Fields(wanted.size());
      return ErrorCode::kUnsupportedMedia;
    case MediaType::kOther:
      break;
  }
  return ErrorCode::kUnsupportedMedia;
}

}  // namespace gatehouse::http
