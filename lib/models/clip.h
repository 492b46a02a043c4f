// OpenAI CLIP (ViT-B/32, B/16, L/14, L/14@336), natively in LibTorch, from
// the released TorchScript archives (ViT-B-32.pt, ...), state_dict .pth files
// or open_clip's OpenAI-layout .safetensors.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <string>

namespace dinoclip {

class GraphCache;

// Inferred from the weights as CLIP's build_model() does; heads = width / 64.
struct ClipConfig {
  int embed_dim = 512;
  int image_resolution = 224;
  int vision_width = 768;
  int vision_layers = 12;
  int vision_patch_size = 32;
  int vision_heads = 12;
  int context_length = 77;
  int vocab_size = 49408;
  int text_width = 512;
  int text_layers = 12;
  int text_heads = 8;
};

struct ClipLoadOptions {
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;  // kBFloat16 / kHalf: see core/device.h
  bool tf32 = false;         // with kFloat on CUDA: matrix products on TF32 tensor cores (precision=tf32)
  bool cuda_graphs = true;   // on CUDA: the image tower replays a CUDA graph per batch size
  bool fused_kernels = true; // on CUDA: MLP epilogues fused into the products (models/cuda_epilogues.h)
};

class ClipModel {
 public:
  static ClipModel load(const std::string& path, const ClipLoadOptions& options = {});

  ClipModel(ClipModel&&) noexcept;
  ClipModel& operator=(ClipModel&&) noexcept;
  ~ClipModel();

  // Features are float32 whatever the compute precision.
  // images [B, 3, R, R] preprocessed as CLIP (see vision/preprocess.h) -> [B, embed] (not normalised).
  at::Tensor encode_image(const at::Tensor& images) const;

  // tokens [B, context] int (from BpeTokenizer) -> [B, embed] (not normalised).
  // Runs only up to the longest end-of-text position in the batch: the causal
  // mask makes later positions irrelevant to the pooled feature.
  at::Tensor encode_text(const at::Tensor& tokens) const;

  // exp(logit_scale): 100 for the released models.
  double logit_scale() const;

  // CLIP's forward(): logits_per_image [B_img, B_txt] = scale * cos.
  at::Tensor logits_per_image(const at::Tensor& image_features, const at::Tensor& text_features) const;

  const ClipConfig& config() const;
  c10::Device device() const;
  std::string describe() const;  // e.g. "CLIP ViT-B/32 (224 px, embed 512)"
  // The image tower's CUDA graphs; nullptr when it runs eagerly.
  const GraphCache* cuda_graphs() const;

 private:
  ClipModel();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dinoclip
