#include "config/setting_types.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>
#include <utility>

#include "util/secret_strength.hpp"

namespace gatehouse::config {
namespace {

bool ParseInt(const std::string& text, int64_t low, int64_t high, int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value < low || value > high) return false;
  out = value;
  return true;
}

SettingKind PrintableText(SettingType type, std::string Settings::*field) {
  return {type, 0, 0, [field](const std::string& text, Settings& s) {
            const bool printable = std::none_of(text.begin(), text.end(), [](char c) {
              return static_cast<unsigned char>(c) < 0x20;
            });
            return !text.empty() && printable && (s.*field = text, true);
          }};
}

template <typename Field>
SettingKind WholeNumber(SettingType type, Field Settings::*field, int64_t low, int64_t high) {
  return {type, low, high, [=](const std::string& text, Settings& s) {
            int64_t value = 0;
            if (!ParseInt(text, low, high, value)) return false;
            s.*field = static_cast<Field>(value);
            return true;
          }};
}

template <typename Field>
SettingKind Seconds(Field Settings::*field, int64_t low) {
  return {SettingType::kDuration, low, 0, [=](const std::string& text, Settings& s) {
            int64_t value = 0;
            if (!ParseDuration(text, value) || value < low) return false;
            s.*field = Field(value);
            return true;
          }};
}

// scheme "://" host [":" port], lower-case scheme, host of letters, digits, '.', '-', or an
// IPv6 literal in brackets: what a browser writes in Origin (RFC 6454 §6.1).
bool IsOrigin(std::string_view origin) {
  std::string_view rest;
  if (origin.starts_with("https://")) {
    rest = origin.substr(8);
  } else if (origin.starts_with("http://")) {
    rest = origin.substr(7);
  } else {
    return false;
  }
  return !rest.empty() && rest.size() <= 255 && std::all_of(rest.begin(), rest.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
           c == '[' || c == ']' || (c >= 'A' && c <= 'Z');
  });
}

}  // namespace

SettingKind Choice(std::string Settings::*field, std::vector<std::string> choices) {
  return {SettingType::kChoice, 0, 0, [=](const std::string& text, Settings& s) {
            const bool known = std::find(choices.begin(), choices.end(), text) != choices.end();
            return known && (s.*field = text, true);
          }};
}

SettingKind TokenLocation(bool Settings::*headers, bool Settings::*cookies) {
  return {SettingType::kChoice, 0, 0, [=](const std::string& text, Settings& s) {
            const std::vector<std::string> items = SplitList(text);
            bool in_headers = false;
            bool in_cookies = false;
            for (const std::string& item : items) {
              bool& seen = item == "headers" ? in_headers : in_cookies;
              if ((item != "headers" && item != "cookies") || seen) return false;
              seen = true;
            }
            if (!in_headers && !in_cookies) return false;
            s.*headers = in_headers;
            s.*cookies = in_cookies;
            return true;
          }};
}

SettingKind Origins(std::vector<std::string> Settings::*field) {
  return {SettingType::kOrigins, 0, 0, [field](const std::string& text, Settings& s) {
            std::vector<std::string> origins = SplitList(text);
            if (!std::all_of(origins.begin(), origins.end(), IsOrigin)) return false;
            s.*field = std::move(origins);
            return true;
          }};
}

SettingKind Address(std::string Settings::*host, uint16_t Settings::*port) {
  return {SettingType::kAddress, 0, 0, [=](const std::string& text, Settings& s) {
            const auto colon = text.rfind(':');
            if (colon == std::string::npos || colon == 0) return false;
            int64_t number = 0;
            if (!ParseInt(text.substr(colon + 1), 1, 65535, number)) return false;
            std::string name = text.substr(0, colon);
            if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
              name = name.substr(1, name.size() - 2);
            }
            s.*host = name;
            s.*port = static_cast<uint16_t>(number);
            return true;
          }};
}

SettingKind Path(std::string Settings::*field) { return PrintableText(SettingType::kPath, field); }
SettingKind Url(std::string Settings::*field) { return PrintableText(SettingType::kUrl, field); }
SettingKind Text(std::string Settings::*field) { return PrintableText(SettingType::kText, field); }

SettingKind Secret(std::string Settings::*field, int64_t fewest_bytes) {
  return {SettingType::kSecret, fewest_bytes, 0, [=](const std::string& text, Settings& s) {
            return IsStrongSecret(text, static_cast<std::size_t>(fewest_bytes)) &&
                   (s.*field = text, true);
          }};
}

SettingKind Integer(int Settings::*field, int64_t low, int64_t high) {
  return WholeNumber(SettingType::kInteger, field, low, high);
}

SettingKind Bytes(size_t Settings::*field, int64_t low, int64_t high) {
  return WholeNumber(SettingType::kBytes, field, low, high);
}

SettingKind Duration(int64_t Settings::*seconds, int64_t low) { return Seconds(seconds, low); }

SettingKind Duration(std::chrono::seconds Settings::*field, int64_t low) {
  return Seconds(field, low);
}

SettingKind Rate(RateLimit Settings::*field) {
  return {SettingType::kRate, 0, 0,
          [field](const std::string& text, Settings& s) { return ParseRateLimit(text, s.*field); }};
}

SettingKind Boolean(bool Settings::*field) {
  return {SettingType::kBoolean, 0, 0, [field](const std::string& text, Settings& s) {
            if (text != "true" && text != "false") return false;
            s.*field = text == "true";
            return true;
          }};
}

SettingKind Algorithm(JwsAlgorithm Settings::*field) {
  return {SettingType::kAlgorithm, 0, 0, [field](const std::string& text, Settings& s) {
            const auto algorithm = ParseAlgorithm(text);
            return algorithm && (s.*field = *algorithm, true);
          }};
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(std::move(item));
    start = comma + 1;
  }
  return items;
}

SettingKind Networks(std::vector<IpNetwork> Settings::*field) {
  return {SettingType::kNetworks, 0, 0, [field](const std::string& text, Settings& s) {
            std::vector<IpNetwork> networks;
            for (const std::string& item : SplitList(text)) {
              auto network = ParseNetwork(item);
              if (!network) return false;
              networks.push_back(*network);
            }
            s.*field = std::move(networks);
            return true;
          }};
}

namespace {

// How each type is named: in --help, in the docs' type column, and in a refusal. "{low}",
// "{high}" and "{default}" stand for the setting's bounds and default; "{names}" and
// "{names|}" for the algorithm names ("HS256, EdDSA, ES256 or RS256", "HS256|EdDSA|...").
struct TypeWords {
  SettingType type;
  const char* help;
  const char* doc;
  const char* refusal;
};
constexpr TypeWords kTypeWords[] = {
    {SettingType::kAddress, "HOST:PORT", "host:port", "expected host:port"},
    {SettingType::kPath, "PATH", "path", "expected a path"},
    {SettingType::kUrl, "URL", "URL",
     "expected a URL such as sqlite://path or postgresql://user:password@host:port/db"},
    {SettingType::kText, "TEXT", "text", "expected a non-empty string"},
    {SettingType::kSecret, "SECRET", "secret, ≥ {low} bytes",
     "must be at least {low} bytes, not one repeated byte, without whitespace at either end, "
     "not a unit of up to 8 bytes repeated, without control characters"},
    {SettingType::kInteger, "INT", "integer, {low}–{high}",
     "expected a whole number from {low} to {high}"},
    {SettingType::kBytes, "BYTES", "bytes, {low}–{high}",
     "expected a whole number of bytes from {low} to {high}"},
    {SettingType::kDuration, "DURATION", "duration, ≥ {low}s",
     "expected a duration of at least {low}s"},
    {SettingType::kRate, "RATE", "rate", "expected N/duration such as {default}, or 0"},
    {SettingType::kBoolean, "BOOLEAN", "`true` or `false`", "expected true or false"},
    {SettingType::kAlgorithm, "{names|}", "algorithm", "expected {names}"},
    {SettingType::kNetworks, "NETWORKS", "address/CIDR list",
     "expected comma-separated addresses or CIDR networks"},
    {SettingType::kChoice, "WORD", "word", "expected one of the listed words"},
    {SettingType::kOrigins, "ORIGINS", "origin list",
     "expected comma-separated origins such as https://app.example.com"},
};

std::string AlgorithmNames(std::string_view separator, std::string_view last_separator) {
  std::string names;
  for (std::size_t i = 0; i < std::size(kJwsAlgorithms); ++i) {
    if (i > 0) names += i + 1 == std::size(kJwsAlgorithms) ? last_separator : separator;
    names += kJwsAlgorithms[i].name;
  }
  return names;
}

std::string Fill(std::string text, const SettingSpec& spec) {
  const std::pair<std::string, std::string> values[] = {{"{low}", std::to_string(spec.kind.low)},
                                                        {"{high}", std::to_string(spec.kind.high)},
                                                        {"{default}", spec.default_value},
                                                        {"{names}", AlgorithmNames(", ", " or ")},
                                                        {"{names|}", AlgorithmNames("|", "|")}};
  for (const auto& [placeholder, value] : values) {
    for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder)) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

}  // namespace

std::string DescribeType(const SettingSpec& spec, TypeFacet facet) {
  for (const TypeWords& words : kTypeWords) {
    if (words.type != spec.kind.type) continue;
    switch (facet) {
      case TypeFacet::kHelp:
        return Fill(words.help, spec);
      case TypeFacet::kDoc:
        return Fill(words.doc, spec);
      case TypeFacet::kRefusal:
        return Fill(words.refusal, spec);
    }
  }
  return "";
}

std::string ExpectedText(const SettingSpec& spec) {
  return spec.expected.empty() ? DescribeType(spec, TypeFacet::kRefusal) : spec.expected;
}

}  // namespace gatehouse::config
