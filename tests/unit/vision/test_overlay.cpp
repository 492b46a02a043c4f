#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "vision/overlay.h"

using namespace dinoclip;

namespace {

struct Frame {
  std::vector<uint8_t> bytes;
  MutableImageView view;
  Frame(int w, int h, PixelFormat format, int padding, uint8_t fill) {
    const int bpp = format == PixelFormat::kRGB || format == PixelFormat::kBGR ? 3 : 4;
    const int stride = w * bpp + padding;
    bytes.assign(size_t(stride) * h, fill);
    view = MutableImageView{bytes.data(), w, h, stride, format};
  }
};

}  // namespace

TEST(Overlay, HeatmapIntensityFollowsTheValues) {
  Frame frame(16, 8, PixelFormat::kRGB, 0, 0);
  at::Tensor heat = at::tensor({0.0f, 1.0f}).view({1, 2});  // left low, right high
  blend_heatmap(frame.view, heat, Colormap::kInferno, 1.0f, 0.0f, 1.0f);
  const uint8_t* row = frame.bytes.data() + 4 * frame.view.stride;
  const int left = row[0] + row[1] + row[2], right = row[15 * 3] + row[15 * 3 + 1] + row[15 * 3 + 2];
  EXPECT_LT(left, 20);
  EXPECT_GT(right, 600);
  // Brightness grows along the row: bilinear upsampling of a ramp through a
  // colour map whose lightness is monotone.
  auto sum = [&](int x) { return row[x * 3] + row[x * 3 + 1] + row[x * 3 + 2]; };
  for (int x = 1; x < 16; ++x) EXPECT_GE(sum(x), sum(x - 1)) << x;
}

TEST(Overlay, AlphaZeroLeavesFrameAndPaddingUntouched) {
  Frame frame(8, 4, PixelFormat::kBGRx, 5, 77);
  const auto before = frame.bytes;
  blend_heatmap(frame.view, at::ones({2, 2}), Colormap::kInferno, 0.0f, 0.0f, 1.0f);
  EXPECT_EQ(frame.bytes, before);
  blend_heatmap(frame.view, at::ones({2, 2}), Colormap::kInferno, 1.0f, 0.0f, 1.0f);
  for (int y = 0; y < 4; ++y) {
    for (int p = 0; p < 5; ++p) EXPECT_EQ(frame.bytes[y * frame.view.stride + 32 + p], 77) << "padding written";
    for (int x = 0; x < 8; ++x) EXPECT_EQ(frame.bytes[y * frame.view.stride + x * 4 + 3], 77) << "x byte written";
  }
}

TEST(Overlay, ChannelOrderFollowsTheFormat) {
  Frame rgb(2, 2, PixelFormat::kRGB, 0, 0), bgr(2, 2, PixelFormat::kBGR, 0, 0);
  Image red(1, 1, 3);
  red.at(0, 0, 0) = 255;
  blend_rgb_grid(rgb.view, red, 1.0f, false);
  blend_rgb_grid(bgr.view, red, 1.0f, false);
  EXPECT_EQ(rgb.bytes[0], 255);
  EXPECT_EQ(bgr.bytes[2], 255);
  EXPECT_EQ(bgr.bytes[0], 0);
}

TEST(Overlay, MaskColoursObjectsAndLeavesBackground) {
  Frame frame(4, 2, PixelFormat::kRGB, 0, 10);
  at::Tensor classes = at::tensor({0, 1, 2, 0}, at::kLong).view({1, 4});
  blend_mask(frame.view, classes, davis_palette(), 1.0f, false);
  EXPECT_EQ(frame.bytes[0], 10);    // class 0 untouched
  EXPECT_EQ(frame.bytes[3], 128);   // class 1 = (128, 0, 0)
  EXPECT_EQ(frame.bytes[6 + 1], 128);  // class 2 = (0, 128, 0)
}

TEST(Overlay, DavisPaletteIsPascalVoc) {
  Palette p = davis_palette(4);
  EXPECT_EQ(p[0], (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(p[1], (std::array<uint8_t, 3>{128, 0, 0}));
  EXPECT_EQ(p[2], (std::array<uint8_t, 3>{0, 128, 0}));
  EXPECT_EQ(p[3], (std::array<uint8_t, 3>{128, 128, 0}));
}

TEST(Overlay, HeadsRowImageHasOneTilePerHead) {
  Image row = heads_row_image(at::rand({3, 4, 5}), 8, Colormap::kInferno);
  EXPECT_EQ(row.height, 32);
  EXPECT_EQ(row.width, 3 * 40 + 2 * 4);
  EXPECT_THROW(heads_row_image(at::rand({4, 5}), 8, Colormap::kInferno), Error);
}
