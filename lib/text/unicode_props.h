// The Unicode character facts CLIP's tokenizer relies on, with Python's exact
// definitions, answered from utf8proc's tables (no hand-made tables; the two
// small exceptions are documented at python_lower()).
#pragma once

#include <string>

namespace dinoclip {

// \p{L}: general category Lu, Ll, Lt, Lm or Lo.
bool is_letter(char32_t c);

// \p{N}: general category Nd, Nl or No (so '²' and '½' count, as in Python).
bool is_number(char32_t c);

// Python's str.isspace() (what str.strip() removes): category Zs or
// bidirectional class WS, B or S. Includes U+001C..U+001F.
bool is_python_space(char32_t c);

// `\s` of the `regex` module CLIP uses (the White_Space property): the same
// as is_python_space() except U+001C..U+001F, which `regex` does not match.
bool is_regex_space(char32_t c);

// True when `c` equals the ASCII lower-case letter `ascii_lower` under the
// regex module's IGNORECASE (case folding): 's' matches 's', 'S' and 'ſ'.
bool equals_ignoring_case(char32_t c, char ascii_lower);

// Python's str.lower(): full lower-case mapping. utf8proc only has the simple
// (one code point) mapping, so the two places where Python differs are done
// here: U+0130 'İ' -> "i" + U+0307 (the only unconditional multi-code-point
// lower-case mapping in SpecialCasing.txt), and the Final_Sigma rule
// ('Σ' -> 'ς' at the end of a word). Final_Sigma needs Case_Ignorable, which
// utf8proc lacks: approximated by categories Mn, Me, Cf, Lm, Sk plus the
// word-internal punctuation ' . : · ‘ ’ ․ ‧ (Unicode's MidLetter/MidNumLet set
// minus a few compatibility forms).
std::u32string python_lower(const std::u32string& text);

}  // namespace dinoclip
