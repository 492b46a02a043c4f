// Bilinear upsampling of a small float grid (attention on the patch grid, a
// PCA colour plane) to frame size, one output row at a time: the arithmetic
// of ATen's upsample_bilinear2d(align_corners=false) on the CPU, split into a
// horizontal pass over the grid rows (once per frame) and a vertical blend of
// two of those rows per output row. Drawings then never hold a full-size
// float picture, and each output row costs two multiply-adds per pixel.
// Values agree with at::upsample_bilinear2d's within 1e-5 of the grid's
// largest magnitude (a few float roundings), not bit for bit.
#pragma once

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

}  // namespace dinoclip
