// The webhook settings' kinds (config/setting_types.hpp).
#include <sodium.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "config/setting_types.hpp"
#include "util/event_types.hpp"
#include "util/secret_strength.hpp"

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

}  // namespace

std::optional<std::string> DecodeWebhookSecret(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  constexpr std::size_t kFewestBytes = 24;
  constexpr std::size_t kMostBytes = 64;
  if (!secret.starts_with(kPrefix)) return std::nullopt;
  const std::string_view encoded = secret.substr(kPrefix.size());
  std::string key(encoded.size(), '\0');
  std::size_t size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(key.data()), key.size(), encoded.data(),
                        encoded.size(), nullptr, &size, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != encoded.data() + encoded.size()) {
    return std::nullopt;
  }
  key.resize(size);
  // 24 NUL bytes, or "abab…", have a key's length and none of its worth.
  if (size < kFewestBytes || size > kMostBytes || IsShortUnitRepeated(key)) return std::nullopt;
  return key;
}

SettingKind WebhookUrls(std::vector<std::string> Settings::*field) {
  return {SettingType::kText, 0, 0, [field](const std::string& text, Settings& s) {
            std::vector<std::string> urls = SplitList(text);
            const bool valid = !urls.empty() && urls.size() <= kMostUrls &&
                               std::all_of(urls.begin(), urls.end(),
                                           [](const std::string& url) { return IsHttpUrl(url); });
            return valid && (s.*field = std::move(urls), true);
          }};
}

SettingKind WebhookSecret(std::string Settings::*key) {
  return {SettingType::kSecret, 0, 0, [key](const std::string& text, Settings& s) {
            std::optional<std::string> decoded = DecodeWebhookSecret(text);
            return decoded && (s.*key = std::move(*decoded), true);
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
