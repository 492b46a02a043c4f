// CLIP zero-shot classification on embeddings, with prompt ensembling.
//
// Text encoding is the caller's: encode each label's prompts once (see
// expand_templates()), build the classifier from the embeddings and keep it;
// classifying a frame is then one [B, E] x [E, L] product and a softmax.
//
// Prompt ensembling as in CLIP's ImageNet notebook: each prompt embedding is
// L2-normalised, the T prompts of a label are averaged, and the mean is
// normalised again; logits = logit_scale * cos(image, label), softmax over labels.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dinoclip {

// One prompt per template, "{}" replaced by `label` (every occurrence):
// expand_templates("dog", {"a photo of a {}.", "a drawing of a {}."}).
// Throws dinoclip::Error when there are no templates or one lacks "{}".
std::vector<std::string> expand_templates(const std::string& label, const std::vector<std::string>& templates);

struct LabelProbability {
  int64_t label;      // index into the labels the classifier was built from
  float probability;  // softmax over all labels
};

struct ZeroShotResult {
  std::vector<LabelProbability> top;  // top-k, most probable first
  bool unknown = false;               // top[0].probability < unknown_threshold
};

class ZeroShotClassifier {
 public:
  // text_embeddings: [L, T, E] (labels x prompt templates) or [L, E] (one prompt
  // each), raw encode_text outputs on any device; logit_scale is the exp'd
  // scale (ClipModel::logit_scale(), 100 for the released models). Throws
  // dinoclip::Error on no labels, no templates, a zero embedding, logit_scale <= 0.
  explicit ZeroShotClassifier(const at::Tensor& text_embeddings, double logit_scale = 100.0);

  // image_embeddings [E] or [B, E] -> [B, L] probabilities (float32, rows sum to 1).
  at::Tensor probabilities(const at::Tensor& image_embeddings) const;

  // Per image: the top_k labels (top_k > L gives all L) and whether it is
  // "unknown" (best probability below unknown_threshold; 0 = never).
  // Throws dinoclip::Error when top_k <= 0, the threshold is outside [0, 1] or
  // the embedding size differs from the labels'.
  std::vector<ZeroShotResult> classify(const at::Tensor& image_embeddings, int64_t top_k = 5,
                                       double unknown_threshold = 0.0) const;

  // [L, E] unit rows: the ensembled label embeddings (CLIP's "zeroshot_weights".T).
  const at::Tensor& label_embeddings() const { return label_embeddings_; }
  int64_t num_labels() const { return label_embeddings_.size(0); }
  int64_t embed_dim() const { return label_embeddings_.size(1); }
  double logit_scale() const { return logit_scale_; }

 private:
  at::Tensor label_embeddings_;
  double logit_scale_;
};

}  // namespace dinoclip
