// The deterministic part of ftfy.fix_text(), which CLIP runs on every text
// before anything else.
//
// CLIP's reference (and the golden ids) assume ftfy 6 with its defaults. Most
// of ftfy is heuristics (mojibake detection and repair, "sloppy" codecs, byte
// 0xA0 restoration, lossy-UTF-8 sequences, terminal escapes) that cannot be
// reproduced without porting ftfy. What dinoclip does, in ftfy's order:
//   1. Latin ligatures -> letters: Ĳ ĳ ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ (ftfy's 9-entry table).
//   2. Full-/half-width forms U+FF01..U+FFEF -> their NFKC form ('Ａ' -> 'A');
//      U+3000 IDEOGRAPHIC SPACE -> ' '.
//   3. Curly quotes -> straight: U+2018..U+201B -> ', U+201C..U+201F -> ".
//      (This matters: "don’t" tokenizes differently from "don't".)
//   4. Control characters ftfy removes: U+0000..0008, 000B, 000E..001F, 007F,
//      206A..206F, FEFF, FFF9..FFFC, 1D173..1D17A, E0000..E007F.
//   5. NFC normalisation (utf8proc), ftfy's default `normalization='NFC'`.
// Not done: mojibake repair ("cafÃ©" stays as is, ftfy gives "café"),
// C1-control decoding, and ftfy's own HTML unescape (a third pass, before
// CLIP's two: "&amp;amp;amp;" gives "&amp;" here, "&" in CLIP; an escaped curly
// quote such as "&#8217;" stays curly here).
// On text with none of these characters (all golden strings) this is the
// identity, as the stand-in ftfy used to make the goldens.
#pragma once

#include <string>

namespace dinoclip {

std::u32string fix_text_subset(const std::u32string& text);

}  // namespace dinoclip
