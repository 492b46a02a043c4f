#include "text/utf8.h"

#include <utf8proc.h>

#include "core/error.h"

namespace dinoclip {

std::u32string utf8_to_codepoints(const std::string& utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  const auto size = static_cast<utf8proc_ssize_t>(utf8.size());
  for (utf8proc_ssize_t pos = 0; pos < size;) {
    utf8proc_int32_t codepoint = 0;
    const utf8proc_ssize_t used = utf8proc_iterate(bytes + pos, size - pos, &codepoint);
    if (used < 0) {
      throw Error("text is not valid UTF-8 (bad byte sequence at byte " + std::to_string(pos) +
                  "); pass UTF-8 encoded strings");
    }
    out.push_back(static_cast<char32_t>(codepoint));
    pos += used;
  }
  return out;
}

void append_utf8(std::string& out, char32_t codepoint) {
  utf8proc_uint8_t buffer[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(codepoint), buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

std::string replace_invalid_utf8(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto* data = reinterpret_cast<const utf8proc_uint8_t*>(bytes.data());
  const auto size = static_cast<utf8proc_ssize_t>(bytes.size());
  for (utf8proc_ssize_t pos = 0; pos < size;) {
    utf8proc_int32_t codepoint = 0;
    const utf8proc_ssize_t used = utf8proc_iterate(data + pos, size - pos, &codepoint);
    if (used < 0) {
      append_utf8(out, 0xFFFD);
      ++pos;
    } else {
      out.append(bytes, static_cast<size_t>(pos), static_cast<size_t>(used));
      pos += used;
    }
  }
  return out;
}

std::string codepoints_to_utf8(const std::u32string& codepoints) {
  std::string out;
  out.reserve(codepoints.size());
  for (char32_t c : codepoints) append_utf8(out, c);
  return out;
}

}  // namespace dinoclip
