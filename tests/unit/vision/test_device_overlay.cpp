// DeviceOverlay (lib/vision/device_overlay.h) on CPU tensors against the CPU
// canvases it must reproduce: overlay.h through HostOverlayCanvas for packed
// frames, YuvOverlayCanvas for I420 / NV12 (attnoverlay's CPU path). Every
// mode, every pixel format, odd sizes, padded strides, BT.601 / 709, limited
// and full range (they vary with the seed), alpha 0 / 0.5 / 1 and others. The
// bound on the CPU is the one device_overlay.h states with nothing to excuse:
// every byte of every plane (padding included) equal. On a GPU the same
// comparison runs in tests/gpu/test_gpu_overlay.cpp with its stated bound.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "vision/color_convert.h"
#include "vision/device_overlay.h"
#include "vision/overlay.h"
#include "vision/overlay_canvas.h"
#include "vision/row_blend.h"
#include "vision/text_render.h"
#include "overlay_test_frames.h"

using namespace dinoclip;

namespace {

using dinoclip::testing::Difference;
using dinoclip::testing::difference;
using dinoclip::testing::FrameKind;
using dinoclip::testing::kKinds;
using dinoclip::testing::random_grid;
using dinoclip::testing::random_maps;
using dinoclip::testing::Size;
using dinoclip::testing::TestFrame;

// Draws `draw` on two copies of one random frame, on the CPU path and with
// DeviceOverlay on CPU tensors, and expects every byte equal; returns how many
// bytes the drawing changed (so that a test can check it drew at all).
int64_t expect_same_drawing(const FrameKind& kind, int w, int h, int padding, std::uint64_t seed,
                            const std::function<void(OverlayCanvas&)>& draw, const std::string& what) {
  TestFrame cpu(kind, w, h, padding, seed), device(kind, w, h, padding, seed);
  const TestFrame before = cpu;
  cpu.draw_reference(draw);
  device.draw_on_device(draw, at::kCPU);
  const Difference d = difference(cpu, device);
  EXPECT_EQ(d.differing, 0) << kind.name << " " << w << "x" << h << " padding " << padding << " " << what << ": "
                            << d.differing << " of " << d.total << " bytes differ, worst by " << d.worst;
  return difference(before, cpu).differing;
}

const std::vector<Size> kSizes = {{1, 1, 0}, {7, 5, 3}, {64, 48, 0}, {97, 61, 13}, {1281, 33, 7}};

}  // namespace

TEST(DeviceOverlay, BlendWeightIsTheFixedPointBlend) {
  // b + floor((c - b) * weight + 1/2) in float32 equals RowBlender's 15-bit blend for every b, c.
  for (float alpha : {0.0f, 1e-6f, 0.001f, 0.25f, 0.3f, 0.5f, 0.7f, 0.999f, 0.99999f, 1.0f, 2.0f}) {
    const RowBlender blender(alpha, rgb_layout(PixelFormat::kRGB));
    const float a = blend_weight(alpha);
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        const float step = std::floor(float(c - b) * a + 0.5f);
        ASSERT_EQ(int(float(b) + step), int(blender.blend_byte(std::uint8_t(b), std::uint8_t(c))))
            << "alpha " << alpha << " b " << b << " c " << c;
      }
    }
  }
}

TEST(DeviceOverlay, HeatmapEqualsTheCpuEveryFormatColormapAndAlpha) {
  std::uint64_t seed = 1;
  for (const FrameKind& kind : kKinds) {
    for (Colormap cmap : {Colormap::kInferno, Colormap::kViridis, Colormap::kTurbo, Colormap::kGray}) {
      for (float alpha : {0.0f, 0.3f, 0.5f, 1.0f}) {
        const at::Tensor heat = random_maps(1, 6, 9, ++seed);
        const int64_t changed = expect_same_drawing(
            kind, 61, 37, 5, seed, [&](OverlayCanvas& c) { c.head_strip(heat, cmap, alpha); },
            std::string("heatmap ") + colormap_name(cmap) + " alpha " + std::to_string(alpha));
        if (alpha == 0.0f) {
          EXPECT_EQ(changed, 0) << kind.name << ": alpha 0 changed the frame";
        }
        if (alpha == 1.0f) {
          EXPECT_GT(changed, 0) << kind.name << ": nothing drawn";
        }
      }
    }
  }
}

TEST(DeviceOverlay, HeatmapAndHeadStripsOddSizesAndStrides) {
  std::uint64_t seed = 100;
  for (const FrameKind& kind : kKinds) {
    for (const Size& s : kSizes) {
      for (auto [heads, gh, gw] : std::vector<std::array<int, 3>>{{1, 1, 1}, {1, 8, 12}, {3, 7, 5}, {6, 45, 80}}) {
        const at::Tensor maps = random_maps(heads, gh, gw, ++seed);
        expect_same_drawing(
            kind, s.w, s.h, s.padding, seed, [&](OverlayCanvas& c) { c.head_strip(maps, Colormap::kInferno, 0.6f); },
            "heads " + std::to_string(heads) + " grid " + std::to_string(gh) + "x" + std::to_string(gw));
      }
    }
  }
}

TEST(DeviceOverlay, FlatAndNonFiniteMapsEqualTheCpu) {
  at::Tensor maps = random_maps(3, 4, 5, 7);
  maps[0].fill_(0.25f);  // a flat map: the low end everywhere
  maps[1][1][2] = std::numeric_limits<float>::quiet_NaN();
  maps[2][0][0] = std::numeric_limits<float>::infinity();
  for (const FrameKind& kind : kKinds) {
    expect_same_drawing(
        kind, 33, 9, 2, 8, [&](OverlayCanvas& c) { c.head_strip(maps, Colormap::kMagma, 0.5f); }, "odd maps");
  }
}

TEST(DeviceOverlay, PcaGridNearestAndSmooth) {
  std::uint64_t seed = 300;
  for (const FrameKind& kind : kKinds) {
    for (const Size& s : kSizes) {
      for (auto [gh, gw] : std::vector<std::array<int, 2>>{{1, 1}, {8, 12}, {45, 80}, {3, 1}}) {
        for (bool smooth : {false, true}) {
          for (float alpha : {0.0f, 0.45f, 0.5f, 1.0f}) {
            const at::Tensor grid = random_grid(gh, gw, ++seed);
            const int64_t changed = expect_same_drawing(
                kind, s.w, s.h, s.padding, seed, [&](OverlayCanvas& c) { c.rgb_grid(grid, alpha, smooth); },
                std::string(smooth ? "smooth" : "nearest") + " grid " + std::to_string(gh) + "x" + std::to_string(gw) +
                    " alpha " + std::to_string(alpha));
            if (alpha == 0.0f) {
              EXPECT_EQ(changed, 0) << kind.name << ": alpha 0 changed the frame";
            }
          }
        }
      }
    }
  }
}

TEST(DeviceOverlay, MaskWithAndWithoutContours) {
  std::uint64_t seed = 400;
  const Palette small{{0, 0, 0}, {255, 255, 0}, {0, 255, 255}};  // ids >= 3 wrap around
  const Palette davis = davis_palette();
  for (const FrameKind& kind : kKinds) {
    for (const Size& s : kSizes) {
      for (auto [mh, mw] : std::vector<std::array<int, 2>>{{1, 1}, {4, 6}, {5, 7}, {90, 160}, {9, 50}}) {
        for (bool contours : {true, false}) {
          for (float alpha : {0.0f, 0.4f, 0.5f, 1.0f}) {
            at::Generator gen = at::detail::createCPUGenerator(++seed);
            const at::Tensor ids = at::randint(-1, 6, {mh, mw}, gen, at::kLong);  // -1: background too
            const Palette& palette = seed % 2 ? small : davis;
            const int64_t changed = expect_same_drawing(
                kind, s.w, s.h, s.padding, seed, [&](OverlayCanvas& c) { c.mask(ids, palette, alpha, contours); },
                "mask " + std::to_string(mh) + "x" + std::to_string(mw) + (contours ? " contours" : "") + " alpha " +
                    std::to_string(alpha));
            if (alpha == 0.0f && !contours) {
              EXPECT_EQ(changed, 0) << kind.name << ": alpha 0 changed the frame";
            }
          }
        }
      }
    }
  }
}

TEST(DeviceOverlay, YuvMaskLeavesUndrawnPixelsAlone) {
  // Class 0 on frame columns 0-18 of 37: their luma, the chroma of blocks 0-8
  // (columns 0-17) and every padding byte keep their value.
  const at::Tensor ids = at::tensor({0, 1}, at::kLong).view({1, 2});
  for (const FrameKind& kind : {kKinds[6], kKinds[7]}) {
    for (std::uint64_t seed : {1, 2, 3, 6}) {  // BT.709 / 601, limited / full range
      for (bool contours : {false, true}) {
        TestFrame frame(kind, 37, 21, 3, seed);
        const TestFrame before = frame;
        frame.draw_on_device([&](OverlayCanvas& c) { c.mask(ids, davis_palette(), 0.7f, contours); }, at::kCPU);
        for (size_t p = 0; p < frame.bytes.size(); ++p) {
          const int unchanged_columns = p == 0 ? 19 : kind.layout == FrameLayout::kNV12 ? 18 : 9;
          const int row_bytes = p == 0 ? 37 : kind.layout == FrameLayout::kNV12 ? 38 : 19;
          for (int row = 0; row < frame.rows[p]; ++row) {
            for (int x = 0; x < frame.strides[p]; ++x) {
              if (x >= unchanged_columns && x < row_bytes) continue;
              const size_t i = size_t(row) * frame.strides[p] + x;
              ASSERT_EQ(frame.bytes[p][i], before.bytes[p][i]) << kind.name << " plane " << p << " row " << row
                                                              << " byte " << x << (contours ? " contours" : "");
            }
          }
        }
        EXPECT_GT(difference(before, frame).differing, 0) << kind.name << ": nothing drawn";
      }
    }
  }
}

TEST(DeviceOverlay, MaskFromUint8ClassMap) {
  // The segmentation meta's class map is uint8.
  at::Generator gen = at::detail::createCPUGenerator(9);
  const at::Tensor ids = at::randint(0, 4, {4, 6}, gen, at::kByte);
  for (const FrameKind& kind : kKinds) {
    expect_same_drawing(
        kind, 84, 56, 0, 11, [&](OverlayCanvas& c) { c.mask(ids, davis_palette(), 0.4f, true); }, "uint8 mask");
  }
}

TEST(DeviceOverlay, LabelsAndDrawingsTogether) {
  if (!std::ifstream(kDefaultFontPath)) {
    GTEST_SKIP() << "font missing: " << kDefaultFontPath << " (install fonts-dejavu-core)";
  }
  const TextRenderer renderer;
  const at::Tensor heat = random_maps(1, 8, 12, 3);
  for (const FrameKind& kind : kKinds) {
    for (const Size& s : std::vector<Size>{{84, 56, 0}, {97, 61, 13}, {320, 181, 4}, {20, 9, 1}}) {
      TextStyle style;
      style.pixel_height = std::max(12, s.h / 18);
      style.x = style.y = style.pixel_height / 2;
      const int64_t changed = expect_same_drawing(
          kind, s.w, s.h, s.padding, 21,
          [&](OverlayCanvas& c) {
            c.head_strip(heat, Colormap::kInferno, 0.5f);
            c.text(renderer, "dog 0.75 éü", style);
          },
          "heatmap and label");
      EXPECT_GT(changed, 0);
      style.x = s.w - 10;  // a box that runs off the frame's right edge
      style.y = -5;
      expect_same_drawing(
          kind, s.w, s.h, s.padding, 22, [&](OverlayCanvas& c) { c.text(renderer, "a cat", style); }, "clipped label");
    }
  }
}

TEST(DeviceOverlay, RejectsPlanesThatDoNotMatchTheirLayout) {
  TestFrame packed(kKinds[2], 8, 4, 0, 1);
  FramePlanes wrong_size = packed.planes();
  wrong_size.width = 9;
  EXPECT_THROW(DeviceOverlay(wrong_size, at::kCPU), Error);
  FramePlanes grey = packed.planes();
  grey.packed_format = PixelFormat::kGray;
  EXPECT_THROW(DeviceOverlay(grey, at::kCPU), Error);
  TestFrame i420(kKinds[6], 8, 4, 0, 1);
  FramePlanes missing = i420.planes();
  missing.planes.pop_back();
  EXPECT_THROW(DeviceOverlay(missing, at::kCPU), Error);
  FramePlanes floats = i420.planes();
  floats.planes[1] = floats.planes[1].to(at::kFloat);
  EXPECT_THROW(DeviceOverlay(floats, at::kCPU), Error);
  DeviceOverlay ok(packed.planes(), at::kCPU);
  EXPECT_THROW(ok.head_strip(at::rand({2, 3}), Colormap::kGray, 0.5f), Error);
  EXPECT_THROW(ok.mask(at::ones({2, 2}, at::kLong), Palette{}, 0.5f, true), Error);
  EXPECT_THROW(ok.rgb_grid(at::zeros({2, 2, 4}, at::kByte), 0.5f, false), Error);
}
