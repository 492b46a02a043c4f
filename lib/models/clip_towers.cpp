// CLIP's VisionTransformer: conv1 patches + class token + positions, ln_pre,
// transformer, ln_post of the class token, projection.
#include <ATen/ATen.h>

#include "models/clip_towers.h"

namespace dinoclip {

namespace {
// CLIP uses PyTorch's default LayerNorm eps (unlike DINO's 1e-6); the text
// tower's small embeddings make it matter (fixture README: up to 0.47 in logits).
constexpr double kClipLayerNormEps = 1e-5;

torch::nn::LayerNorm clip_layer_norm(int width) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(kClipLayerNormEps));
}
}  // namespace

ClipTransformerImpl::ClipTransformerImpl(int width, int layers, int heads) {
  VitBlockConfig block{width, heads, 4 * width, kClipLayerNormEps, Activation::kQuickGelu, VitNaming::clip()};
  resblocks_ = register_module("resblocks", torch::nn::ModuleList());
  for (int i = 0; i < layers; ++i) resblocks_->push_back(VitBlock(block));
}

at::Tensor ClipTransformerImpl::forward(at::Tensor x, const at::Tensor& mask) {
  // The first block leaves the caller's x as it was; the others update the
  // first one's output in place.
  for (size_t i = 0; i < resblocks_->size(); ++i) {
    if (i == 0) {
      x = resblocks_[i]->as<VitBlock>()->forward(x, mask);
    } else {
      resblocks_[i]->as<VitBlock>()->forward_(x, mask);
    }
  }
  return x;
}

ClipVisionImpl::ClipVisionImpl(const ClipConfig& c) : config_(c) {
  const int grid = c.image_resolution / c.vision_patch_size;
  conv1_ = register_module("conv1", PatchEmbed(3, c.vision_width, c.vision_patch_size, /*bias=*/false));
  class_embedding_ = register_parameter("class_embedding", at::empty({c.vision_width}));
  positional_embedding_ = register_parameter("positional_embedding", at::empty({grid * grid + 1, c.vision_width}));
  ln_pre_ = register_module("ln_pre", clip_layer_norm(c.vision_width));
  transformer_ = register_module("transformer", ClipTransformer(c.vision_width, c.vision_layers, c.vision_heads));
  ln_post_ = register_module("ln_post", clip_layer_norm(c.vision_width));
  proj_ = register_parameter("proj", at::empty({c.vision_width, c.embed_dim}));
}

at::Tensor ClipVisionImpl::forward(const at::Tensor& images) {
  const int64_t batch = images.size(0);
  at::Tensor patches = conv1_->forward(images);  // [B, grid*grid, width]
  at::Tensor cls = class_embedding_.view({1, 1, -1}).expand({batch, 1, config_.vision_width});
  at::Tensor x = at::cat({cls, patches}, 1).add_(positional_embedding_);
  x = transformer_->forward(ln_pre_->forward(x));
  return at::mm(ln_post_->forward(x.select(1, 0)), proj_);
}

ClipTextImpl::ClipTextImpl(const ClipConfig& c) : config_(c) {
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(c.vocab_size, c.text_width));
  positional_embedding_ = register_parameter("positional_embedding", at::empty({c.context_length, c.text_width}));
  transformer_ = register_module("transformer", ClipTransformer(c.text_width, c.text_layers, c.text_heads));
  ln_final_ = register_module("ln_final", clip_layer_norm(c.text_width));
  text_projection_ = register_parameter("text_projection", at::empty({c.text_width, c.embed_dim}));
}

at::Tensor ClipTextImpl::forward(const at::Tensor& tokens) {
  at::Tensor ids = tokens.to(at::kLong);
  // The end-of-text token has the largest id: its position is the argmax.
  at::Tensor eot = ids.argmax(-1);
  const int64_t length = eot.max().item<int64_t>() + 1;
  ids = ids.narrow(1, 0, length);
  at::Tensor x = token_embedding_->forward(ids).add_(positional_embedding_.narrow(0, 0, length));
  at::Tensor causal = at::full({length, length}, -std::numeric_limits<float>::infinity(), x.options()).triu_(1);
  x = ln_final_->forward(transformer_->forward(x, causal));
  at::Tensor pooled = x.index({at::arange(x.size(0), eot.options()), eot});
  return at::mm(pooled, text_projection_);
}

}  // namespace dinoclip
