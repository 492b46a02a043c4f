// CLIP's two towers as torch::nn modules, parameters named as in CLIP's
// state_dict (the vision tower's names without the "visual." prefix).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "models/clip.h"
#include "models/vit_blocks.h"

namespace dinoclip {

// CLIP's Transformer: "resblocks.N" pre-norm blocks with QuickGELU.
class ClipTransformerImpl : public torch::nn::Module {
 public:
  ClipTransformerImpl(int width, int layers, int heads);
  at::Tensor forward(at::Tensor x, const at::Tensor& mask = {});

 private:
  torch::nn::ModuleList resblocks_{nullptr};
};
TORCH_MODULE(ClipTransformer);

class ClipVisionImpl : public torch::nn::Module {
 public:
  explicit ClipVisionImpl(const ClipConfig& config);
  at::Tensor forward(const at::Tensor& images);  // [B, 3, R, R] -> [B, embed]

 private:
  ClipConfig config_;
  PatchEmbed conv1_{nullptr};
  at::Tensor class_embedding_, positional_embedding_, proj_;
  torch::nn::LayerNorm ln_pre_{nullptr}, ln_post_{nullptr};
  ClipTransformer transformer_{nullptr};
};
TORCH_MODULE(ClipVision);

class ClipTextImpl : public torch::nn::Module {
 public:
  explicit ClipTextImpl(const ClipConfig& config);
  at::Tensor forward(const at::Tensor& tokens);  // [B, context] -> [B, embed]

 private:
  ClipConfig config_;
  torch::nn::Embedding token_embedding_{nullptr};
  at::Tensor positional_embedding_, text_projection_;
  ClipTransformer transformer_{nullptr};
  torch::nn::LayerNorm ln_final_{nullptr};
};
TORCH_MODULE(ClipText);

}  // namespace dinoclip
