// The kinds of value a setting can take, for the declaration in config/setting_table.cpp: each
// builder gives the type and bounds of a setting and how its text is checked and stored into
// one field of Settings. A value is refused (apply returns false) without touching the field.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"

namespace gatehouse::config {

// host:port, the host an IPv6 address in brackets ("[::1]:5000"); the port 1 to 65535.
SettingKind Address(std::string Settings::*host, uint16_t Settings::*port);
// Non-empty text without control characters.
SettingKind Path(std::string Settings::*field);
SettingKind Url(std::string Settings::*field);
SettingKind Text(std::string Settings::*field);
// A secret util/secret_strength.hpp's IsStrongSecret accepts.
SettingKind Secret(std::string Settings::*field, int64_t fewest_bytes);
// Decimal digits only, from `low` to `high`.
SettingKind Integer(int Settings::*field, int64_t low, int64_t high);
SettingKind Bytes(size_t Settings::*field, int64_t low, int64_t high);
// util/duration.hpp's forms, at least `low` seconds.
SettingKind Duration(int64_t Settings::*seconds, int64_t low);
SettingKind Duration(std::chrono::seconds Settings::*field, int64_t low);
// util/duration.hpp's N/duration, or 0 for no limit.
SettingKind Rate(RateLimit Settings::*field);
// Exactly "true" or "false".
SettingKind Boolean(bool Settings::*field);
// One of util/jws_algorithm.hpp's names, exactly.
SettingKind Algorithm(JwsAlgorithm Settings::*field);
// The non-empty items of a comma-separated list, spaces around them trimmed.
std::vector<std::string> SplitList(const std::string& text);
// Comma-separated addresses or CIDR networks; spaces around items and empty items ignored.
SettingKind Networks(std::vector<IpNetwork> Settings::*field);
// Exactly one of `choices`.
SettingKind Choice(std::string Settings::*field, std::vector<std::string> choices);
// tokens.location: "headers", "cookies" or "headers,cookies" (either order).
SettingKind TokenLocation(bool Settings::*headers, bool Settings::*cookies);
// Comma-separated origins, each http(s)://host[:port] as a browser sends it in Origin: no
// path, no wildcard, no "null" (a sandboxed page's origin, which any page can claim).
SettingKind Origins(std::vector<std::string> Settings::*field);

// Webhooks (config/webhook_setting_types.cpp): comma-separated http:// or https:// URLs; a
// Standard Webhooks secret, stored decoded (DecodeWebhookSecret); comma-separated event types
// of API.md §12. Spaces around items and empty items are ignored.
SettingKind WebhookUrls(std::vector<std::string> Settings::*field);
SettingKind WebhookSecret(std::string Settings::*key);
SettingKind EventTypes(std::vector<std::string> Settings::*field);

// The signing key of a Standard Webhooks secret: "whsec_" + padded standard base64 of 24 to 64
// bytes that are not one short unit repeated (util/secret_strength.hpp); nullopt otherwise.
std::optional<std::string> DecodeWebhookSecret(std::string_view secret);

// A setting's type in words: for --help ("INT"), the docs' type column ("integer, 1–256") or a
// refusal ("expected a whole number from 1 to 256").
enum class TypeFacet { kHelp, kDoc, kRefusal };
std::string DescribeType(const SettingSpec& spec, TypeFacet facet);

}  // namespace gatehouse::config
