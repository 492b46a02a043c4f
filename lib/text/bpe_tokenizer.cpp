#include "text/bpe_tokenizer.h"

#include <ATen/ATen.h>

#include <mutex>
#include <unordered_map>

#include "core/error.h"
#include "text/pretokenizer.h"
#include "text/text_cleanup.h"
#include "text/utf8.h"

namespace dinoclip {
namespace {

// Words repeat a lot (prompts, captions); CLIP caches every word it has seen.
// The cap only bounds memory in long-running pipelines fed arbitrary text.
constexpr size_t kMaxCachedWords = 100000;
constexpr size_t kTextShownInErrors = 60;

std::string shorten(const std::string& text) {
  if (text.size() <= kTextShownInErrors) return text;
  size_t cut = kTextShownInErrors;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return text.substr(0, cut) + "...";
}

}  // namespace

struct BpeTokenizer::State {
  BpeVocab vocab;
  std::mutex cache_mutex;
  std::unordered_map<std::string, std::vector<int32_t>> cache;

  std::vector<int32_t> encode_piece(const std::string& piece) {
    if (piece == "<|startoftext|>") return {kStartOfTextId};
    if (piece == "<|endoftext|>") return {kEndOfTextId};
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      if (auto it = cache.find(piece); it != cache.end()) return it->second;
    }
    std::vector<int32_t> ids = vocab.encode_piece(piece);
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kMaxCachedWords) cache.clear();
    cache.emplace(piece, ids);
    return ids;
  }
};

BpeTokenizer::BpeTokenizer(const std::string& vocab_path) : state_(new State{BpeVocab::load(vocab_path), {}, {}}) {}
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

std::vector<int32_t> BpeTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> ids;
  for (const std::string& piece : split_clip_words(clean_text(text))) {
    const std::vector<int32_t> piece_ids = state_->encode_piece(piece);
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  }
  return ids;
}

std::vector<int32_t> BpeTokenizer::tokenize_one(const std::string& text, int context_length, bool truncate) const {
  if (context_length < 2) {
    throw Error("context length " + std::to_string(context_length) +
                " is too small: it must hold <|startoftext|> and <|endoftext|> (CLIP uses 77)");
  }
  std::vector<int32_t> ids{kStartOfTextId};
  const std::vector<int32_t> body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(kEndOfTextId);
  const size_t limit = static_cast<size_t>(context_length);
  if (ids.size() > limit) {
    if (!truncate) {
      throw Error("text \"" + shorten(text) + "\" needs " + std::to_string(ids.size()) +
                  " tokens (with start and end) but the context length is " + std::to_string(context_length) +
                  "; shorten it or tokenize with truncation");
    }
    ids.resize(limit);
    ids.back() = kEndOfTextId;
  }
  ids.resize(limit, 0);
  return ids;
}

at::Tensor BpeTokenizer::tokenize(const std::vector<std::string>& texts, int context_length, bool truncate) const {
  std::vector<std::vector<int32_t>> rows;
  rows.reserve(texts.size());
  for (const std::string& text : texts) rows.push_back(tokenize_one(text, context_length, truncate));
  at::Tensor tokens = at::zeros({static_cast<int64_t>(texts.size()), context_length}, at::kLong);
  auto out = tokens.accessor<int64_t, 2>();
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int c = 0; c < context_length; ++c) out[static_cast<int64_t>(r)][c] = rows[r][static_cast<size_t>(c)];
  }
  return tokens;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  // Vocabulary strings are byte-level unicode: map each code point back to its byte.
  std::array<int, 0x200> byte_of{};
  byte_of.fill(-1);
  for (int b = 0; b < 256; ++b) byte_of[clip_bytes_to_unicode()[b]] = b;
  std::string bytes;
  for (int32_t id : ids) {
    for (char32_t c : utf8_to_codepoints(token_string(id))) {
      if (c < byte_of.size() && byte_of[c] >= 0) bytes.push_back(static_cast<char>(byte_of[c]));
    }
  }
  // Ids cut mid-character leave invalid UTF-8: replaced, as CLIP's errors="replace".
  std::string out = replace_invalid_utf8(bytes);
  for (size_t at = out.find("</w>"); at != std::string::npos; at = out.find("</w>", at + 1)) out.replace(at, 4, " ");
  return out;
}

const std::string& BpeTokenizer::token_string(int32_t id) const {
  if (id < 0 || id >= state_->vocab.size()) {
    throw Error("token id " + std::to_string(id) + " is outside CLIP's vocabulary (0.." +
                std::to_string(state_->vocab.size() - 1) + ")");
  }
  return state_->vocab.symbol(id);
}

int BpeTokenizer::vocab_size() const { return state_->vocab.size(); }

}  // namespace dinoclip
