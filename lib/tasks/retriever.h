// Nearest-neighbour search over CLIP embeddings by cosine similarity: an exact,
// brute-force index (one matrix-vector product and a top-k per query), which
// is fast enough for ~10^5 items (a few tens of ms on two CPU cores).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

namespace dinoclip {

struct SearchResult {
  std::vector<int64_t> indices;  // positions in insertion order (first add() starts at 0)
  std::vector<float> scores;     // cosine similarities, best first
};

class EmbeddingIndex {
 public:
  // Rows are stored (normalised, float32) on `device`.
  explicit EmbeddingIndex(c10::Device device = c10::Device(c10::kCPU));

  // embeddings [n, E] or [E] (any device, floating point); the first add fixes
  // E. Returns the index of the first added row. Throws dinoclip::Error on a
  // size mismatch or a zero vector.
  int64_t add(const at::Tensor& embeddings);

  // An index over `unit_rows` [n, E] float32 that are already L2-normalised
  // (e.g. read back from a saved index), adopted without a copy when on
  // `device`: normalising and copying 100,000 x 512 again costs seconds.
  static EmbeddingIndex from_unit_rows(const at::Tensor& unit_rows, c10::Device device = c10::Device(c10::kCPU));

  // The k rows most similar to `query` [E] (or [1, E]); k > size() gives all.
  // Throws dinoclip::Error when the index is empty, k <= 0, or E differs.
  SearchResult search(const at::Tensor& query, int64_t k) const;

  int64_t size() const { return size_; }
  int64_t embed_dim() const { return storage_.defined() ? storage_.size(1) : 0; }
  // [size(), E] view of the stored unit rows.
  at::Tensor embeddings() const;

 private:
  void reserve(int64_t rows);

  c10::Device device_;
  at::Tensor storage_;  // [capacity, E]; rows >= size_ are unused
  int64_t size_ = 0;
};

}  // namespace dinoclip
