#include "text/bpe_vocab.h"

#include <zlib.h>

#include <climits>
#include <string_view>

#include "core/error.h"
#include "io/regular_file.h"
#include "text/utf8.h"

namespace dinoclip {
namespace {

constexpr const char* kEndOfWord = "</w>";
constexpr int kByteSymbols = 256;

bool maps_to_itself(int byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

// Bytes in vocabulary order: the printable ones first, then the rest, each ascending.
std::array<uint8_t, 256> bytes_in_vocab_order() {
  std::array<uint8_t, 256> order{};
  int next = 0;
  for (int b = 0; b < 256; ++b) {
    if (maps_to_itself(b)) order[next++] = static_cast<uint8_t>(b);
  }
  for (int b = 0; b < 256; ++b) {
    if (!maps_to_itself(b)) order[next++] = static_cast<uint8_t>(b);
  }
  return order;
}

// The file's bytes, decompressed: all of it, so that gzip's CRC catches damage.
std::string read_gzip(const std::string& path) {
  FileDescriptor fd = open_regular_file(path);
  gzFile file = gzdopen(fd.get(), "rb");
  if (!file) throw Error("cannot open CLIP BPE vocabulary " + path);
  fd.release();  // gzclose closes it
  if (gzdirect(file)) {
    gzclose(file);
    throw Error("CLIP BPE vocabulary " + path +
                " is not gzip-compressed: expected CLIP's bpe_simple_vocab_16e6.txt.gz");
  }
  gzbuffer(file, 1 << 18);
  std::string text;
  char chunk[1 << 16];
  int n = 0;
  while ((n = gzread(file, chunk, sizeof chunk)) > 0) text.append(chunk, static_cast<size_t>(n));
  int code = Z_OK;
  const std::string reason = n < 0 ? gzerror(file, &code) : "";
  const int close_code = gzclose(file);
  if (n < 0 || close_code != Z_OK) {
    throw Error(
        "CLIP BPE vocabulary " + path + " is damaged or truncated (zlib: " +
        (reason.empty() ? std::string(close_code == Z_BUF_ERROR ? "unexpected end of file" : "error") : reason) +
        "); download it again");
  }
  return text;
}

// The first `count` lines of `text` (fewer if it has fewer), as views into it.
std::vector<std::string_view> first_lines(const std::string& text, size_t count) {
  std::vector<std::string_view> lines;
  lines.reserve(count);
  size_t start = 0;
  while (lines.size() < count && start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.emplace_back(text.data() + start, end - start);
    start = end + 1;
  }
  return lines;
}

struct MergeLine {
  std::string_view left, right;
};

MergeLine parse_merge_line(std::string_view line, size_t line_number, const std::string& path) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t space = line.find(' ');
  if (space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string_view::npos) {
    throw Error("CLIP BPE vocabulary " + path + ", line " + std::to_string(line_number + 1) +
                ": expected \"left right\", got \"" + std::string(line.substr(0, 40)) +
                "\"; is this CLIP's bpe_simple_vocab_16e6.txt.gz?");
  }
  return {line.substr(0, space), line.substr(space + 1)};
}

}  // namespace

const std::array<char32_t, 256>& clip_bytes_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> map{};
    char32_t next_unprintable = 0x100;
    for (int b = 0; b < 256; ++b) map[b] = maps_to_itself(b) ? static_cast<char32_t>(b) : next_unprintable++;
    return map;
  }();
  return table;
}

BpeVocab BpeVocab::load(const std::string& path) {
  const std::string text = read_gzip(path);
  const std::vector<std::string_view> lines = first_lines(text, 1 + kClipMergeCount);
  if (lines.empty() || lines[0].find("#version") == std::string_view::npos) {
    throw Error("CLIP BPE vocabulary " + path +
                " has no \"#version\" header line; is this CLIP's bpe_simple_vocab_16e6.txt.gz?");
  }
  if (lines.size() < 1 + static_cast<size_t>(kClipMergeCount)) {
    throw Error("CLIP BPE vocabulary " + path + " has " + std::to_string(lines.size() - 1) +
                " merge lines, CLIP needs " + std::to_string(kClipMergeCount) + "; download the file again");
  }
  std::vector<MergeLine> merges;
  merges.reserve(kClipMergeCount);
  for (size_t i = 1; i < lines.size(); ++i) merges.push_back(parse_merge_line(lines[i], i, path));

  BpeVocab vocab;
  vocab.symbols_.reserve(kClipVocabSize);
  const std::array<uint8_t, 256> order = bytes_in_vocab_order();
  for (int end_of_word = 0; end_of_word < 2; ++end_of_word) {
    for (int i = 0; i < kByteSymbols; ++i) {
      std::string symbol;
      append_utf8(symbol, clip_bytes_to_unicode()[order[i]]);
      vocab.symbols_.push_back(end_of_word ? symbol + kEndOfWord : symbol);
    }
  }
  for (int i = 0; i < kByteSymbols; ++i) vocab.byte_ids_[order[i]] = i;
  for (const MergeLine& m : merges) vocab.symbols_.push_back(std::string(m.left) + std::string(m.right));
  vocab.symbols_.push_back("<|startoftext|>");
  vocab.symbols_.push_back("<|endoftext|>");

  // As Python's dict(zip(vocab, range(...))): a repeated string keeps its last id.
  std::unordered_map<std::string_view, int32_t> ids;
  ids.reserve(vocab.symbols_.size());
  for (size_t id = 0; id < vocab.symbols_.size(); ++id) ids[vocab.symbols_[id]] = static_cast<int32_t>(id);
  auto id_of = [&](std::string_view symbol, size_t line_number) {
    const auto it = ids.find(symbol);
    if (it == ids.end()) {
      throw Error("CLIP BPE vocabulary " + path + ", line " + std::to_string(line_number + 1) + ": \"" +
                  std::string(symbol) + "\" is not a vocabulary symbol; the file is damaged");
    }
    return it->second;
  };
  vocab.merges_.reserve(merges.size() * 2);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const int32_t left = id_of(merges[rank].left, rank + 1);
    const int32_t right = id_of(merges[rank].right, rank + 1);
    const int32_t merged = ids.at(vocab.symbols_[2 * kByteSymbols + rank]);
    vocab.merges_[pair_key(left, right)] = Merge{static_cast<int32_t>(rank), merged};  // as a dict: last wins
  }
  return vocab;
}

const BpeVocab::Merge* BpeVocab::find_merge(int32_t left, int32_t right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::vector<int32_t> BpeVocab::encode_piece(const std::string& piece) const {
  std::vector<int32_t> word(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) word[i] = byte_ids_[static_cast<uint8_t>(piece[i])];
  if (word.empty()) return word;
  word.back() += kByteSymbols;  // the last symbol carries "</w>"
  std::vector<int32_t> merged_word;
  while (word.size() > 1) {
    // The pair with the lowest rank anywhere in the word...
    const Merge* best = nullptr;
    int32_t left = 0, right = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const Merge* m = find_merge(word[i], word[i + 1]);
      if (m && (!best || m->rank < best->rank)) {
        best = m;
        left = word[i];
        right = word[i + 1];
      }
    }
    if (!best) break;
    // ...is merged at every occurrence, left to right without overlap.
    merged_word.clear();
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == left && word[i + 1] == right) {
        merged_word.push_back(best->merged_id);
        i += 2;
      } else {
        merged_word.push_back(word[i++]);
      }
    }
    word.swap(merged_word);
  }
  return word;
}

}  // namespace dinoclip
