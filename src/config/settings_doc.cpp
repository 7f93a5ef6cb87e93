#include "config/settings_doc.hpp"

#include <algorithm>

#include "config/setting_types.hpp"

namespace gatehouse::config {
namespace {

std::string WithoutBackticks(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), '`'), text.end());
  return text;
}

std::string Code(const std::string& text) { return "`" + text + "`"; }

std::string DocDefault(const SettingSpec& spec) {
  if (!spec.default_value.empty()) return Code(spec.default_value);
  return spec.default_note.empty() ? "none" : spec.default_note;
}

std::string DocRow(const SettingSpec& spec) {
  return "| " + Code(spec.name) + " | " + DescribeType(spec, TypeFacet::kDoc) + " | " +
         DocDefault(spec) + " | " + Code("--" + FlagName(spec.name)) + " / " +
         Code(EnvName(spec.name)) + " / " + Code(TomlKey(spec.name)) + " | " +
         (spec.doc.empty() ? spec.help : spec.doc) + " |\n";
}

}  // namespace

std::string HelpType(const SettingSpec& spec) { return DescribeType(spec, TypeFacet::kHelp); }

std::string HelpText(const SettingSpec& spec) {
  std::string shown_default;
  if (spec.kind.type != SettingType::kSecret) {
    const std::string& value = spec.default_value.empty() ? spec.default_note : spec.default_value;
    shown_default = "default " + (value.empty() ? "none" : WithoutBackticks(value)) + ", ";
  }
  return spec.help + " (" + shown_default + "env " + EnvName(spec.name) + ")";
}

std::string SettingsMarkdown() {
  std::string text =
      "# Settings reference\n"
      "\n"
      "<!-- Generated from src/config/setting_table.cpp by\n"
      "     `gatehouse settings --markdown > docs/settings.md`: edit the declaration, not this "
      "file. -->\n"
      "\n"
      "How a setting is given and which source wins: [the operator's guide]"
      "(operations.md#configuration-reference). Durations take `s m h d` suffixes or plain "
      "seconds; rates are `N/duration` (`10/15m`), `0` turning a limit off.\n"
      "\n"
      "| setting | type | default | flag / environment / TOML | meaning |\n"
      "|---|---|---|---|---|\n";
  for (const SettingSpec& spec : AllSettings()) text += DocRow(spec);
  return text;
}

}  // namespace gatehouse::config
