// The row-by-row overlays (lib/vision/overlay.cpp) against the per-pixel
// implementation they replaced (overlay_reference.cpp), over random grids,
// every colour map, alphas, odd frame sizes, padded strides and every packed
// format. The stated bound (docs/elements/attnoverlay.md, "Precision"):
//  - alpha/padding bytes and the bytes after each row are never written;
//  - every colour byte is within 1 level of the reference (the fixed-point
//    blend), and equal to it for alpha 0, 1/2 and 1 (exact in binary);
//  - a heatmap pixel may show the neighbouring colour-map entry only where
//    ATen's upsampled value lies within 1e-3 colour-map steps of an entry's
//    edge (the upsampling agrees with ATen's to ~1e-6 of the map's range,
//    not bit for bit: see GridUpsample below), a few pixels in ten thousand.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "overlay_reference.h"
#include "vision/color_convert.h"
#include "vision/grid_upsample.h"
#include "vision/overlay.h"
#include "vision/row_blend.h"

using namespace dinoclip;

namespace {

constexpr PixelFormat kFormats[] = {PixelFormat::kRGB,  PixelFormat::kBGR,  PixelFormat::kRGBA,
                                    PixelFormat::kBGRA, PixelFormat::kRGBx, PixelFormat::kBGRx};
constexpr Colormap kColormaps[] = {Colormap::kInferno, Colormap::kViridis, Colormap::kMagma,
                                   Colormap::kPlasma,  Colormap::kTurbo,   Colormap::kGray};

const char* format_name(PixelFormat f) {
  static const char* names[] = {"RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "GRAY8"};
  return names[int(f)];
}

// Random frame bytes (padding included), drawn on twice: by the library and by the reference.
struct FramePair {
  std::vector<std::uint8_t> fast, slow;
  MutableImageView fast_view, slow_view;
  int bpp;
  FramePair(int w, int h, PixelFormat format, int padding, std::uint64_t seed) {
    bpp = bytes_per_pixel(format);
    const std::ptrdiff_t stride = std::ptrdiff_t(w) * bpp + padding;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    at::Tensor bytes = at::randint(0, 256, {int64_t(stride * h)}, gen, at::kByte);
    fast.assign(bytes.data_ptr<std::uint8_t>(), bytes.data_ptr<std::uint8_t>() + bytes.numel());
    slow = fast;
    fast_view = MutableImageView{fast.data(), w, h, stride, format};
    slow_view = MutableImageView{slow.data(), w, h, stride, format};
  }
};

struct Comparison {
  int worst = 0;             // largest |fast - slow| over colour bytes of pixels compared
  int64_t differing = 0;     // colour bytes that differ at all
  int64_t colour_bytes = 0;  // colour bytes compared
  int64_t other_changed = 0; // alpha/padding bytes that differ (must be 0)
  int64_t flipped = 0;       // bytes of excused pixels more than 1 level off
};

// excuse(x, y): the pixel's colour may legitimately differ more (colour-map edges).
template <typename Excuse>
Comparison compare(const FramePair& f, const Excuse& excuse) {
  Comparison c;
  const RgbLayout layout = rgb_layout(f.fast_view.format);
  const std::ptrdiff_t stride = f.fast_view.stride;
  for (int y = 0; y < f.fast_view.height; ++y) {
    for (std::ptrdiff_t i = 0; i < stride; ++i) {
      const std::size_t at = std::size_t(y * stride + i);
      const int d = std::abs(int(f.fast[at]) - int(f.slow[at]));
      const int x = int(i / f.bpp), k = int(i % f.bpp);
      const bool colour = x < f.fast_view.width && (k == layout.r || k == layout.g || k == layout.b);
      if (!colour) {
        c.other_changed += d != 0;
        continue;
      }
      if (excuse(x, y)) {
        c.flipped += d > 1;
        continue;
      }
      ++c.colour_bytes;
      c.worst = std::max(c.worst, d);
      c.differing += d != 0;
    }
  }
  return c;
}

Comparison compare(const FramePair& f) {
  return compare(f, [](int, int) { return false; });
}

// exact: the values blended are the reference's (not through the upsampling).
void expect_within_bound(const Comparison& c, float alpha, const std::string& what, bool exact_values = true) {
  EXPECT_EQ(c.other_changed, 0) << what << ": alpha/padding bytes written";
  EXPECT_LE(c.worst, 1) << what;
  EXPECT_LE(c.flipped, std::max<int64_t>(3, c.colour_bytes / 1000)) << what << ": colour-map entries moved";
  if (exact_values && (alpha == 0.0f || alpha == 0.5f || alpha == 1.0f)) {
    EXPECT_EQ(c.differing, 0) << what << ": " << c.differing << " of " << c.colour_bytes << " bytes differ";
  }
}

// Pixels whose reference value (ATen's upsampling, as the reference computes
// it) sits within 1e-5 of a colour-map entry's edge.
struct EdgePixels {
  at::Tensor values;  // [H, W] upsampled
  float vmin, scale;
  EdgePixels(const at::Tensor& heat, int w, int h, float lo, float hi)
      : values(upsample_bilinear(heat, h, w)), vmin(lo), scale(hi > lo ? 256.0f / (hi - lo) : 0.0f) {}
  bool operator()(int x, int y) const {
    const float t = (values.data_ptr<float>()[int64_t(y) * values.size(1) + x] - vmin) * scale;
    return std::abs(t - std::round(t)) <= 1e-3f;
  }
};

at::Tensor random_grid(int h, int w, at::Generator& gen) { return at::rand({h, w}, gen); }

}  // namespace

TEST(GridUpsample, EqualsATenBilinear) {
  at::Generator gen = at::detail::createCPUGenerator(1);
  int64_t exact = 0, total = 0;
  for (auto [gh, gw, h, w] : std::vector<std::array<int, 4>>{
           {1, 1, 5, 7}, {2, 3, 5, 7}, {8, 12, 56, 84}, {28, 28, 720, 1280}, {45, 80, 721, 1281}, {7, 5, 7, 5},
           {9, 9, 4, 3}, {60, 106, 1080, 1920}}) {
    const at::Tensor grid = at::rand({gh, gw}, gen) * 10 - 3;
    const at::Tensor expected = upsample_bilinear(grid, h, w);
    const GridUpsampler up(grid.data_ptr<float>(), gh, gw, h, w);
    std::vector<float> row(w);
    float worst = 0;
    const float range = grid.abs().max().item<float>();
    for (int y = 0; y < h; ++y) {
      up.row(y, row.data());
      const float* e = expected.data_ptr<float>() + int64_t(y) * w;
      for (int x = 0; x < w; ++x) {
        worst = std::max(worst, std::abs(row[x] - e[x]));
        exact += row[x] == e[x];
      }
      total += w;
    }
    // A few float roundings apart at most, whatever LibTorch's own rounding order.
    EXPECT_LE(worst, 1e-5f * range) << gh << "x" << gw << " -> " << h << "x" << w;
  }
  std::printf("grid upsampling: %lld of %lld values equal ATen's bit for bit\n", (long long)exact, (long long)total);
}

TEST(RowBlend, VectorEqualsScalarAndFloatWithinOneLevel) {
  std::vector<std::uint8_t> base(256 * 256), over(256 * 256);
  for (int b = 0; b < 256; ++b)
    for (int c = 0; c < 256; ++c) base[b * 256 + c] = std::uint8_t(b), over[b * 256 + c] = std::uint8_t(c);
  for (float alpha : {0.0f, 0.001f, 0.25f, 0.3f, 0.5f, 0.7f, 0.8f, 0.999f, 1.0f}) {
    const RowBlender blender(alpha, rgb_layout(PixelFormat::kRGB));
    std::vector<std::uint8_t> out = base;
    blender.blend(out.data(), over.data(), int(out.size() / 3) - 1);  // a tail of 4 bytes for the scalar code
    int64_t differing = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (i + 4 >= out.size()) {  // past the pixels blended
        ASSERT_EQ(out[i], base[i]);
        continue;
      }
      const std::uint8_t scalar = blender.blend_byte(base[i], over[i]);
      ASSERT_EQ(out[i], scalar) << "alpha " << alpha << " byte " << i;
      const long float_mix = std::lround(base[i] + alpha * (float(over[i]) - float(base[i])));
      ASSERT_LE(std::abs(long(scalar) - float_mix), 1) << "alpha " << alpha << " b " << int(base[i]) << " c "
                                                       << int(over[i]);
      differing += scalar != float_mix;
    }
    if (alpha == 0.0f || alpha == 0.5f || alpha == 1.0f) EXPECT_EQ(differing, 0) << "alpha " << alpha;
  }
}

TEST(OverlayReference, HeatmapEveryColormapAlphaAndFormat) {
  at::Generator gen = at::detail::createCPUGenerator(2);
  uint64_t seed = 10;
  for (PixelFormat format : kFormats) {
    for (Colormap cmap : kColormaps) {
      for (float alpha : {0.0f, 0.3f, 0.5f, 0.77f, 1.0f}) {
        const at::Tensor heat = random_grid(6, 9, gen);
        const float vmin = 0.1f, vmax = 0.9f;  // values outside clamp to the ends
        FramePair f(61, 37, format, /*padding=*/5, ++seed);
        blend_heatmap(f.fast_view, heat, cmap, alpha, vmin, vmax);
        reference::blend_heatmap(f.slow_view, heat, cmap, alpha, vmin, vmax);
        const EdgePixels edges(heat, 61, 37, vmin, vmax);
        expect_within_bound(compare(f, edges), alpha, std::string(format_name(format)) + " " + colormap_name(cmap) +
                                                   " alpha " + std::to_string(alpha));
      }
    }
  }
}

TEST(OverlayReference, HeatmapOddSizesAndStrides) {
  at::Generator gen = at::detail::createCPUGenerator(3);
  uint64_t seed = 100;
  for (PixelFormat format : kFormats) {
    for (auto [w, h, gh, gw] : std::vector<std::array<int, 4>>{
             {1, 1, 1, 1}, {1, 1, 3, 2}, {7, 5, 8, 12}, {7, 5, 1, 1}, {1281, 721, 45, 80}, {640, 1, 2, 2}}) {
      for (int padding : {0, 13}) {
        const at::Tensor heat = random_grid(gh, gw, gen);
        FramePair f(w, h, format, padding, ++seed);
        blend_heatmap(f.fast_view, heat, Colormap::kTurbo, 0.6f, 0.0f, 1.0f);
        reference::blend_heatmap(f.slow_view, heat, Colormap::kTurbo, 0.6f, 0.0f, 1.0f);
        const std::string what = std::string(format_name(format)) + " " + std::to_string(w) + "x" +
                                 std::to_string(h) + " grid " + std::to_string(gh) + "x" + std::to_string(gw) +
                                 " padding " + std::to_string(padding);
        const Comparison c = compare(f, EdgePixels(heat, w, h, 0.0f, 1.0f));
        expect_within_bound(c, 0.6f, what);
      }
    }
  }
}

TEST(OverlayReference, HeatmapDegenerateRange) {
  FramePair f(9, 4, PixelFormat::kBGRx, 3, 7);
  const at::Tensor heat = at::full({2, 2}, 0.5f);
  blend_heatmap(f.fast_view, heat, Colormap::kViridis, 0.5f, 0.5f, 0.5f);  // vmin == vmax: the low end
  reference::blend_heatmap(f.slow_view, heat, Colormap::kViridis, 0.5f, 0.5f, 0.5f);
  expect_within_bound(compare(f), 0.5f, "vmin == vmax");
}

TEST(OverlayReference, HeadStrips) {
  at::Generator gen = at::detail::createCPUGenerator(4);
  uint64_t seed = 200;
  for (PixelFormat format : kFormats) {
    for (auto [w, h, heads] : std::vector<std::array<int, 3>>{{1280, 72, 6}, {7, 5, 3}, {2, 3, 4}, {85, 31, 1}}) {
      const at::Tensor maps = at::rand({heads, 8, 12}, gen);
      FramePair f(w, h, format, /*padding=*/7, ++seed);
      draw_head_strip(f.fast_view, maps, Colormap::kInferno, 0.8f);
      reference::draw_head_strip(f.slow_view, maps, Colormap::kInferno, 0.8f);
      // Each tile normalises its own map: compare tile by tile with the tile's edges excused.
      const at::Tensor lo = std::get<0>(maps.flatten(1).min(1)), hi = std::get<0>(maps.flatten(1).max(1));
      const at::Tensor normalised = (maps - lo.view({-1, 1, 1})) / (hi - lo).view({-1, 1, 1});
      std::vector<EdgePixels> tiles;
      std::vector<int> starts;
      for (int i = 0; i < heads; ++i) {
        const int x0 = int(int64_t(w) * i / heads), x1 = int(int64_t(w) * (i + 1) / heads);
        starts.push_back(x0);
        tiles.emplace_back(normalised[i], std::max(1, x1 - x0), h, 0.0f, 1.0f);
      }
      const int last_tile = heads - 1;  // C++17 lambdas cannot capture structured bindings
      const auto excuse = [&](int x, int y) {
        int i = last_tile;
        while (i > 0 && starts[i] > x) --i;
        return int(tiles[i].values.size(1)) > x - starts[i] && tiles[i](x - starts[i], y);
      };
      expect_within_bound(compare(f, excuse), 0.8f, std::string(format_name(format)) + " " + std::to_string(w) + "x" +
                                                  std::to_string(h) + " heads " + std::to_string(heads));
    }
  }
}

TEST(OverlayReference, RgbGridNearestAndSmooth) {
  at::Generator gen = at::detail::createCPUGenerator(5);
  uint64_t seed = 300;
  for (PixelFormat format : kFormats) {
    for (auto [w, h, gw, gh] : std::vector<std::array<int, 4>>{
             {1, 1, 1, 1}, {7, 5, 12, 8}, {97, 61, 12, 8}, {1281, 721, 80, 45}, {5, 9, 1, 3}}) {
      for (bool smooth : {false, true}) {
        for (float alpha : {0.0f, 0.45f, 1.0f}) {
          Image grid(gw, gh, 3);
          const at::Tensor bytes = at::randint(0, 256, {int64_t(grid.pixels.size())}, gen, at::kByte);
          std::copy(bytes.data_ptr<std::uint8_t>(), bytes.data_ptr<std::uint8_t>() + bytes.numel(),
                    grid.pixels.begin());
          FramePair f(w, h, format, /*padding=*/w % 2 ? 11 : 0, ++seed);
          blend_rgb_grid(f.fast_view, grid, alpha, smooth);
          reference::blend_rgb_grid(f.slow_view, grid, alpha, smooth);
          expect_within_bound(compare(f), alpha, std::string(format_name(format)) + " " + std::to_string(w) + "x" +
                                              std::to_string(h) + (smooth ? " smooth" : " nearest") + " alpha " +
                                              std::to_string(alpha),
                              /*exact_values=*/!smooth);  // smooth: upsampled values round within one level
        }
      }
    }
  }
}

TEST(OverlayReference, MaskWithAndWithoutContours) {
  at::Generator gen = at::detail::createCPUGenerator(6);
  uint64_t seed = 400;
  const Palette small{{0, 0, 0}, {255, 255, 0}, {0, 255, 255}};  // ids >= 3 wrap around
  for (PixelFormat format : kFormats) {
    for (auto [w, h, mw, mh] : std::vector<std::array<int, 4>>{
             {1, 1, 1, 1}, {7, 5, 6, 4}, {7, 5, 7, 5}, {84, 56, 6, 4}, {1281, 721, 160, 90}, {33, 2, 50, 9}}) {
      for (bool contours : {true, false}) {
        for (float alpha : {0.0f, 0.4f, 1.0f}) {
          const at::Tensor ids = at::randint(-1, 6, {mh, mw}, gen, at::kLong);  // -1: background too
          for (const Palette* palette : {&small, static_cast<const Palette*>(nullptr)}) {
            const Palette davis = davis_palette();
            const Palette& p = palette ? *palette : davis;
            FramePair f(w, h, format, /*padding=*/h % 2 ? 6 : 0, ++seed);
            blend_mask(f.fast_view, ids, p, alpha, contours);
            reference::blend_mask(f.slow_view, ids, p, alpha, contours);
            expect_within_bound(compare(f), alpha, std::string(format_name(format)) + " " + std::to_string(w) + "x" +
                                                std::to_string(h) + " mask " + std::to_string(mw) + "x" +
                                                std::to_string(mh) + (contours ? " contours" : "") + " alpha " +
                                                std::to_string(alpha));
          }
        }
      }
    }
  }
}

TEST(OverlayReference, RejectsBadFramesAndMaps) {
  std::vector<std::uint8_t> bytes(64);
  MutableImageView narrow{bytes.data(), 8, 2, 20, PixelFormat::kRGB};  // stride < 8 * 3
  EXPECT_THROW(blend_heatmap(narrow, at::rand({2, 2}), Colormap::kGray, 0.5f, 0.0f, 1.0f), Error);
  MutableImageView grey{bytes.data(), 8, 2, 8, PixelFormat::kGray};
  EXPECT_THROW(blend_mask(grey, at::ones({2, 2}, at::kLong), davis_palette(), 0.5f, true), Error);
  MutableImageView ok{bytes.data(), 4, 2, 12, PixelFormat::kRGB};
  EXPECT_THROW(blend_heatmap(ok, at::rand({0, 3}), Colormap::kGray, 0.5f, 0.0f, 1.0f), Error);
  EXPECT_THROW(blend_mask(ok, at::ones({2, 2}, at::kLong), Palette{}, 0.5f, true), Error);
}
