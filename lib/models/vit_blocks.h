// Vision Transformer building blocks shared by DINO and both CLIP towers.
//
// Modules register their parameters under the checkpoint's own names, so
// loading a state_dict is a name lookup. DINO and CLIP name the same tensors
// differently (qkv vs in_proj_weight, fc1 vs c_fc, norm1 vs ln_1); a
// VitNaming picks the spelling, the maths is written once.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>

namespace dinoclip {

enum class Activation {
  kGeluErf,    // nn.GELU() (DINO)
  kQuickGelu,  // x * sigmoid(1.702 x) (CLIP)
};

struct VitNaming {
  // Fused q/k/v projection: a Linear submodule ("qkv", DINO) or bare
  // parameters "<name>_weight"/"<name>_bias" ("in_proj", nn.MultiheadAttention).
  bool qkv_as_linear = true;
  std::string qkv = "qkv";
  std::string proj = "proj";
  std::string fc1 = "fc1";
  std::string fc2 = "fc2";
  std::string norm1 = "norm1";
  std::string norm2 = "norm2";

  static VitNaming dino();
  static VitNaming clip();
};

struct VitBlockConfig {
  int dim = 384;
  int heads = 6;
  int mlp_hidden = 1536;
  double layernorm_eps = 1e-6;
  Activation activation = Activation::kGeluErf;
  VitNaming naming = VitNaming::dino();
};

// What the caller wants to see of a block's attention probabilities.
struct AttentionTap {
  bool cls_row = false;  // probs[:, :, 0, :] -> cls  [B, heads, N]
  bool full = false;     // probs             -> full [B, heads, N, N]
  at::Tensor cls;
  at::Tensor full_matrix;
};

class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int dim, int heads, const VitNaming& naming);

  // x: [B, N, D]. mask: optional additive [N, N] (CLIP text's causal mask).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask = {}, AttentionTap* tap = nullptr);

  int heads() const { return heads_; }

 private:
  at::Tensor qkv_weight() const;
  at::Tensor qkv_bias() const;

  int dim_;
  int heads_;
  torch::nn::Linear qkv_{nullptr};
  at::Tensor in_proj_weight_, in_proj_bias_;
  torch::nn::Linear proj_{nullptr};
};
TORCH_MODULE(SelfAttention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int dim, int hidden, Activation activation, const VitNaming& naming);
  // Adds the MLP's output to `residual` in place and returns it.
  at::Tensor forward_add(const at::Tensor& x, at::Tensor& residual);

 private:
  Activation activation_;
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(Mlp);

// Pre-norm transformer block: x + attn(norm1(x)), then + mlp(norm2(x)).
class VitBlockImpl : public torch::nn::Module {
 public:
  explicit VitBlockImpl(const VitBlockConfig& config);
  at::Tensor forward(at::Tensor x, const at::Tensor& mask = {}, AttentionTap* tap = nullptr);

 private:
  torch::nn::LayerNorm norm1_{nullptr};
  SelfAttention attn_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(VitBlock);

// Copies `tensors` (checkpoint names relative to `module`) into the module's
// parameters and buffers, converting dtype/device. Throws one dinoclip::Error
// listing every missing, unexpected and mis-shaped key.
void load_module_state(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                       const std::string& source, const std::string& what);

}  // namespace dinoclip

namespace dinoclip {

// Non-overlapping patch embedding (a Conv2d with kernel = stride = patch),
// computed as one matrix product over unfolded patches. Parameters "weight"
// [D, 3, p, p] and optional "bias" [D], as the Conv2d they replace.
class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int in_channels, int dim, int patch, bool bias);
  // images [B, C, H, W] (H, W multiples of the patch) -> [B, (H/p)*(W/p), D]
  at::Tensor forward(const at::Tensor& images);
  int patch() const { return patch_; }

 private:
  int patch_;
  at::Tensor weight_, bias_;
};
TORCH_MODULE(PatchEmbed);

}  // namespace dinoclip
