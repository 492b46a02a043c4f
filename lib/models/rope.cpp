#include "models/rope.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "core/error.h"

namespace dinoclip {

RopeTables dinov3_rope_tables(const at::Tensor& periods, int grid_h, int grid_w, int64_t prefix) {
  if (grid_h < 1 || grid_w < 1) throw Error("RoPE tables need a grid of at least 1x1 patches");
  const at::TensorOptions f32 = periods.options().dtype(at::kFloat);
  const at::Tensor p = periods.to(at::kFloat);
  // Same operations and order as upstream, in float32: the tables then agree
  // to the last bit or two.
  at::Tensor coords_h = at::arange(0.5, double(grid_h), 1.0, f32) / double(grid_h);
  at::Tensor coords_w = at::arange(0.5, double(grid_w), 1.0, f32) / double(grid_w);
  std::vector<at::Tensor> mesh = at::meshgrid({coords_h, coords_w}, "ij");
  at::Tensor coords = at::stack({mesh[0], mesh[1]}, -1).flatten(0, 1);  // [HW, 2]
  coords = 2.0 * coords - 1.0;
  at::Tensor angles = 2.0 * M_PI * coords.unsqueeze(2) / p.view({1, 1, -1});  // [HW, 2, D/4]
  angles = angles.flatten(1, 2).repeat({1, 2});                                // [HW, D]
  RopeTables tables;
  tables.sin = at::sin(angles);
  tables.cos = at::cos(angles);
  tables.prefix = prefix;
  return tables;
}

void apply_rope_(const at::Tensor& qkv, const RopeTables& rope) {
  const int64_t tokens = qkv.size(1), head_dim = qkv.size(4);
  const int64_t patches = rope.sin.size(0);
  if (rope.prefix < 0 || rope.prefix + patches != tokens || rope.sin.size(1) != head_dim) {
    throw Error("RoPE tables for " + std::to_string(patches) + " patches of head width " +
                std::to_string(rope.sin.size(1)) + " do not fit " + std::to_string(tokens) +
                " tokens (prefix " + std::to_string(rope.prefix) + ") of head width " + std::to_string(head_dim));
  }
  const at::Tensor sin = rope.sin.view({1, patches, 1, head_dim});
  const at::Tensor cos = rope.cos.view({1, patches, 1, head_dim});
  const int64_t half = head_dim / 2;
  for (int64_t part = 0; part < 2; ++part) {  // q, then k
    at::Tensor t = qkv.select(2, part).narrow(1, rope.prefix, patches);  // [B, hw, heads, hd]
    at::Tensor x = t.to(at::kFloat);
    at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
    t.copy_(x * cos + rotated * sin);
  }
}

}  // namespace dinoclip
