// CLIP's tokenizer (clip.tokenize + clip/simple_tokenizer.py), id for id.
//
// Pipeline for each text:
//   clean_text()       ftfy stand-in, html.unescape x2, whitespace, str.lower()
//                      (text_cleanup.h; ftfy_subset.h says what replaces ftfy)
//   split_clip_words() CLIP's regex, as a code-point scanner (pretokenizer.h)
//   BPE                UTF-8 bytes -> byte symbols, last one with "</w>",
//                      lowest-rank merges until none applies (bpe_vocab.h)
// then [<|startoftext|>] + ids + [<|endoftext|>], zero padded to the context.
// The literal strings "<|startoftext|>" and "<|endoftext|>" in a text become
// their special ids, as in CLIP.
//
// Differences from CLIP (with real ftfy installed): only what ftfy_subset.h and
// html_unescape.h list (mojibake repair, ftfy's extra HTML pass, the less common
// HTML5 entity names). On the golden strings the ids are identical.
//
// Thread-safe: encode/tokenize are const; the per-word BPE cache is guarded by
// a mutex. Loading takes ~tens of ms (it reads the whole 1.3 MB gzip file).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "text/bpe_vocab.h"
#include "text/vocab_path.h"

namespace dinoclip {

class BpeTokenizer {
 public:
  static constexpr int kContextLength = 77;  // CLIP's text context

  // `vocab_path`: bpe_simple_vocab_16e6.txt.gz (see find_vocab_file()).
  explicit BpeTokenizer(const std::string& vocab_path);
  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
  ~BpeTokenizer();

  // BPE ids of one text, without start/end tokens (CLIP's encode()).
  std::vector<int32_t> encode(const std::string& text) const;

  // clip.tokenize for one text: context_length ids, zero padded. When the text
  // needs more, throws dinoclip::Error (how many and the limit) unless
  // `truncate`, which cuts to context_length and ends with <|endoftext|>.
  std::vector<int32_t> tokenize_one(const std::string& text, int context_length = kContextLength,
                                    bool truncate = false) const;

  // clip.tokenize: [texts.size(), context_length] int64 (kLong), CPU.
  at::Tensor tokenize(const std::vector<std::string>& texts, int context_length = kContextLength,
                      bool truncate = false) const;

  // CLIP's decode(): ids -> text, "</w>" -> " ". Padding (id 0 is "!") and the
  // special tokens are decoded like any id: strip them first if unwanted.
  std::string decode(const std::vector<int32_t>& ids) const;

  // Vocabulary string of an id ("a</w>", "<|endoftext|>"); throws if out of range.
  const std::string& token_string(int32_t id) const;
  int vocab_size() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dinoclip
