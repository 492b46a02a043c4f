// CLIP's word splitter: re.findall of
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// with IGNORECASE, as a hand-written scanner over code points (std::regex has
// no \p{L}). At each position the alternatives are tried in that order, as a
// backtracking regex does: so a punctuation run swallows a following
// "'s" or "<|endoftext|>" ("!'s" -> "!'", "s"), letters come in runs, every
// digit is its own piece, and whitespace only separates.
#pragma once

#include <string>
#include <vector>

namespace dinoclip {

// `text` is the output of clean_text(); pieces are returned as UTF-8.
std::vector<std::string> split_clip_words(const std::u32string& text);

}  // namespace dinoclip
