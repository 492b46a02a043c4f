// CLIP's text normalisation before splitting (clip/simple_tokenizer.py):
//   ftfy.fix_text -> html.unescape twice -> strip -> collapse whitespace runs to
//   one space -> strip -> str.lower().
// ftfy is approximated by fix_text_subset() (see ftfy_subset.h for what is and
// is not done); everything after it follows Python exactly (html_unescape.h
// documents the one limit of the named-entity table).
#pragma once

#include <string>

namespace dinoclip {

// `fix_text` = false skips the ftfy stand-in: exactly what CLIP computes with
// ftfy stubbed out (how the golden files were made). Throws dinoclip::Error if
// `utf8` is not valid UTF-8.
std::u32string clean_text(const std::string& utf8, bool fix_text = true);

// Python's str.strip() (str.isspace() characters).
std::u32string strip_python_space(const std::u32string& text);

// re.sub(r'\s+', ' ', text) with the `regex` module's \s.
std::u32string collapse_whitespace(const std::u32string& text);

}  // namespace dinoclip
