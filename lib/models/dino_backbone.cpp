#include "models/dino_backbone.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace dinoclip {

VitBlockConfig dino_block_config(const DinoConfig& c) {
  VitBlockConfig block{c.embed_dim, c.num_heads, c.mlp_hidden, c.layernorm_eps, Activation::kGeluErf,
                       VitNaming::dino()};
  block.layer_scale = c.family != DinoFamily::kV1;
  block.masked_k_bias = c.masked_k_bias;
  return block;
}

DinoOutput run_dino_blocks(torch::nn::ModuleList& blocks, torch::nn::LayerNorm& norm, at::Tensor x,
                           int registers, const RopeTables* rope, const DinoForwardOptions& options, int grid_h,
                           int grid_w) {
  DinoOutput out;
  out.grid_h = grid_h;
  out.grid_w = grid_w;
  const int64_t prefix = 1 + registers, patches = int64_t(grid_h) * grid_w;
  // CLS + patches of a normed [B, N, D] sequence, registers dropped.
  auto cls_and_patches = [&](const at::Tensor& normed) {
    return registers == 0 ? normed : at::cat({normed.narrow(1, 0, 1), normed.narrow(1, prefix, patches)}, 1);
  };
  AttentionTap tap;
  tap.cls_row = options.cls_attention;
  tap.full = options.full_attention;
  const int64_t depth = int64_t(blocks->size());
  const int64_t first_kept = depth - std::min<int64_t>(std::max(options.intermediate_layers, 0), depth);
  for (int64_t i = 0; i < depth; ++i) {
    blocks[i]->as<VitBlock>()->forward_(x, {}, i == depth - 1 ? &tap : nullptr, rope);  // x is ours: in place
    if (i >= first_kept) out.intermediate.push_back(cls_and_patches(norm->forward(x)));
  }
  at::Tensor normed = norm->forward(x);
  out.tokens = cls_and_patches(normed);
  if (registers > 0) out.registers = normed.narrow(1, 1, registers).contiguous();
  if (tap.cls.defined()) out.cls_attention = tap.cls.narrow(2, prefix, patches).contiguous();
  if (tap.full_matrix.defined()) out.attention = tap.full_matrix;
  return out;
}

}  // namespace dinoclip
