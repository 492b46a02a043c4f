#include "tasks/similarity.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace dinoclip {
namespace {

std::string shape_of(const at::Tensor& x) {
  std::string s = "[";
  for (int64_t d = 0; d < x.dim(); ++d) s += (d ? ", " : "") + std::to_string(x.size(d));
  return s + "]";
}

void require_matrix(const at::Tensor& x, const std::string& what) {
  if (!x.defined() || x.dim() != 2) {
    throw Error(what + " must be a matrix [rows, embed_dim], got " + (x.defined() ? shape_of(x) : "no tensor"));
  }
}

}  // namespace

at::Tensor l2_normalize_rows(const at::Tensor& x, const std::string& what) {
  if (!x.defined() || x.numel() == 0) throw Error(what + " are empty");
  if (!at::isFloatingType(x.scalar_type())) {
    throw Error(what + " must be floating point, got " + std::string(c10::toString(x.scalar_type())));
  }
  // Half precision embeddings (fp16/bf16 models) are normalised in float32.
  const at::Tensor values = x.scalar_type() == at::kDouble ? x : x.to(at::kFloat);
  const at::Tensor norms = values.norm(2, /*dim=*/{-1}, /*keepdim=*/true);
  if ((norms == 0).any().item<bool>()) {
    throw Error(what + " contain a zero vector (row " +
                std::to_string((norms.reshape(-1) == 0).nonzero()[0].item<int64_t>()) +
                "): it has no direction, so no cosine similarity");
  }
  return values / norms;
}

at::Tensor cosine_similarity_matrix(const at::Tensor& text, const at::Tensor& image) {
  require_matrix(text, "text embeddings");
  require_matrix(image, "image embeddings");
  if (text.size(1) != image.size(1)) {
    throw Error("text and image embeddings differ in size: text " + shape_of(text) + ", image " + shape_of(image) +
                " (both must come from the same CLIP model)");
  }
  if (text.device() != image.device()) {
    throw Error("text embeddings are on " + text.device().str() + " but image embeddings on " + image.device().str());
  }
  const at::Tensor text_n = l2_normalize_rows(text, "text embeddings");
  const at::Tensor image_n = l2_normalize_rows(image, "image embeddings");
  return at::matmul(text_n, image_n.to(text_n.scalar_type()).t());
}

}  // namespace dinoclip
