// YuvOverlayCanvas (lib/vision/yuv_overlay_canvas.h): attnoverlay's drawings
// in place on I420 / NV12 planes, in Y'CbCr. I420 and NV12, odd sizes and
// padded strides, BT.601 and BT.709, limited and full range, against
//  - a float reference written here: each pixel's overlay colour (what the RGB
//    drawing paints at alpha 1) to Y'CbCr with the textbook formula, blended
//    as the header states (luma per pixel, chroma by the mean of the block's
//    steps), rounded: every byte within 1 level;
//  - the RGB round trip the element used before, on drawn bytes of frames it
//    carries almost unchanged: within kRoundTripBound (1) level; labels equal;
// and: bytes nothing is drawn on never change (class 0, alpha 0, outside a
// label's box, padding).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "vision/color_convert.h"
#include "vision/overlay.h"
#include "vision/overlay_canvas.h"
#include "vision/text_render.h"
#include "vision/yuv_overlay_canvas.h"
#include "overlay_test_frames.h"

using namespace dinoclip;

namespace {

using namespace dinoclip::testing;  // TestFrame, Size, difference, random inputs

const FrameKind& kI420 = kKinds[6];
const FrameKind& kNV12 = kKinds[7];

// Seeds whose frames are BT.709 limited, BT.601 limited, BT.709 full, BT.601 full (TestFrame's rule).
const std::uint64_t kSeeds[] = {1, 2, 3, 6};

const std::vector<Size> kSizes = {{1, 1, 0}, {2, 2, 1}, {7, 5, 3}, {64, 48, 0}, {97, 61, 13}, {1281, 33, 7}};

// Drawn bytes against the RGB round trip, on frames it carries almost
// unchanged (colours constant over each chroma block): the round trip's own
// rounding (to RGB bytes, blended bytes, back) against one rounding here.
constexpr int kRoundTripBound = 1;

// ---- the float reference ----

// The textbook Y'CbCr of an RGB colour (ITU-R BT.601 / BT.709, limited or full range).
std::array<double, 3> textbook_ycbcr(const std::uint8_t* rgb, YuvMatrix matrix, bool full_range) {
  const double kr = matrix == YuvMatrix::kBt709 ? 0.2126 : 0.299, kb = matrix == YuvMatrix::kBt709 ? 0.0722 : 0.114;
  const double r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
  const double y = kr * r + (1.0 - kr - kb) * g + kb * b;
  const double y_scale = full_range ? 255.0 : 219.0, c_scale = full_range ? 255.0 : 224.0;
  return {(full_range ? 0.0 : 16.0) + y_scale * y, 128.0 + c_scale * (b - y) / (2.0 * (1.0 - kb)),
          128.0 + c_scale * (r - y) / (2.0 * (1.0 - kr))};
}

std::uint8_t rounded(double v) { return std::uint8_t(std::clamp(std::lround(v), 0L, 255L)); }

std::uint8_t& luma_at(TestFrame& f, int x, int y) { return f.bytes[0][std::size_t(y) * f.strides[0] + x]; }
// Channel 1 (Cb) or 2 (Cr) of chroma sample (x2, y2).
std::uint8_t& chroma_at(TestFrame& f, int channel, int x2, int y2) {
  if (f.kind.layout == FrameLayout::kNV12) return f.bytes[1][std::size_t(y2) * f.strides[1] + 2 * x2 + channel - 1];
  return f.bytes[channel][std::size_t(y2) * f.strides[channel] + x2];
}

// `frame` with each pixel blended toward colours' pixel with weights[y * W + x]:
// Y' = Y + w (Yc - Y); each chroma sample C' = C + mean of its block's w_i (Cc_i - C)
// (the last row / column repeated at odd edges); rounded.
TestFrame reference_drawing(const TestFrame& frame, const Image& colours, const std::vector<double>& weights) {
  TestFrame out = frame;
  const int w = frame.width, h = frame.height;
  const auto ycbcr = [&](int x, int y) { return textbook_ycbcr(&colours.pixels[(std::size_t(y) * w + x) * 3],
                                                               frame.matrix, frame.full_range); };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      std::uint8_t& luma = luma_at(out, x, y);
      luma = rounded(luma + weights[std::size_t(y) * w + x] * (ycbcr(x, y)[0] - luma));
    }
  }
  for (int y2 = 0; y2 < (h + 1) / 2; ++y2) {
    for (int x2 = 0; x2 < (w + 1) / 2; ++x2) {
      for (int channel : {1, 2}) {
        std::uint8_t& sample = chroma_at(out, channel, x2, y2);
        double step = 0.0;
        for (int dy = 0; dy < 2; ++dy) {
          for (int dx = 0; dx < 2; ++dx) {
            const int x = std::min(w - 1, 2 * x2 + dx), y = std::min(h - 1, 2 * y2 + dy);
            step += weights[std::size_t(y) * w + x] * (ycbcr(x, y)[channel] - sample) / 4.0;
          }
        }
        sample = rounded(sample + step);
      }
    }
  }
  return out;
}

// What the RGB drawing paints on each pixel at alpha 1 (its overlay colour).
Image colours_of(int w, int h, const std::function<void(OverlayCanvas&)>& draw) {
  Image rgb(w, h, 3);
  HostOverlayCanvas canvas(MutableImageView{rgb.pixels.data(), w, h, std::ptrdiff_t(w) * 3, PixelFormat::kRGB});
  draw(canvas);
  return rgb;
}

// Class ids stretched over the frame as blend_mask does (nearest).
std::vector<std::int64_t> stretched_classes(const at::Tensor& ids, int w, int h) {
  const int mh = int(ids.size(0)), mw = int(ids.size(1));
  const at::Tensor ids64 = ids.to(at::kLong).contiguous();
  const auto id = ids64.accessor<std::int64_t, 2>();
  std::vector<std::int64_t> classes(std::size_t(w) * h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      classes[std::size_t(y) * w + x] =
          id[std::min(mh - 1, int(std::int64_t(y) * mh / h))][std::min(mw - 1, int(std::int64_t(x) * mw / w))];
    }
  }
  return classes;
}

// The mask's weights: alpha on classes > 0, 1 on contours (a pixel of class
// > 0 whose left, right, upper or lower neighbour shows another class), 0 elsewhere.
std::vector<double> mask_weights(const std::vector<std::int64_t>& classes, int w, int h, float alpha, bool contours) {
  std::vector<double> weights(classes.size(), 0.0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const std::int64_t k = classes[std::size_t(y) * w + x];
      if (k <= 0) continue;
      bool border = false;
      for (auto [dx, dy] : {std::pair{-1, 0}, std::pair{1, 0}, std::pair{0, -1}, std::pair{0, 1}}) {
        const int nx = x + dx, ny = y + dy;
        if (nx >= 0 && nx < w && ny >= 0 && ny < h && classes[std::size_t(ny) * w + nx] != k) border = true;
      }
      weights[std::size_t(y) * w + x] = contours && border ? 1.0 : alpha;
    }
  }
  return weights;
}

at::Tensor random_classes(int h, int w, std::uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::randint(-1, 5, {h, w}, gen, at::kLong);
}

std::string describe(const TestFrame& f, const std::string& what) {
  return std::string(f.kind.name) + " " + std::to_string(f.width) + "x" + std::to_string(f.height) + " " +
         (f.matrix == YuvMatrix::kBt709 ? "BT.709" : "BT.601") + (f.full_range ? " full" : " limited") + " " + what;
}

// YuvOverlayCanvas against the reference for a drawing whose every pixel has weight `alpha`.
void expect_like_reference(const FrameKind& kind, const Size& size, std::uint64_t seed,
                           const std::function<void(OverlayCanvas&)>& draw_opaque,
                           const std::function<void(OverlayCanvas&)>& draw, const std::vector<double>& weights,
                           const std::string& what) {
  TestFrame frame(kind, size.w, size.h, size.padding, seed);
  const TestFrame expected =
      reference_drawing(frame, colours_of(size.w, size.h, draw_opaque), weights);
  frame.draw_in_ycbcr(draw);
  const Difference d = difference(expected, frame);
  EXPECT_LE(d.worst, 1) << describe(frame, what) << ": " << d.differing << " of " << d.total << " bytes differ";
}

}  // namespace

TEST(YuvOverlayCanvas, HeatmapAndHeadTilesFollowTheFloatReference) {
  for (const FrameKind* kind : {&kI420, &kNV12}) {
    for (const Size& size : kSizes) {
      for (std::uint64_t seed : kSeeds) {
        for (int heads : {1, 3, 6}) {
          const at::Tensor maps = random_maps(heads, 5, 7, seed + heads);
          for (float alpha : {0.3f, 0.5f, 1.0f}) {
            const std::vector<double> weights(std::size_t(size.w) * size.h, alpha);
            expect_like_reference(
                *kind, size, seed, [&](OverlayCanvas& c) { c.head_strip(maps, Colormap::kTurbo, 1.0f); },
                [&](OverlayCanvas& c) { c.head_strip(maps, Colormap::kTurbo, alpha); }, weights,
                std::to_string(heads) + " heads alpha " + std::to_string(alpha));
          }
        }
      }
    }
  }
}

TEST(YuvOverlayCanvas, PcaColoursNearestAndSmoothFollowTheFloatReference) {
  const at::Tensor grid = random_grid(6, 9, 4);
  for (const FrameKind* kind : {&kI420, &kNV12}) {
    for (const Size& size : kSizes) {
      for (std::uint64_t seed : kSeeds) {
        for (bool smooth : {false, true}) {
          for (float alpha : {0.25f, 0.7f, 1.0f}) {
            const std::vector<double> weights(std::size_t(size.w) * size.h, alpha);
            expect_like_reference(
                *kind, size, seed, [&](OverlayCanvas& c) { c.rgb_grid(grid, 1.0f, smooth); },
                [&](OverlayCanvas& c) { c.rgb_grid(grid, alpha, smooth); }, weights,
                std::string(smooth ? "smooth" : "nearest") + " pca alpha " + std::to_string(alpha));
          }
        }
      }
    }
  }
}

TEST(YuvOverlayCanvas, MaskFollowsTheFloatReference) {
  const Palette palette = davis_palette();
  for (const FrameKind* kind : {&kI420, &kNV12}) {
    for (const Size& size : kSizes) {
      for (std::uint64_t seed : kSeeds) {
        const at::Tensor ids = random_classes(5, 8, seed);
        const std::vector<std::int64_t> classes = stretched_classes(ids, size.w, size.h);
        for (bool contours : {false, true}) {
          for (float alpha : {0.4f, 1.0f}) {
            expect_like_reference(
                *kind, size, seed, [&](OverlayCanvas& c) { c.mask(ids, palette, 1.0f, false); },
                [&](OverlayCanvas& c) { c.mask(ids, palette, alpha, contours); },
                mask_weights(classes, size.w, size.h, alpha, contours),
                std::string("mask contours ") + (contours ? "on" : "off") + " alpha " + std::to_string(alpha));
          }
        }
      }
    }
  }
}

// Class 0 (and below) pixels keep their luma; chroma samples whose four pixels are all class 0 keep theirs.
TEST(YuvOverlayCanvas, MaskLeavesClassZeroBytesIdentical) {
  const Palette palette = davis_palette();
  for (const FrameKind* kind : {&kI420, &kNV12}) {
    for (const Size& size : kSizes) {
      const at::Tensor ids = random_classes(6, 5, 11) * (random_classes(6, 5, 12) > 1);  // mostly 0
      const std::vector<std::int64_t> classes = stretched_classes(ids, size.w, size.h);
      TestFrame frame(*kind, size.w, size.h, size.padding, 5);
      TestFrame before = frame;
      frame.draw_in_ycbcr([&](OverlayCanvas& c) { c.mask(ids, palette, 0.6f, true); });
      int kept_luma = 0, kept_chroma = 0;
      for (int y = 0; y < size.h; ++y) {
        for (int x = 0; x < size.w; ++x) {
          if (classes[std::size_t(y) * size.w + x] > 0) continue;
          ASSERT_EQ(luma_at(frame, x, y), luma_at(before, x, y)) << describe(frame, "luma") << " at " << x << "," << y;
          ++kept_luma;
        }
      }
      for (int y2 = 0; y2 < (size.h + 1) / 2; ++y2) {
        for (int x2 = 0; x2 < (size.w + 1) / 2; ++x2) {
          bool drawn = false;
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) {
              const int x = std::min(size.w - 1, 2 * x2 + dx), y = std::min(size.h - 1, 2 * y2 + dy);
              drawn = drawn || classes[std::size_t(y) * size.w + x] > 0;
            }
          if (drawn) continue;
          for (int channel : {1, 2}) {
            ASSERT_EQ(chroma_at(frame, channel, x2, y2), chroma_at(before, channel, x2, y2))
                << describe(frame, "chroma") << " sample " << x2 << "," << y2;
          }
          ++kept_chroma;
        }
      }
      if (size.w * size.h > 100) {
        EXPECT_GT(kept_luma, 0) << describe(frame, "the mask has class 0 pixels");
        EXPECT_GT(kept_chroma, 0) << describe(frame, "the mask has class 0 blocks");
        EXPECT_GT(difference(before, frame).differing, 0) << describe(frame, "the mask drew");
      }
    }
  }
}

// alpha 0 draws nothing (the mask's contours, which are opaque at any alpha as on RGB frames, off).
TEST(YuvOverlayCanvas, AlphaZeroLeavesEveryByte) {
  const at::Tensor maps = random_maps(3, 4, 6, 1), grid = random_grid(4, 6, 2), ids = random_classes(4, 6, 3);
  const std::vector<std::pair<const char*, std::function<void(OverlayCanvas&)>>> drawings = {
      {"heatmap", [&](OverlayCanvas& c) { c.head_strip(maps.narrow(0, 0, 1), Colormap::kInferno, 0.0f); }},
      {"heads", [&](OverlayCanvas& c) { c.head_strip(maps, Colormap::kInferno, 0.0f); }},
      {"pca", [&](OverlayCanvas& c) { c.rgb_grid(grid, 0.0f, false); }},
      {"pca smooth", [&](OverlayCanvas& c) { c.rgb_grid(grid, -1.0f, true); }},
      {"mask", [&](OverlayCanvas& c) { c.mask(ids, davis_palette(), 0.0f, false); }},
  };
  for (const FrameKind* kind : {&kI420, &kNV12}) {
    for (const auto& [name, draw] : drawings) {
      TestFrame frame(*kind, 97, 61, 13, 7);
      const TestFrame before = frame;
      frame.draw_in_ycbcr(draw);
      EXPECT_EQ(difference(before, frame).differing, 0) << kind->name << " " << name;
    }
  }
}

// ---- against the RGB round trip ----

// A frame whose pixels the round trip carries (almost) unchanged: random
// colours constant over each chroma block, converted with rgb_to_i420/nv12.
TestFrame frame_in_gamut(const FrameKind& kind, const Size& size, std::uint64_t seed) {
  TestFrame frame(kind, size.w, size.h, size.padding, seed);
  const at::Tensor blocks = random_grid((size.h + 1) / 2, (size.w + 1) / 2, seed + 100).contiguous();
  const auto block = blocks.accessor<std::uint8_t, 3>();  // per-pixel item() would dominate the test's time
  Image rgb(size.w, size.h, 3);
  for (int y = 0; y < size.h; ++y)
    for (int x = 0; x < size.w; ++x)
      for (int c = 0; c < 3; ++c) rgb.at(x, y, c) = block[y / 2][x / 2][c];
  if (kind.layout == FrameLayout::kI420) {
    rgb_to_i420(rgb, frame.bytes[0].data(), frame.strides[0], frame.bytes[1].data(), frame.strides[1],
                frame.bytes[2].data(), frame.strides[2], frame.matrix, frame.full_range);
  } else {
    rgb_to_nv12(rgb, frame.bytes[0].data(), frame.strides[0], frame.bytes[1].data(), frame.strides[1], frame.matrix,
                frame.full_range);
  }
  return frame;
}

TEST(YuvOverlayCanvas, DrawnPixelsMatchTheRgbRoundTrip) {
  const at::Tensor maps = random_maps(4, 5, 7, 3), grid = random_grid(6, 9, 4);
  const at::Tensor ids = random_classes(5, 8, 5);
  const std::vector<std::pair<const char*, std::function<void(OverlayCanvas&)>>> drawings = {
      {"heatmap", [&](OverlayCanvas& c) { c.head_strip(maps.narrow(0, 0, 1), Colormap::kInferno, 0.5f); }},
      {"heads", [&](OverlayCanvas& c) { c.head_strip(maps, Colormap::kViridis, 0.7f); }},
      {"pca nearest", [&](OverlayCanvas& c) { c.rgb_grid(grid, 0.5f, false); }},
      {"pca smooth", [&](OverlayCanvas& c) { c.rgb_grid(grid, 0.6f, true); }},
      {"mask", [&](OverlayCanvas& c) { c.mask(ids, davis_palette(), 0.4f, true); }},
  };
  for (const FrameKind* kind : {&kI420, &kNV12}) {
    for (const Size& size : kSizes) {
      for (std::uint64_t seed : kSeeds) {
        const TestFrame before = frame_in_gamut(*kind, size, seed);
        for (const auto& [name, draw] : drawings) {
          TestFrame in_ycbcr = before, round_trip = before;
          in_ycbcr.draw_in_ycbcr(draw);
          round_trip.draw_on_cpu(draw);
          // Only bytes that the drawing changed: the round trip changes the others too.
          int worst = 0;
          for (std::size_t p = 0; p < before.bytes.size(); ++p) {
            for (std::size_t i = 0; i < before.bytes[p].size(); ++i) {
              if (in_ycbcr.bytes[p][i] == before.bytes[p][i]) continue;
              worst = std::max(worst, std::abs(int(in_ycbcr.bytes[p][i]) - int(round_trip.bytes[p][i])));
            }
          }
          EXPECT_LE(worst, kRoundTripBound) << describe(before, name);
        }
      }
    }
  }
}

// ---- labels ----

TEST(YuvOverlayCanvas, LabelChangesOnlyItsBoxAndEqualsTheRoundTripThere) {
  if (!std::ifstream(kDefaultFontPath)) GTEST_SKIP() << "font missing: " << kDefaultFontPath << " (fonts-dejavu-core)";
  const TextRenderer renderer;
  for (const FrameKind* kind : {&kI420, &kNV12}) {
    for (std::uint64_t seed : kSeeds) {
      for (auto [x, y] : {std::pair{7, 5}, std::pair{0, 0}, std::pair{60, 40}}) {
        TextStyle style;
        style.x = x;
        style.y = y;
        style.pixel_height = 13;
        const auto draw = [&](OverlayCanvas& c) { c.text(renderer, "cat 0.75", style); };
        TestFrame before = frame_in_gamut(*kind, {97, 61, 13}, seed);
        TestFrame frame = before, round_trip = before;
        frame.draw_in_ycbcr(draw);
        round_trip.draw_on_cpu(draw);
        // The box (with its margin) widened to even corners: nothing outside it changes.
        PixelRect box = label_region(renderer, "cat 0.75", style, 97, 61);
        box.x0 -= box.x0 % 2;
        box.y0 -= box.y0 % 2;
        box.x1 = std::min(97, box.x1 + box.x1 % 2);
        box.y1 = std::min(61, box.y1 + box.y1 % 2);
        const auto inside = [&](int px, int py) { return px >= box.x0 && px < box.x1 && py >= box.y0 && py < box.y1; };
        int changed = 0, worst = 0;
        for (int py = 0; py < 61; ++py) {
          for (int px = 0; px < 97; ++px) {
            const int now = luma_at(frame, px, py), was = luma_at(before, px, py);
            if (!inside(px, py)) {
              ASSERT_EQ(now, was) << describe(frame, "luma outside the label") << " at " << px << "," << py;
            } else if (now != was) {
              ++changed;
              worst = std::max(worst, std::abs(now - int(luma_at(round_trip, px, py))));
            }
          }
        }
        for (int y2 = 0; y2 < 31; ++y2) {
          for (int x2 = 0; x2 < 49; ++x2) {
            for (int channel : {1, 2}) {
              const int now = chroma_at(frame, channel, x2, y2), was = chroma_at(before, channel, x2, y2);
              if (!inside(2 * x2, 2 * y2)) {
                ASSERT_EQ(now, was) << describe(frame, "chroma outside the label") << " at " << x2 << "," << y2;
              } else if (now != was) {
                worst = std::max(worst, std::abs(now - int(chroma_at(round_trip, channel, x2, y2))));
              }
            }
          }
        }
        EXPECT_GT(changed, 50) << describe(frame, "the label drew");
        EXPECT_EQ(worst, 0) << describe(frame, "label against the round trip");  // the same conversions, per region
        for (std::size_t p = 0; p < before.bytes.size(); ++p) {  // padding included: every byte outside
          std::size_t outside_changes = 0;
          for (std::size_t i = 0; i < before.bytes[p].size(); ++i) {
            const std::size_t stride = std::size_t(before.strides[p]);
            const int row = int(i / stride), column = int(i % stride);
            const int px = p == 0 ? column : (kind->layout == FrameLayout::kNV12 ? column / 2 : column) * 2;
            const int py = p == 0 ? row : 2 * row;
            if (column >= (p == 0 ? 97 : (kind->layout == FrameLayout::kNV12 ? 98 : 49)) || !inside(px, py)) {
              outside_changes += frame.bytes[p][i] != before.bytes[p][i];
            }
          }
          EXPECT_EQ(outside_changes, 0u) << describe(frame, "plane " + std::to_string(p) + " outside the label");
        }
      }
    }
  }
}

// ---- bad input ----

TEST(YuvOverlayCanvas, RejectsMissingPlanesAndShortStrides) {
  std::vector<std::uint8_t> bytes(64 * 64);
  EXPECT_THROW(YuvOverlayCanvas(i420_planes(bytes.data(), 16, nullptr, 8, bytes.data(), 8, 16, 16,
                                            YuvMatrix::kBt601, false)),
               Error);
  EXPECT_THROW(YuvOverlayCanvas(i420_planes(bytes.data(), 15, bytes.data(), 8, bytes.data(), 8, 16, 16,
                                            YuvMatrix::kBt601, false)),
               Error);
  EXPECT_THROW(YuvOverlayCanvas(nv12_planes(bytes.data(), 16, bytes.data(), 15, 16, 16, YuvMatrix::kBt601, false)),
               Error);
  EXPECT_THROW(YuvOverlayCanvas(nv12_planes(bytes.data(), 16, bytes.data(), 16, 0, 16, YuvMatrix::kBt601, false)),
               Error);
  YuvOverlayCanvas ok(nv12_planes(bytes.data(), 16, bytes.data() + 256, 16, 16, 16, YuvMatrix::kBt601, false));
  EXPECT_THROW(ok.mask(at::zeros({0, 3}, at::kLong), davis_palette(), 0.5f, false), Error);
  EXPECT_THROW(ok.mask(at::zeros({2, 3}, at::kLong), Palette{}, 0.5f, false), Error);
  EXPECT_THROW(ok.head_strip(at::zeros({4, 4}), Colormap::kInferno, 0.5f), Error);
  EXPECT_THROW(ok.rgb_grid(at::zeros({4, 4, 2}, at::kByte), 0.5f, false), Error);
}
