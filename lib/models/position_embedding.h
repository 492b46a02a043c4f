// Learned position embeddings resized to another patch grid, as DINO v1's and
// DINOv2's interpolate_pos_encoding do (the two DINOv2 recipes that
// dinov2/hub/backbones.py pairs with its models).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace dinoclip {

enum class PosInterpolation {
  kAuto,             // load option only: from the checkpoint (DINOv2 registers -> kSizeAntialiased, else kScaleOffset)
  kScaleOffset,      // plain bicubic by scale factor (n + 0.1) / M (DINO v1; DINOv2 without registers)
  kSizeAntialiased,  // antialiased bicubic to the output size, offset 0 (DINOv2 with registers)
};

// "auto", "offset", "antialias" (the CLI's and elements' spelling). Throws
// dinoclip::Error naming the accepted values.
PosInterpolation parse_pos_interpolation(const std::string& name);
std::string to_string(PosInterpolation recipe);

// pos_embed [1, 1 + M*M, D] (CLS row first, an M x M grid) -> [1, 1 + h*w, D]
// for a grid_h x grid_w patch grid, in pos_embed's dtype (computed in
// float32). Returned unchanged when the grid already is M x M. Throws when the
// scale-factor recipe would not give the asked grid.
at::Tensor interpolate_position_embedding(const at::Tensor& pos_embed, int grid_h, int grid_w,
                                          PosInterpolation recipe);

}  // namespace dinoclip
