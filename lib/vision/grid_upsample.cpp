// The weights and the order of operations of ATen's CPU kernel as its source
// reads (UpSampleKernel.cpp, compute_indices_weights_linear and Interpolate):
// out = (g[h0][w0] * ww0 + g[h0][w1] * ww1) * wh0 + (g[h1][w0] * ww0 + g[h1][w1] * ww1) * wh1.
// Debian's 1.13 build rounds its weights differently (a few float ulps), so
// values agree to ~1e-6 of the grid's range rather than bit for bit
// (tests/unit/vision/test_overlay_reference.cpp states and checks the bound).
#include "vision/grid_upsample.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace dinoclip {

LinearTaps linear_taps(int in_size, int out_size) {
  if (in_size <= 0 || out_size <= 0) {
    throw Error("bilinear upsampling: sizes must be positive (got " + std::to_string(in_size) + " -> " +
                std::to_string(out_size) + ")");
  }
  LinearTaps taps;
  taps.index0.resize(out_size);
  taps.index1.resize(out_size);
  taps.weight0.resize(out_size);
  taps.weight1.resize(out_size);
  const float scale = float(in_size) / float(out_size);
  for (int i = 0; i < out_size; ++i) {
    if (in_size == out_size) {  // ATen copies: weights 1 and 0 on the same input
      taps.index0[i] = taps.index1[i] = i;
      taps.weight0[i] = 1.0f;
      taps.weight1[i] = 0.0f;
      continue;
    }
    // ATen: scalar_t src = scale * (dst_index + 0.5) - 0.5, the right-hand side in double.
    float source = float(double(scale) * (double(i) + 0.5) - 0.5);
    if (source < 0.0f) source = 0.0f;
    const int index = std::min(int(std::floor(source)), in_size - 1);
    const float lambda = std::min(std::max(source - float(index), 0.0f), 1.0f);
    taps.index0[i] = index;
    taps.index1[i] = index < in_size - 1 ? index + 1 : index;
    taps.weight0[i] = 1.0f - lambda;
    taps.weight1[i] = lambda;
  }
  return taps;
}

GridUpsampler::GridUpsampler(const float* grid, int grid_h, int grid_w, int out_h, int out_w)
    : out_h_(out_h), out_w_(out_w), vertical_(linear_taps(grid_h, out_h)) {
  const LinearTaps across = linear_taps(grid_w, out_w);
  across_.resize(std::size_t(grid_h) * out_w);
  for (int r = 0; r < grid_h; ++r) {
    const float* in = grid + std::size_t(r) * grid_w;
    float* out = across_.data() + std::size_t(r) * out_w;
    for (int x = 0; x < out_w; ++x) {
      out[x] = in[across.index0[x]] * across.weight0[x] + in[across.index1[x]] * across.weight1[x];
    }
  }
}

void GridUpsampler::row(int y, float* out) const {
  const float* top = across_.data() + std::size_t(vertical_.index0[y]) * out_w_;
  const float* bottom = across_.data() + std::size_t(vertical_.index1[y]) * out_w_;
  const float w0 = vertical_.weight0[y], w1 = vertical_.weight1[y];
  for (int x = 0; x < out_w_; ++x) out[x] = top[x] * w0 + bottom[x] * w1;
}

std::vector<GridUpsampler> rgb_upsamplers(const std::uint8_t* rgb, int grid_h, int grid_w, int out_h, int out_w) {
  std::vector<GridUpsampler> upsamplers;
  std::vector<float> plane(std::size_t(grid_w) * grid_h);
  for (int c = 0; c < 3; ++c) {
    for (std::size_t i = 0; i < plane.size(); ++i) plane[i] = rgb[i * 3 + c];
    upsamplers.emplace_back(plane.data(), grid_h, grid_w, out_h, out_w);  // reads the plane here only
  }
  return upsamplers;
}

TiledUpsampler::TiledUpsampler(const float* grids, int count, int grid_h, int grid_w, int out_h, int out_w) {
  for (int i = 0; i < count; ++i) {
    const int x0 = int(std::int64_t(out_w) * i / count), x1 = int(std::int64_t(out_w) * (i + 1) / count);
    if (x1 <= x0) continue;
    tiles_.emplace_back(grids + std::int64_t(i) * grid_h * grid_w, grid_h, grid_w, out_h, x1 - x0);
    tile_x_.push_back(x0);
  }
}

void TiledUpsampler::row(int y, float* out) const {
  for (std::size_t t = 0; t < tiles_.size(); ++t) tiles_[t].row(y, out + tile_x_[t]);
}

void round_to_bytes(const float* values, int n, std::uint8_t* out) {
  int x = 0;
#if defined(__SSE2__)
  for (; x + 8 <= n; x += 8) {  // cvtps rounds half to even in the default rounding mode
    const __m128i a = _mm_cvtps_epi32(_mm_loadu_ps(values + x));
    const __m128i b = _mm_cvtps_epi32(_mm_loadu_ps(values + x + 4));
    const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(a, b), _mm_setzero_si128());
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + x), bytes);
  }
#endif
  for (; x < n; ++x) out[x] = std::uint8_t(std::min(255.0f, std::max(0.0f, std::nearbyint(values[x]))));
}

}  // namespace dinoclip
