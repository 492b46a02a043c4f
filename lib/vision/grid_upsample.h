// Bilinear upsampling of a small float grid (attention on the patch grid, a
// PCA colour plane) to frame size, one output row at a time: the arithmetic
// of ATen's upsample_bilinear2d(align_corners=false) on the CPU, split into a
// horizontal pass over the grid rows (once per frame) and a vertical blend of
// two of those rows per output row. Drawings then never hold a full-size
// float picture, and each output row costs two multiply-adds per pixel.
// Values agree with at::upsample_bilinear2d's within 1e-5 of the grid's
// largest magnitude (a few float roundings), not bit for bit.
#pragma once

#include <cstdint>
#include <vector>

namespace dinoclip {

// Output sample i reads inputs index0[i] and index1[i] (equal at the last
// input) with weights weight0[i] + weight1[i] = 1, as ATen 1.13 computes
// them: source position float(in / out) * (i + 0.5) - 0.5 in double, stored
// as float, clamped at 0; equal sizes copy.
struct LinearTaps {
  std::vector<int> index0, index1;
  std::vector<float> weight0, weight1;
};

LinearTaps linear_taps(int in_size, int out_size);

class GridUpsampler {
 public:
  // `grid` holds grid_h x grid_w floats, row-major; only read here.
  GridUpsampler(const float* grid, int grid_h, int grid_w, int out_h, int out_w);

  // Output row y (0 <= y < out_h) into out[0, out_w).
  void row(int y, float* out) const;

  int width() const { return out_w_; }
  int height() const { return out_h_; }

 private:
  int out_h_, out_w_;
  LinearTaps vertical_;
  std::vector<float> across_;  // grid_h x out_w: each grid row upsampled along x
};

// Each channel of a grid_h x grid_w picture of interleaved RGB bytes as a
// float plane, upsampled (smooth PCA colours): R, G and B in that order.
std::vector<GridUpsampler> rgb_upsamplers(const std::uint8_t* rgb, int grid_h, int grid_w, int out_h, int out_w);

// `count` grids of grid_h x grid_w floats (one after the other) side by side
// across an out_w-wide frame: grid i upsampled over columns
// [out_w * i / count, out_w * (i + 1) / count); a tile narrower than one
// pixel is skipped (the head strip's tiles; one tile: the whole frame).
class TiledUpsampler {
 public:
  TiledUpsampler(const float* grids, int count, int grid_h, int grid_w, int out_h, int out_w);

  // Output row y into out[0, out_w).
  void row(int y, float* out) const;

 private:
  std::vector<GridUpsampler> tiles_;
  std::vector<int> tile_x_;  // first column of each tile
};

// round(v) half to even, clamped to [0, 255] (Tensor::round_().clamp_(0, 255)):
// an upsampled colour plane's row as bytes.
void round_to_bytes(const float* values, int n, std::uint8_t* out);

}  // namespace dinoclip
