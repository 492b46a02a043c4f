#include "text/html_unescape.h"

#include <string_view>
#include <unordered_map>

#include "text/utf8.h"

namespace dinoclip {
namespace {

struct NamedReference {
  const char* name;
  const char* utf8_value;
  bool semicolon_optional;
};

constexpr NamedReference kNamedReferences[] = {
#include "text/html_entities.inc"
};

const std::unordered_map<std::string_view, const NamedReference*>& named_references() {
  static const auto* table = [] {
    auto* map = new std::unordered_map<std::string_view, const NamedReference*>();
    for (const NamedReference& ref : kNamedReferences) map->emplace(ref.name, &ref);
    return map;
  }();
  return *table;
}

constexpr char32_t kReplacement = 0xFFFD;
constexpr char32_t kMaxCodepoint = 0x10FFFF;
constexpr size_t kMaxNameLength = 32;  // Python's pattern: [^\t\n\f <&#;]{1,32}

// What HTML5 (and Python) substitute for &#128;..&#159;: the Windows-1252
// characters, except the five bytes Windows-1252 leaves undefined.
constexpr char32_t kWindows1252[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool is_hex_digit(char32_t c) { return is_digit(c) || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F'); }
int hex_value(char32_t c) { return is_digit(c) ? int(c - U'0') : int((c | 0x20) - U'a' + 10); }

bool is_name_char(char32_t c) {
  return c != U'\t' && c != U'\n' && c != U'\f' && c != U' ' && c != U'<' && c != U'&' && c != U'#' && c != U';';
}

// Python drops these code points when a numeric reference names them.
bool is_dropped_codepoint(uint32_t n) {
  return (n >= 0x01 && n <= 0x08) || n == 0x0B || (n >= 0x0E && n <= 0x1F) || (n >= 0x7F && n <= 0x9F) ||
         (n >= 0xFDD0 && n <= 0xFDEF) || (n & 0xFFFE) == 0xFFFE;
}

void append_numeric_reference(uint32_t n, std::u32string& out) {
  if (n == 0) {
    out.push_back(kReplacement);
  } else if (n >= 0x80 && n <= 0x9F) {
    out.push_back(kWindows1252[n - 0x80]);
  } else if ((n >= 0xD800 && n <= 0xDFFF) || n > kMaxCodepoint) {
    out.push_back(kReplacement);
  } else if (n == 0x0D || !is_dropped_codepoint(n)) {
    out.push_back(static_cast<char32_t>(n));
  }
}

// "&#..." at text[amp]: returns how many code points the reference spans, 0 if none.
size_t unescape_numeric(const std::u32string& text, size_t amp, std::u32string& out) {
  size_t pos = amp + 2;  // after "&#"
  const bool hex = pos + 1 < text.size() && (text[pos] == U'x' || text[pos] == U'X') && is_hex_digit(text[pos + 1]);
  if (hex) ++pos;
  if (pos >= text.size() || !(hex ? is_hex_digit(text[pos]) : is_digit(text[pos]))) return 0;
  uint32_t value = 0;
  for (; pos < text.size() && (hex ? is_hex_digit(text[pos]) : is_digit(text[pos])); ++pos) {
    const uint32_t digit = static_cast<uint32_t>(hex ? hex_value(text[pos]) : int(text[pos] - U'0'));
    value = value > kMaxCodepoint ? value : value * (hex ? 16 : 10) + digit;  // saturates past U+10FFFF
  }
  if (pos < text.size() && text[pos] == U';') ++pos;
  append_numeric_reference(value, out);
  return pos - amp;
}

const NamedReference* find_reference(const std::u32string& text, size_t begin, size_t end, bool legacy_only) {
  std::string name;
  for (size_t i = begin; i < end; ++i) {
    if (text[i] >= 0x80) return nullptr;  // every known name is ASCII
    name.push_back(static_cast<char>(text[i]));
  }
  const auto& table = named_references();
  const auto it = table.find(name);
  if (it == table.end() || (legacy_only && !it->second->semicolon_optional)) return nullptr;
  return it->second;
}

void append_utf8_value(const char* utf8, std::u32string& out) { out += utf8_to_codepoints(utf8); }

// "&name" at text[amp], Python's rule: the whole name (with its ';', if any),
// else the longest prefix of at least two characters that is valid without
// ';' followed by the rest verbatim, else the text unchanged.
size_t unescape_named(const std::u32string& text, size_t amp, std::u32string& out) {
  const size_t begin = amp + 1;
  size_t end = begin;
  while (end < text.size() && end - begin < kMaxNameLength && is_name_char(text[end])) ++end;
  if (end == begin) return 0;
  const bool has_semicolon = end < text.size() && text[end] == U';';
  const size_t span_end = end + (has_semicolon ? 1 : 0);
  if (const NamedReference* ref = find_reference(text, begin, end, /*legacy_only=*/!has_semicolon)) {
    append_utf8_value(ref->utf8_value, out);
    return span_end - amp;
  }
  const size_t longest_prefix = has_semicolon ? end : end - 1;
  for (size_t prefix_end = longest_prefix; prefix_end >= begin + 2; --prefix_end) {
    if (const NamedReference* ref = find_reference(text, begin, prefix_end, /*legacy_only=*/true)) {
      append_utf8_value(ref->utf8_value, out);
      out.append(text, prefix_end, span_end - prefix_end);
      return span_end - amp;
    }
  }
  return 0;
}

}  // namespace

std::u32string html_unescape(const std::u32string& text) {
  if (text.find(U'&') == std::u32string::npos) return text;
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] != U'&') {
      out.push_back(text[i++]);
      continue;
    }
    const bool numeric = i + 1 < text.size() && text[i + 1] == U'#';
    const size_t used = numeric ? unescape_numeric(text, i, out) : unescape_named(text, i, out);
    if (used == 0) out.push_back(text[i]);
    i += used == 0 ? 1 : used;
  }
  return out;
}

}  // namespace dinoclip
