#include "text/text_cleanup.h"

#include "text/ftfy_subset.h"
#include "text/html_unescape.h"
#include "text/unicode_props.h"
#include "text/utf8.h"

namespace dinoclip {

std::u32string strip_python_space(const std::u32string& text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && is_python_space(text[begin])) ++begin;
  while (end > begin && is_python_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

std::u32string collapse_whitespace(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (!is_regex_space(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    out.push_back(U' ');
    while (i < text.size() && is_regex_space(text[i])) ++i;
  }
  return out;
}

std::u32string clean_text(const std::string& utf8, bool fix_text) {
  std::u32string text = utf8_to_codepoints(utf8);
  if (fix_text) text = fix_text_subset(text);
  text = strip_python_space(html_unescape(html_unescape(text)));
  text = strip_python_space(collapse_whitespace(text));
  return python_lower(text);
}

}  // namespace dinoclip
