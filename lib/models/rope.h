// Rotary position embedding as DINOv3 uses it (dinov3/layers/rope_position_encoding.py,
// "separate" coordinate normalisation, evaluation mode): tables per patch
// grid, and their application to q and k.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "models/vit_blocks.h"

namespace dinoclip {

// rope_embed(H=grid_h, W=grid_w) in float32 for head_dim = 4 * periods.numel():
// patch centres (arange(0.5, n) / n) mapped to [-1, 1], angles
// 2 pi coord / period for y then x, flattened and tiled twice; sin and cos
// [grid_h * grid_w, head_dim] on `periods`' device. `periods` is the
// checkpoint's rope_embed.periods buffer (read, not recomputed).
RopeTables dinov3_rope_tables(const at::Tensor& periods, int grid_h, int grid_w, int64_t prefix);

// qkv: [B, N, 3, heads, head_dim] (any dtype; a view into the fused
// projection). q and k of tokens [prefix, N) become x cos + rotate_half(x) sin,
// rotate_half([a, b]) = [-b, a] on the halves of head_dim, computed in
// float32 and written back in place.
void apply_rope_(const at::Tensor& qkv, const RopeTables& rope);

}  // namespace dinoclip
