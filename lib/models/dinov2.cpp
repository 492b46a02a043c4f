// DINOv2 (facebookresearch/dinov2, DinoVisionTransformer with MLP FFNs):
// ViT-S/B/L 14, with or without register tokens, parameters named as in the
// official state_dicts (cls_token, pos_embed, register_tokens, mask_token,
// patch_embed.proj.*, blocks.N.{norm1, attn, ls1, norm2, mlp, ls2}, norm.*).
#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include "models/dino_backbone.h"

namespace dinoclip {
namespace {

class Dinov2VisionTransformer : public DinoBackbone {
 public:
  explicit Dinov2VisionTransformer(const DinoConfig& config) : config_(config) {
    const int64_t dim = config.embed_dim;
    cls_token_ = register_parameter("cls_token", at::empty({1, 1, dim}));
    pos_embed_ = register_parameter("pos_embed", at::empty({1, 1 + int64_t(config.pos_grid) * config.pos_grid, dim}));
    if (config.num_register_tokens > 0) {
      register_tokens_ = register_parameter("register_tokens", at::empty({1, config.num_register_tokens, dim}));
    }
    register_parameter("mask_token", at::empty({1, dim}));  // training only (masked patches)
    auto holder = register_module("patch_embed", std::make_shared<torch::nn::Module>());
    patch_embed_ = holder->register_module("proj", PatchEmbed(3, config.embed_dim, config.patch_size, /*bias=*/true));
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < config.depth; ++i) blocks_->push_back(VitBlock(dino_block_config(config)));
    norm_ = register_module("norm", torch::nn::LayerNorm(
                                        torch::nn::LayerNormOptions({config.embed_dim}).eps(config.layernorm_eps)));
  }

  DinoPosition position(int grid_h, int grid_w) const override {
    return {interpolate_position_embedding(pos_embed_, grid_h, grid_w, config_.pos_interpolation), {}};
  }

  // prepare_tokens_with_masks: the position embedding is added to [CLS,
  // patches] before the registers go in between, so registers carry none.
  DinoOutput forward(const at::Tensor& images, const DinoPosition& position,
                     const DinoForwardOptions& options) override {
    const int64_t batch = images.size(0), dim = config_.embed_dim;
    const int grid_h = int(images.size(2) / config_.patch_size), grid_w = int(images.size(3) / config_.patch_size);
    at::Tensor x = at::cat({cls_token_.expand({batch, 1, dim}), patch_embed_->forward(images)}, 1);
    x.add_(position.embedding);
    if (register_tokens_.defined()) {
      x = at::cat({x.narrow(1, 0, 1), register_tokens_.expand({batch, config_.num_register_tokens, dim}),
                   x.narrow(1, 1, x.size(1) - 1)},
                  1);
    }
    return run_dino_blocks(blocks_, norm_, std::move(x), config_.num_register_tokens, /*rope=*/nullptr, options,
                           grid_h, grid_w);
  }

 private:
  DinoConfig config_;
  at::Tensor cls_token_, pos_embed_, register_tokens_;
  PatchEmbed patch_embed_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};

}  // namespace

std::shared_ptr<DinoBackbone> make_dinov2_backbone(const DinoConfig& config) {
  return std::make_shared<Dinov2VisionTransformer>(config);
}

}  // namespace dinoclip
