#include "tasks/zeroshot.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "tasks/similarity.h"

namespace dinoclip {
namespace {

constexpr const char* kPlaceholder = "{}";

std::string replace_all(std::string text, const std::string& what, const std::string& with) {
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
  return text;
}

// [L, T, E] -> [L, E]: normalise each prompt, average per label, normalise again.
at::Tensor ensemble_prompts(const at::Tensor& text_embeddings) {
  const at::Tensor per_prompt = l2_normalize_rows(text_embeddings, "label prompt embeddings");
  return l2_normalize_rows(per_prompt.mean(/*dim=*/1), "averaged label embeddings (prompts cancel out)");
}

at::Tensor as_batch(const at::Tensor& image_embeddings, int64_t embed_dim) {
  if (!image_embeddings.defined() || image_embeddings.dim() < 1 || image_embeddings.dim() > 2) {
    throw Error("image embeddings must be [embed_dim] or [batch, embed_dim]");
  }
  const at::Tensor batch = image_embeddings.dim() == 1 ? image_embeddings.unsqueeze(0) : image_embeddings;
  if (batch.size(1) != embed_dim) {
    throw Error("image embeddings have size " + std::to_string(batch.size(1)) + " but the labels were encoded with " +
                std::to_string(embed_dim) + " (use the same CLIP model for text and images)");
  }
  return batch;
}

}  // namespace

std::vector<std::string> expand_templates(const std::string& label, const std::vector<std::string>& templates) {
  if (templates.empty()) throw Error("no prompt templates given for label \"" + label + "\"");
  std::vector<std::string> prompts;
  prompts.reserve(templates.size());
  for (const std::string& t : templates) {
    if (t.find(kPlaceholder) == std::string::npos) {
      throw Error("prompt template \"" + t + "\" has no \"{}\" where the label goes (e.g. \"a photo of a {}.\")");
    }
    prompts.push_back(replace_all(t, kPlaceholder, label));
  }
  return prompts;
}

ZeroShotClassifier::ZeroShotClassifier(const at::Tensor& text_embeddings, double logit_scale)
    : logit_scale_(logit_scale) {
  if (!text_embeddings.defined() || (text_embeddings.dim() != 2 && text_embeddings.dim() != 3)) {
    throw Error("label embeddings must be [labels, templates, embed_dim] or [labels, embed_dim]");
  }
  if (text_embeddings.size(0) == 0) throw Error("zero-shot classifier needs at least one label");
  if (text_embeddings.dim() == 3 && text_embeddings.size(1) == 0) throw Error("each label needs at least one prompt");
  if (!(logit_scale > 0) || !std::isfinite(logit_scale)) {
    throw Error("logit_scale must be a positive number (CLIP's exp'd scale, 100), got " + std::to_string(logit_scale));
  }
  const at::Tensor grouped = text_embeddings.dim() == 2 ? text_embeddings.unsqueeze(1) : text_embeddings;
  label_embeddings_ = ensemble_prompts(grouped).to(at::kFloat);
}

at::Tensor ZeroShotClassifier::probabilities(const at::Tensor& image_embeddings) const {
  const at::Tensor batch = as_batch(image_embeddings, embed_dim()).to(label_embeddings_.device());
  const at::Tensor images = l2_normalize_rows(batch, "image embeddings").to(at::kFloat);
  const at::Tensor logits = at::matmul(images, label_embeddings_.t()) * logit_scale_;
  return logits.softmax(/*dim=*/-1);
}

std::vector<ZeroShotResult> ZeroShotClassifier::classify(const at::Tensor& image_embeddings, int64_t top_k,
                                                         double unknown_threshold) const {
  if (top_k <= 0) throw Error("top_k must be at least 1, got " + std::to_string(top_k));
  if (!(unknown_threshold >= 0.0 && unknown_threshold <= 1.0)) {
    throw Error("unknown_threshold is a probability in [0, 1], got " + std::to_string(unknown_threshold));
  }
  const at::Tensor probs = probabilities(image_embeddings);
  const auto [values, indices] = probs.topk(std::min(top_k, num_labels()), /*dim=*/-1);
  const at::Tensor values_cpu = values.cpu().contiguous();
  const at::Tensor indices_cpu = indices.cpu().contiguous();
  const auto v = values_cpu.accessor<float, 2>();
  const auto ix = indices_cpu.accessor<int64_t, 2>();
  std::vector<ZeroShotResult> results(static_cast<size_t>(probs.size(0)));
  for (int64_t b = 0; b < probs.size(0); ++b) {
    ZeroShotResult& r = results[static_cast<size_t>(b)];
    for (int64_t k = 0; k < values_cpu.size(1); ++k) r.top.push_back({ix[b][k], v[b][k]});
    r.unknown = r.top.front().probability < unknown_threshold;
  }
  return results;
}

}  // namespace dinoclip
