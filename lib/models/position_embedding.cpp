#include "models/position_embedding.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace dinoclip {

PosInterpolation parse_pos_interpolation(const std::string& name) {
  if (name == "auto") return PosInterpolation::kAuto;
  if (name == "offset") return PosInterpolation::kScaleOffset;
  if (name == "antialias") return PosInterpolation::kSizeAntialiased;
  throw Error("position-embedding interpolation '" + name +
              "': use auto (from the checkpoint), offset (bicubic by scale factor (n + 0.1) / M: DINO v1, DINOv2 "
              "without registers) or antialias (antialiased bicubic by output size: DINOv2 with registers)");
}

std::string to_string(PosInterpolation recipe) {
  switch (recipe) {
    case PosInterpolation::kAuto:
      return "auto";
    case PosInterpolation::kScaleOffset:
      return "offset";
    case PosInterpolation::kSizeAntialiased:
      return "antialias";
  }
  return "?";
}

at::Tensor interpolate_position_embedding(const at::Tensor& pos_embed, int grid_h, int grid_w,
                                          PosInterpolation recipe) {
  const int64_t stored = pos_embed.size(1) - 1;
  const int64_t side = int64_t(std::lround(std::sqrt(double(stored))));
  if (side * side != stored) {
    throw Error("pos_embed holds " + std::to_string(stored) + " patch positions, not a square grid");
  }
  // Upstream returns the stored table when the patch count matches and the
  // input is square (the official code compares the input's sides).
  if (int64_t(grid_h) * grid_w == stored && grid_h == grid_w) return pos_embed;
  const int64_t dim = pos_embed.size(2);
  at::Tensor grid = pos_embed.narrow(1, 1, stored)
                        .to(at::kFloat)
                        .reshape({1, side, side, dim})
                        .permute({0, 3, 1, 2});  // [1, D, M, M]
  at::Tensor resized;
  if (recipe == PosInterpolation::kSizeAntialiased) {
    // interpolate(size=(h, w), mode="bicubic", antialias=True): no scale
    // factors reach the kernel.
    resized = at::_upsample_bicubic2d_aa(grid, {grid_h, grid_w}, /*align_corners=*/false, c10::nullopt, c10::nullopt);
  } else if (recipe == PosInterpolation::kScaleOffset) {
    // interpolate(scale_factor=((h + 0.1) / M, (w + 0.1) / M), mode="bicubic"):
    // the scale factors set the sampling positions, not just the output size.
    const double scale_h = (grid_h + 0.1) / double(side), scale_w = (grid_w + 0.1) / double(side);
    const int64_t out_h = int64_t(std::floor(side * scale_h)), out_w = int64_t(std::floor(side * scale_w));
    if (out_h != grid_h || out_w != grid_w) {
      throw Error("position-embedding interpolation gave a " + std::to_string(out_h) + "x" + std::to_string(out_w) +
                  " grid for a " + std::to_string(grid_h) + "x" + std::to_string(grid_w) + " input");
    }
    resized = at::upsample_bicubic2d(grid, {out_h, out_w}, /*align_corners=*/false, scale_h, scale_w);
  } else {
    throw Error("interpolate_position_embedding: the recipe must be resolved (offset or antialias), not auto");
  }
  at::Tensor patches = resized.permute({0, 2, 3, 1}).reshape({1, int64_t(grid_h) * grid_w, dim});
  return at::cat({pos_embed.narrow(1, 0, 1).to(at::kFloat), patches}, 1).to(pos_embed.scalar_type());
}

}  // namespace dinoclip
