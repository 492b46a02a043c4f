#include "tasks/retriever.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"
#include "tasks/similarity.h"

namespace dinoclip {
namespace {

constexpr int64_t kMinCapacity = 1024;

}  // namespace

EmbeddingIndex::EmbeddingIndex(c10::Device device) : device_(device) {}

// Grows geometrically, so adding one row at a time stays amortised O(E).
void EmbeddingIndex::reserve(int64_t rows) {
  if (storage_.size(0) >= rows) return;
  const int64_t capacity = std::max({rows, 2 * storage_.size(0), kMinCapacity});
  at::Tensor grown = at::empty({capacity, storage_.size(1)}, storage_.options());
  grown.narrow(0, 0, size_).copy_(storage_.narrow(0, 0, size_));
  storage_ = grown;
}

int64_t EmbeddingIndex::add(const at::Tensor& embeddings) {
  if (!embeddings.defined() || embeddings.dim() < 1 || embeddings.dim() > 2) {
    throw Error("embeddings to index must be [n, embed_dim] or [embed_dim]");
  }
  const at::Tensor rows = embeddings.dim() == 1 ? embeddings.unsqueeze(0) : embeddings;
  if (storage_.defined() && rows.size(1) != embed_dim()) {
    throw Error("embeddings of size " + std::to_string(rows.size(1)) + " cannot join an index of size " +
                std::to_string(embed_dim()) + " (use one CLIP model for the whole index)");
  }
  const int64_t first = size_;
  if (rows.size(0) == 0) return first;
  const at::Tensor unit = l2_normalize_rows(rows, "embeddings to index").to(device_, at::kFloat);
  if (!storage_.defined()) storage_ = at::empty({0, rows.size(1)}, unit.options());
  reserve(size_ + rows.size(0));
  storage_.narrow(0, size_, rows.size(0)).copy_(unit);
  size_ += rows.size(0);
  return first;
}

EmbeddingIndex EmbeddingIndex::from_unit_rows(const at::Tensor& unit_rows, c10::Device device) {
  if (!unit_rows.defined() || unit_rows.dim() != 2 || unit_rows.scalar_type() != at::kFloat) {
    throw Error("unit rows to index must be a float32 matrix [n, embed_dim]");
  }
  EmbeddingIndex index(device);
  if (unit_rows.size(0) == 0) return index;
  index.storage_ = unit_rows.to(device).contiguous();
  index.size_ = unit_rows.size(0);
  return index;
}

at::Tensor EmbeddingIndex::embeddings() const {
  return storage_.defined() ? storage_.narrow(0, 0, size_) : at::empty({0, 0}, at::TensorOptions(device_));
}

SearchResult EmbeddingIndex::search(const at::Tensor& query, int64_t k) const {
  if (size_ == 0) throw Error("cannot search an empty embedding index: add() embeddings first");
  if (k <= 0) throw Error("k (number of results) must be at least 1, got " + std::to_string(k));
  if (!query.defined() || query.numel() != embed_dim() || (query.dim() == 2 && query.size(0) != 1) || query.dim() > 2) {
    throw Error("query must be one embedding of size " + std::to_string(embed_dim()) + " ([E] or [1, E])");
  }
  const at::Tensor unit = l2_normalize_rows(query.reshape({embed_dim()}), "query embedding").to(device_, at::kFloat);
  const at::Tensor scores = at::mv(embeddings(), unit);
  const auto [top_scores, top_indices] = scores.topk(std::min(k, size_));
  const at::Tensor s = top_scores.cpu().contiguous();
  const at::Tensor ix = top_indices.cpu().contiguous();
  SearchResult result;
  result.scores.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
  result.indices.assign(ix.data_ptr<int64_t>(), ix.data_ptr<int64_t>() + ix.numel());
  return result;
}

}  // namespace dinoclip
