// UTF-8 <-> code points. The text pipeline works on code points (std::u32string)
// because every CLIP rule (whitespace, letters, case, regex classes) is defined
// per code point, as in Python's str.
#pragma once

#include <string>

namespace dinoclip {

// Throws dinoclip::Error naming the byte offset when `utf8` is not valid UTF-8
// (Python could never have produced such a str, so there is no CLIP answer).
std::u32string utf8_to_codepoints(const std::string& utf8);

std::string codepoints_to_utf8(const std::u32string& codepoints);

// `bytes` with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD.
std::string replace_invalid_utf8(const std::string& bytes);

void append_utf8(std::string& out, char32_t codepoint);

}  // namespace dinoclip
