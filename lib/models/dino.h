// DINO Vision Transformers natively in LibTorch, from the official checkpoint
// files: DINO v1 (facebookresearch/dino: ViT-S/16, S/8, B/16, B/8), DINOv2
// (facebookresearch/dinov2: ViT-S/B/L 14, with or without registers) and
// DINOv3 (facebookresearch/dinov3: ViT-S/B/L 16), the family recognised from
// the checkpoint's keys. The networks: dino.cpp (v1), dinov2.cpp, dinov3.cpp.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <string>
#include <vector>

#include "models/position_embedding.h"

namespace dinoclip {

enum class DinoFamily {
  kV1,  // learned position embedding, no registers
  kV2,  // + LayerScale, optional register tokens, its own interpolation recipes
  kV3,  // RoPE, storage tokens, LayerScale, masked k-bias, LayerNorm eps 1e-5
};

std::string to_string(DinoFamily family);  // "DINO", "DINOv2", "DINOv3"

struct DinoConfig {
  DinoFamily family = DinoFamily::kV1;
  int patch_size = 8;
  int embed_dim = 384;
  int depth = 12;
  int num_heads = 6;
  int mlp_hidden = 1536;
  int pos_grid = 28;  // side of the stored (square) position-embedding grid (0 for DINOv3)
  double layernorm_eps = 1e-6;
  // DINOv2 "register_tokens" / DINOv3 "storage_tokens": between CLS and the patches.
  int num_register_tokens = 0;
  // v1 and v2: how pos_embed is resized to the input's grid (never kAuto here).
  PosInterpolation pos_interpolation = PosInterpolation::kScaleOffset;
  bool masked_k_bias = false;  // DINOv3: blocks.N.attn.qkv.bias_mask
};

struct DinoLoadOptions {
  int num_heads = 0;  // 0: from the width (384 -> 6, 768 -> 12, otherwise width / 64)
  std::string checkpoint_key = "teacher";  // for full training checkpoints
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;  // kBFloat16 / kHalf: see core/device.h
  // DINOv2 only (others refuse anything but kAuto): overrides the recipe
  // taken from the checkpoint (registers -> antialiased by size).
  PosInterpolation pos_interpolation = PosInterpolation::kAuto;
  bool tf32 = false;         // with kFloat on CUDA: matrix products on TF32 tensor cores (precision=tf32)
  bool cuda_graphs = true;   // on CUDA: replay a CUDA graph per input shape (models/cuda_graph.h)
  bool fused_kernels = true; // on CUDA: MLP epilogues fused into the products (models/cuda_epilogues.h)
};

struct DinoForwardOptions {
  bool cls_attention = true;   // last layer's CLS -> patch attention per head
  bool full_attention = false; // last layer's whole [heads, N, N] matrix (large)
  // The last n blocks' outputs, final-normed (get_intermediate_layers(n, norm=True)).
  int intermediate_layers = 0;
};

// Always float32, whatever the compute precision. N = 1 + R + h*w tokens
// enter the blocks: CLS, R register/storage tokens (0 for v1), patches.
struct DinoOutput {
  at::Tensor tokens;         // [B, 1 + h*w, D]: final-normed, CLS first, patches row-major (no registers)
  at::Tensor registers;      // [B, R, D] final-normed register/storage tokens (undefined when R = 0)
  at::Tensor cls_attention;  // [B, heads, h*w] CLS row over the patches only (undefined if not asked)
  at::Tensor attention;      // [B, heads, N, N] (undefined unless full_attention)
  // intermediate_layers entries, oldest block first: [B, 1 + h*w, D] each (CLS + patches).
  std::vector<at::Tensor> intermediate;
  int grid_h = 0;
  int grid_w = 0;
};

class DinoBackbone;
class GraphCache;

// Loaded model, ready for inference. Movable, not copyable; forward() is const
// and may be called from one thread at a time.
class DinoModel {
 public:
  static DinoModel load(const std::string& path, const DinoLoadOptions& options = {});

  DinoModel(DinoModel&&) noexcept;
  DinoModel& operator=(DinoModel&&) noexcept;
  ~DinoModel();

  // images: [B, 3, H, W] float32, ImageNet-normalised, H and W multiples of
  // the patch size (any size: position embeddings are interpolated exactly as
  // the official code does). On any device; moved to the model's.
  DinoOutput forward(const at::Tensor& images, const DinoForwardOptions& options = {}) const;

  const DinoConfig& config() const;
  c10::Device device() const;
  std::string describe() const;  // e.g. "DINO ViT-S/8 (dim 384, 12 blocks, 6 heads)"
  // The CUDA graphs this model replays; nullptr when it runs eagerly (CPU,
  // cuda_graphs off, or a build without graph support).
  const GraphCache* cuda_graphs() const;

 private:
  DinoModel();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dinoclip
