// DINOv3 (facebookresearch/dinov3, DinoVisionTransformer with MLP FFNs and
// tied norms): ViT-S/B/L 16, parameters named as in the official state_dicts
// (cls_token, storage_tokens, mask_token, patch_embed.proj.*,
// rope_embed.periods, blocks.N.{norm1, attn.qkv (+ bias_mask), attn.proj, ls1,
// norm2, mlp, ls2}, norm.*). No learned position embedding: position enters
// through RoPE on the patches' q and k, so any multiple of 16 is a valid
// input size as it is.
#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include "models/dino_backbone.h"
#include "models/rope.h"

namespace dinoclip {
namespace {

class Dinov3VisionTransformer : public DinoBackbone {
 public:
  explicit Dinov3VisionTransformer(const DinoConfig& config) : config_(config) {
    const int64_t dim = config.embed_dim, head_dim = dim / config.num_heads;
    cls_token_ = register_parameter("cls_token", at::empty({1, 1, dim}));
    if (config.num_register_tokens > 0) {
      storage_tokens_ = register_parameter("storage_tokens", at::empty({1, config.num_register_tokens, dim}));
    }
    // Only for masked training patches; the CLS's "+ 0 * mask_token" is a
    // no-op with finite weights.
    register_parameter("mask_token", at::empty({1, dim}));
    auto holder = register_module("patch_embed", std::make_shared<torch::nn::Module>());
    patch_embed_ = holder->register_module("proj", PatchEmbed(3, config.embed_dim, config.patch_size, /*bias=*/true));
    auto rope = register_module("rope_embed", std::make_shared<torch::nn::Module>());
    periods_ = rope->register_buffer("periods", at::empty({head_dim / 4}));
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < config.depth; ++i) blocks_->push_back(VitBlock(dino_block_config(config)));
    norm_ = register_module("norm", torch::nn::LayerNorm(
                                        torch::nn::LayerNormOptions({config.embed_dim}).eps(config.layernorm_eps)));
  }

  // rope_embed(H, W) in float32 from the float32 periods as loaded (a model
  // converted to half keeps its tables float32, as pos_embed_rope_dtype="fp32").
  DinoPosition position(int grid_h, int grid_w) const override {
    const at::Tensor periods = periods_float_.defined() ? periods_float_.to(periods_.device()) : periods_;
    return {{}, dinov3_rope_tables(periods, grid_h, grid_w, /*prefix=*/1 + config_.num_register_tokens)};
  }

  void on_loaded() override { periods_float_ = periods_.to(at::kFloat).clone(); }

  // prepare_tokens_with_masks: [CLS, storage tokens, patches row-major].
  DinoOutput forward(const at::Tensor& images, const DinoPosition& position,
                     const DinoForwardOptions& options) override {
    const int64_t batch = images.size(0), dim = config_.embed_dim;
    const int grid_h = int(images.size(2) / config_.patch_size), grid_w = int(images.size(3) / config_.patch_size);
    std::vector<at::Tensor> parts{cls_token_.expand({batch, 1, dim})};
    if (storage_tokens_.defined()) parts.push_back(storage_tokens_.expand({batch, config_.num_register_tokens, dim}));
    parts.push_back(patch_embed_->forward(images));
    return run_dino_blocks(blocks_, norm_, at::cat(parts, 1), config_.num_register_tokens, &position.rope, options,
                           grid_h, grid_w);
  }

 private:
  DinoConfig config_;
  at::Tensor cls_token_, storage_tokens_, periods_, periods_float_;
  PatchEmbed patch_embed_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};

}  // namespace

std::shared_ptr<DinoBackbone> make_dinov3_backbone(const DinoConfig& config) {
  return std::make_shared<Dinov3VisionTransformer>(config);
}

}  // namespace dinoclip
