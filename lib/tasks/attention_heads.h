// Which of DINO's last-layer CLS attention maps to show: one head, the mean
// over the heads, or all of them. `dinoclip attention --head N|mean|all` and
// attnoverlay's head property (-1 = mean) both choose through here, so the
// same choice gives the same map and the same error.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace dinoclip {

struct AttentionHeads {
  enum class Kind { kOne, kMean, kAll };
  Kind kind = Kind::kMean;
  int index = 0;  // kOne

  static AttentionHeads one(int index) { return {Kind::kOne, index}; }
  static AttentionHeads mean() { return {Kind::kMean, 0}; }
  static AttentionHeads all() { return {Kind::kAll, 0}; }
  // attnoverlay's property: -1 the mean, 0.. one head.
  static AttentionHeads from_property(int head) { return head < 0 ? mean() : one(head); }
  // "N" (0..), "mean" or "all". Throws dinoclip::Error on anything else.
  static AttentionHeads parse(const std::string& text);
  std::string to_string() const;  // back in parse()'s syntax
};

// maps [heads, h, w] -> the chosen [1, h, w] (one head, the mean) or all
// [heads, h, w]. Throws dinoclip::Error naming the heads the model has when
// the index is not one of them.
at::Tensor select_attention_heads(const at::Tensor& maps, const AttentionHeads& heads);

}  // namespace dinoclip
