// CLIP's byte-level BPE vocabulary, read from bpe_simple_vocab_16e6.txt.gz.
//
// Layout (clip/simple_tokenizer.py): ids 0..255 are the 256 byte symbols in
// GPT-2's bytes_to_unicode() order, 256..511 the same with "</w>" (end of
// word), then one id per merge (the concatenation of its pair) in file order,
// then <|startoftext|> = 49406 and <|endoftext|> = 49407. Only the first
// 48,894 merge lines are used, and a merge's rank is its line order.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace dinoclip {

inline constexpr int kClipMergeCount = 48894;
inline constexpr int kClipVocabSize = 512 + kClipMergeCount + 2;  // 49408
inline constexpr int32_t kStartOfTextId = 49406;
inline constexpr int32_t kEndOfTextId = 49407;

// GPT-2's byte -> printable code point map (bytes_to_unicode()): printable
// Latin-1 bytes map to themselves, the other 68 to U+0100.. in byte order.
const std::array<char32_t, 256>& clip_bytes_to_unicode();

class BpeVocab {
 public:
  // Throws dinoclip::Error naming `path` if it is missing, not gzip, truncated,
  // or not a CLIP merges file (header, line count, "left right" lines).
  static BpeVocab load(const std::string& path);

  // id -> vocabulary string, byte-level unicode as UTF-8 ("a</w>", "Ġ" ...).
  const std::string& symbol(int32_t id) const { return symbols_.at(static_cast<size_t>(id)); }
  int size() const { return static_cast<int>(symbols_.size()); }

  // BPE of one pre-tokenized piece (raw UTF-8 bytes): CLIP's bpe(), on ids.
  std::vector<int32_t> encode_piece(const std::string& piece) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Merge* find_merge(int32_t left, int32_t right) const;

  std::array<int32_t, 256> byte_ids_{};  // byte -> id of its symbol (+256: its "</w>" form)
  std::vector<std::string> symbols_;
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace dinoclip
