#include "text/ftfy_subset.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "core/error.h"
#include "text/utf8.h"

namespace dinoclip {
namespace {

// ftfy's LIGATURES table; U+FB05 'ﬅ' keeps its long s, as in ftfy.
const char32_t* latin_ligature(char32_t c) {
  switch (c) {
    case 0x0132:
      return U"IJ";
    case 0x0133:
      return U"ij";
    case 0xFB00:
      return U"ff";
    case 0xFB01:
      return U"fi";
    case 0xFB02:
      return U"fl";
    case 0xFB03:
      return U"ffi";
    case 0xFB04:
      return U"ffl";
    case 0xFB05:
      return U"\u017Ft";
    case 0xFB06:
      return U"st";
    default:
      return nullptr;
  }
}

bool is_width_form(char32_t c) { return c >= 0xFF01 && c <= 0xFFEF; }

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC) || (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0xE0000 && c <= 0xE007F);
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

std::u32string normalize(const std::u32string& text, utf8proc_uint8_t* (*form)(const utf8proc_uint8_t*)) {
  const std::string utf8 = codepoints_to_utf8(text);
  std::unique_ptr<utf8proc_uint8_t, FreeDeleter> normalized(
      form(reinterpret_cast<const utf8proc_uint8_t*>(utf8.c_str())));
  if (!normalized) throw Error("Unicode normalisation failed (out of memory?)");
  return utf8_to_codepoints(reinterpret_cast<const char*>(normalized.get()));
}

void append_width_fixed(char32_t c, std::u32string& out) {
  const std::u32string nfkc = normalize(std::u32string(1, c), utf8proc_NFKC);
  out += nfkc;
}

// Nothing below U+0300 composes with a preceding character or decomposes.
bool is_trivially_nfc(const std::u32string& text) {
  for (char32_t c : text) {
    if (c >= 0x300) return false;
  }
  return true;
}

}  // namespace

std::u32string fix_text_subset(const std::u32string& text) {
  std::u32string fixed;
  fixed.reserve(text.size());
  for (char32_t c : text) {
    if (const char32_t* letters = latin_ligature(c)) {
      fixed += letters;
    } else if (c == 0x3000) {
      fixed.push_back(U' ');
    } else if (is_width_form(c)) {
      append_width_fixed(c, fixed);
    } else if (c >= 0x2018 && c <= 0x201B) {
      fixed.push_back(U'\'');
    } else if (c >= 0x201C && c <= 0x201F) {
      fixed.push_back(U'"');
    } else if (!is_removed_control(c)) {
      fixed.push_back(c);
    }
  }
  return is_trivially_nfc(fixed) ? fixed : normalize(fixed, utf8proc_NFC);
}

}  // namespace dinoclip
