#include "text/pretokenizer.h"

#include "text/unicode_props.h"
#include "text/utf8.h"

namespace dinoclip {
namespace {

// Literal alternatives, in the pattern's order: special tokens, then contractions.
constexpr const char* kLiteralAlternatives[] = {
    "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
};

// Length of `literal` matched case-insensitively at text[pos], or 0.
size_t match_literal(const std::u32string& text, size_t pos, const char* literal) {
  size_t n = 0;
  for (; literal[n] != '\0'; ++n) {
    if (pos + n >= text.size() || !equals_ignoring_case(text[pos + n], literal[n])) return 0;
  }
  return n;
}

bool is_other(char32_t c) { return !is_regex_space(c) && !is_letter(c) && !is_number(c); }

// Length of the piece starting at text[pos] (0 for whitespace, which no alternative matches).
size_t match_piece(const std::u32string& text, size_t pos) {
  for (const char* literal : kLiteralAlternatives) {
    if (const size_t n = match_literal(text, pos, literal)) return n;
  }
  size_t end = pos;
  if (is_letter(text[pos])) {
    while (end < text.size() && is_letter(text[end])) ++end;
    return end - pos;
  }
  if (is_number(text[pos])) return 1;
  while (end < text.size() && is_other(text[end])) ++end;
  return end - pos;
}

}  // namespace

std::vector<std::string> split_clip_words(const std::u32string& text) {
  std::vector<std::string> pieces;
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = match_piece(text, pos);
    if (n == 0) {
      ++pos;
      continue;
    }
    pieces.push_back(codepoints_to_utf8(text.substr(pos, n)));
    pos += n;
  }
  return pieces;
}

}  // namespace dinoclip
