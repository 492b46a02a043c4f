// Where the CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) is looked for.
#pragma once

#include <string>

namespace dinoclip {

inline constexpr const char* kClipVocabFileName = "bpe_simple_vocab_16e6.txt.gz";

// The first of:
//   1. `explicit_path` when non-empty (it must exist: no fallback, so a typo is reported),
//   2. $DINOCLIP_VOCAB when set (same rule),
//   3. <dir>/bpe_simple_vocab_16e6.txt.gz for dir in $DINOCLIP_MODELS_DIR,
//      ~/.cache/dinoclip, /usr/share/dinoclip/models.
// Throws dinoclip::Error listing every place searched and where to get the file.
std::string find_vocab_file(const std::string& explicit_path = "");

}  // namespace dinoclip
