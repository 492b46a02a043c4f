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

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kernels/cpu/matmul.h"

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
  // DINOv2/v3: x + ls1.gamma * attn(norm1(x)), x + ls2.gamma * mlp(norm2(x))
  // (parameters "ls1.gamma", "ls2.gamma" [dim]).
  bool layer_scale = false;
  // DINOv3: the k third of the qkv bias is multiplied by the buffer
  // "attn.qkv.bias_mask" [3 dim] (1 for q and v, 0 for k) before use.
  bool masked_k_bias = false;
};

// Rotary position embedding (DINOv3) of a sequence's patch tokens: q and k of
// tokens [prefix, N) become x cos + rotate_half(x) sin, computed in float32
// (models/rope.h makes the tables). Tokens before `prefix` (CLS, registers)
// are not rotated.
struct RopeTables {
  at::Tensor sin, cos;  // [N - prefix, head_dim] float32, on the model's device
  int64_t prefix = 0;
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
  SelfAttentionImpl(int dim, int heads, const VitNaming& naming, bool masked_k_bias = false);

  // x: [B, N, D]. mask: optional additive [N, N] (CLIP text's causal mask).
  // rope: optional rotation of q and k (DINOv3).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask = {}, AttentionTap* tap = nullptr,
                     const RopeTables* rope = nullptr);

  int heads() const { return heads_; }

  // Packs the weights for the oneDNN CPU path (kernels/cpu/matmul.h) in
  // `compute` precision (kFloat or kBFloat16). Call after loading weights.
  // out_scale: optional [dim] LayerScale gamma folded into the output
  // projection (forward_add_cpu then adds gamma * attn(h)).
  void prepare_cpu(at::ScalarType compute, const at::Tensor& out_scale = {});
  bool cpu_prepared() const { return qkv_packed_.defined(); }

  // The oneDNN path: residual += attn(h) (times prepare_cpu's out_scale).
  // h: [B, N, D] float32 or the compute dtype (the normed input); residual:
  // [B, N, D] float32, contiguous. Inference mode only.
  void forward_add_cpu(const at::Tensor& h, at::Tensor& residual, const at::Tensor& mask, AttentionTap* tap,
                       const RopeTables* rope = nullptr);

 private:
  at::Tensor qkv_weight() const;
  at::Tensor qkv_bias() const;  // with the k-bias mask applied, if any

  int dim_;
  int heads_;
  torch::nn::Linear qkv_{nullptr};
  at::Tensor in_proj_weight_, in_proj_bias_;
  at::Tensor qkv_bias_mask_;  // DINOv3's "qkv.bias_mask", or undefined
  torch::nn::Linear proj_{nullptr};
  cpu::PackedLinear qkv_packed_;  // q rows pre-scaled by 1/sqrt(head_dim)
  cpu::PackedLinear proj_packed_;
};
TORCH_MODULE(SelfAttention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int dim, int hidden, Activation activation, const VitNaming& naming);
  // Adds the MLP's output (times `out_scale` [dim], LayerScale, if defined)
  // to `residual` in place and returns it.
  // With prepare_cpu() done, a CPU input in inference mode runs on oneDNN
  // (x float32 or the compute dtype, residual float32; bias + activation and
  // the residual add fused; out_scale folded into fc2 by prepare_cpu).
  at::Tensor forward_add(const at::Tensor& x, at::Tensor& residual, const at::Tensor& out_scale = {});

  void prepare_cpu(at::ScalarType compute, const at::Tensor& out_scale = {});
  // On CUDA, after the weights are on the device: fuse the bias and the
  // activation into the products (models/cuda_epilogues.h) from now on.
  void prepare_cuda();

 private:
  Activation activation_;
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
  cpu::PackedLinear fc1_packed_, fc2_packed_;
  bool cuda_fused_ = false;
  at::Tensor fc1_bias_scaled_;  // QuickGELU's slope x fc1's bias (prepare_cuda)
};
TORCH_MODULE(Mlp);

// Pre-norm transformer block: x + attn(norm1(x)), then + mlp(norm2(x))
// (with LayerScale: each branch times its gamma).
class VitBlockImpl : public torch::nn::Module {
 public:
  explicit VitBlockImpl(const VitBlockConfig& config);
  at::Tensor forward(at::Tensor x, const at::Tensor& mask = {}, AttentionTap* tap = nullptr,
                     const RopeTables* rope = nullptr);

  // x = forward(x), in place on the CPU kernels (x float32 and contiguous):
  // for a caller that owns x and needs only the block's output, this saves
  // forward()'s copy of the residual stream.
  void forward_(at::Tensor& x, const at::Tensor& mask = {}, AttentionTap* tap = nullptr,
                const RopeTables* rope = nullptr);

  // See SelfAttentionImpl::prepare_cpu. LayerNorm statistics, softmax and
  // the residual stream stay float32 whatever `compute` is; the LayerNorms
  // write their output in `compute`, the dtype the products read.
  void prepare_cpu(at::ScalarType compute);
  void prepare_cuda() { mlp_->prepare_cuda(); }

 private:
  bool use_cpu_kernels(const at::Tensor& x) const;
  // residual = block(residual) on the CPU kernels.
  void forward_cpu_(at::Tensor& residual, const at::Tensor& mask, AttentionTap* tap, const RopeTables* rope);
  at::Tensor norm_cpu(const torch::nn::LayerNorm& norm, const at::Tensor& x) const;

  at::ScalarType compute_ = at::kFloat;  // the CPU kernels' products (prepare_cpu)

  torch::nn::LayerNorm norm1_{nullptr};
  SelfAttention attn_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  Mlp mlp_{nullptr};
  at::Tensor ls1_gamma_, ls2_gamma_;  // LayerScale, or undefined
};
TORCH_MODULE(VitBlock);

// Copies `tensors` (checkpoint names relative to `module`) into the module's
// parameters and buffers, converting dtype/device. Throws one dinoclip::Error
// listing every missing, unexpected and mis-shaped key.
void load_module_state(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                       const std::string& source, const std::string& what);

// Prepares every ViT block and patch embedding under `model` (on the CPU,
// weights loaded) for the oneDNN kernels: block matrix products in `compute`
// (kFloat or kBFloat16), patch embeddings in float32. Returns false, changing
// nothing, when the kernels are unavailable (built without oneDNN, or
// DINOCLIP_CPU_KERNELS=aten); the caller then runs its ATen path.
bool prepare_cpu_kernels(torch::nn::Module& model, at::ScalarType compute);

struct Placement {
  at::ScalarType input_dtype = at::kFloat;  // the dtype inputs must be given in
  bool cpu_kernels = false;                 // the blocks run on the oneDNN CPU kernels
};

// Puts a loaded model on `device` for inference in `dtype`. On the CPU with
// the oneDNN kernels (fp32 or bf16) the module stays float32 (LayerNorm,
// softmax, residuals, outputs) and its blocks compute in `dtype`; otherwise
// the whole module is converted. On CUDA with `fused_kernels` the blocks'
// MLPs fuse their epilogues (MlpImpl::prepare_cuda).
Placement place_model(torch::nn::Module& model, const c10::Device& device, at::ScalarType dtype,
                      bool fused_kernels = true);

// Runs `forward` on groups of up to `group` samples of `inputs` ([B, ...])
// and gathers its outputs ([n, ...] for a group of n; undefined ones stay
// undefined) into [B, ...] tensors: a batch then needs one group's
// activations plus its outputs, however large it is.
std::vector<at::Tensor> forward_in_groups(const at::Tensor& inputs, int64_t group,
                                          const std::function<std::vector<at::Tensor>(const at::Tensor&)>& forward);

// forward_in_groups with groups of one. DINO on the CPU kernels runs batches
// this way: a batch then needs one sample's activations plus its outputs
// (streams sharing a model, issue 12), its results are those of batch 1 bit
// for bit, and it runs as fast as a whole-batch pass because 785-row
// products already keep oneDNN busy (ViT-S/8 at 224, batch 4, ms per frame,
// one sample at a time / whole batch, two quiet runs: fp32 255.1, 240.8 /
// 248.4, 247.3; bf16 137.8, 136.8 / 136.0, 136.3).
std::vector<at::Tensor> forward_each_sample(const at::Tensor& inputs,
                                            const std::function<std::vector<at::Tensor>(const at::Tensor&)>& forward);

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
  void prepare_cpu();  // float32 oneDNN product for CPU inputs in inference mode

 private:
  int patch_;
  at::Tensor weight_, bias_;
  cpu::PackedLinear packed_;
};
TORCH_MODULE(PatchEmbed);

}  // namespace dinoclip
