// What DinoModel (dino.cpp) needs of a DINO network, whichever family: the
// position information for a patch grid (computed once per input size and
// cached by the model) and the forward pass. One small file per family
// implements it: dino.cpp (v1), dinov2.cpp, dinov3.cpp. Internal to lib/models.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <memory>

#include "models/dino.h"
#include "models/vit_blocks.h"

namespace dinoclip {

// Per input size: a learned embedding resized to the grid (v1, v2) or the
// RoPE tables (v3).
struct DinoPosition {
  at::Tensor embedding;  // [1, 1 + h*w, D]
  RopeTables rope;
};

class DinoBackbone : public torch::nn::Module {
 public:
  virtual DinoPosition position(int grid_h, int grid_w) const = 0;
  // Called once the checkpoint's weights are in, before the model is placed
  // on its device and dtype.
  virtual void on_loaded() {}
  // images [B, 3, H, W] on the model's device, H and W multiples of the patch.
  virtual DinoOutput forward(const at::Tensor& images, const DinoPosition& position,
                             const DinoForwardOptions& options) = 0;
};

// Runs `blocks` on x [B, 1 + registers + h*w, D] (owned: updated in place),
// RoPE on the blocks' attention when rope is given, the last block's attention
// tapped as `options` ask, then `norm`, and splits the result into a
// DinoOutput (CLS + patches, registers apart, CLS attention over the patches).
DinoOutput run_dino_blocks(torch::nn::ModuleList& blocks, torch::nn::LayerNorm& norm, at::Tensor x,
                           int registers, const RopeTables* rope, const DinoForwardOptions& options, int grid_h,
                           int grid_w);

// The families' networks (dinov2.cpp, dinov3.cpp): parameters under the
// official state_dict names.
std::shared_ptr<DinoBackbone> make_dinov2_backbone(const DinoConfig& config);
std::shared_ptr<DinoBackbone> make_dinov3_backbone(const DinoConfig& config);

// The shared ViT block of a family's config.
VitBlockConfig dino_block_config(const DinoConfig& config);

}  // namespace dinoclip
