// DINO Vision Transformers (facebookresearch/dino: ViT-S/16, S/8, B/16, B/8),
// natively in LibTorch, from the official checkpoint files.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <string>

namespace dinoclip {

struct DinoConfig {
  int patch_size = 8;
  int embed_dim = 384;
  int depth = 12;
  int num_heads = 6;
  int mlp_hidden = 1536;
  int pos_grid = 28;  // side of the stored (square) position-embedding grid
  double layernorm_eps = 1e-6;
};

struct DinoLoadOptions {
  int num_heads = 0;  // 0: from the width (384 -> 6, 768 -> 12, otherwise width / 64)
  std::string checkpoint_key = "teacher";  // for full training checkpoints
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;  // kBFloat16 / kHalf: see core/device.h
  bool tf32 = false;         // with kFloat on CUDA: matrix products on TF32 tensor cores (precision=tf32)
  bool cuda_graphs = true;   // on CUDA: replay a CUDA graph per input shape (models/cuda_graph.h)
  bool fused_kernels = true; // on CUDA: MLP epilogues fused into the products (models/cuda_epilogues.h)
};

struct DinoForwardOptions {
  bool cls_attention = true;   // last layer's CLS -> patch attention per head
  bool full_attention = false; // last layer's whole [heads, N+1, N+1] matrix (large)
};

// Always float32, whatever the compute precision.
struct DinoOutput {
  at::Tensor tokens;         // [B, 1 + h*w, D]: final-normed, CLS first, patches row-major
  at::Tensor cls_attention;  // [B, heads, h*w] softmax probabilities (undefined if not asked)
  at::Tensor attention;      // [B, heads, N+1, N+1] (undefined unless full_attention)
  int grid_h = 0;
  int grid_w = 0;
};

class DinoVisionTransformerImpl;
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
