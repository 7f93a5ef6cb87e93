// The webhook settings' kinds (config/setting_types.hpp).
#include <algorithm>
#include <array>
#include <string_view>

#include "config/setting_types.hpp"
#include "util/event_types.hpp"

namespace gatehouse::config {
namespace {

constexpr std::size_t kMostUrls = 16;
constexpr std::size_t kLongestUrl = 2048;

bool IsHttpUrl(std::string_view url) {
  const bool printable = std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
  });
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (url.starts_with(scheme) && url.size() > scheme.size()) {
      return printable && url.size() <= kLongestUrl;
    }
  }
  return false;
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// The number of bytes `text` decodes to as padded standard base64, or -1 when it is none.
int64_t Base64Length(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return -1;
  std::size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  const std::string_view body = text.substr(0, text.size() - padding);
  if (!std::all_of(body.begin(), body.end(), IsBase64Char)) return -1;
  return static_cast<int64_t>(text.size() / 4 * 3 - padding);
}

}  // namespace

SettingKind WebhookUrls(std::vector<std::string> Settings::*field) {
  return {SettingType::kText, 0, 0, [field](const std::string& text, Settings& s) {
            std::vector<std::string> urls = SplitList(text);
            const bool valid = !urls.empty() && urls.size() <= kMostUrls &&
                               std::all_of(urls.begin(), urls.end(),
                                           [](const std::string& url) { return IsHttpUrl(url); });
            return valid && (s.*field = std::move(urls), true);
          }};
}

SettingKind WebhookSecret(std::string Settings::*field) {
  constexpr std::string_view kPrefix = "whsec_";
  return {SettingType::kSecret, 0, 0, [=](const std::string& text, Settings& s) {
            if (!std::string_view(text).starts_with(kPrefix)) return false;
            const int64_t bytes = Base64Length(std::string_view(text).substr(kPrefix.size()));
            return bytes >= 24 && bytes <= 64 && (s.*field = text, true);
          }};
}

SettingKind EventTypes(std::vector<std::string> Settings::*field) {
  return {SettingType::kText, 0, 0, [field](const std::string& text, Settings& s) {
            std::vector<std::string> types = SplitList(text);
            const bool known =
                !types.empty() && std::all_of(types.begin(), types.end(), [](const auto& type) {
                  return IsEventType(type);  // a type not among them is a typo
                });
            return known && (s.*field = std::move(types), true);
          }};
}

}  // namespace gatehouse::config
