// YUV -> RGB against GStreamer videoconvert goldens (tests/data/gen/gen_color_goldens.py)
// and the ITU formula; packed layouts -> RGB.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "io/npy.h"
#include "test_support.h"
#include "vision/color_convert.h"

using dinoclip::testing::test_data;

namespace dinoclip {
namespace {

// tests/data/<relative> in the source tree: $DINOCLIP_SOURCE_ROOT (meson test),
// else found from this file's compile-time path (relative to the build dir).
// A 2-D uint8 plane copied into rows of `stride` bytes (extra bytes set to junk).
struct Plane {
  std::vector<std::uint8_t> bytes;
  int stride = 0;
  int width = 0, height = 0;
};

Plane load_plane(const std::string& name, int extra_stride) {
  const at::Tensor t = read_npy(test_data("vision/" + name)).contiguous();
  Plane p;
  p.height = int(t.size(0));
  p.width = int(t.size(1));
  p.stride = p.width + extra_stride;
  p.bytes.assign(std::size_t(p.stride) * p.height, 0xAB);
  for (int y = 0; y < p.height; ++y) {
    std::copy_n(t.data_ptr<std::uint8_t>() + std::size_t(y) * p.width, p.width, &p.bytes[std::size_t(y) * p.stride]);
  }
  return p;
}

at::Tensor as_tensor(const Image& image) {
  return at::from_blob(const_cast<std::uint8_t*>(image.pixels.data()), {image.height, image.width, image.channels},
                       at::kByte)
      .clone();
}

struct MatrixCase {
  const char* name;
  YuvMatrix matrix;
  bool full_range;
};
const MatrixCase kMatrices[] = {{"bt601_limited", YuvMatrix::kBt601, false},
                                {"bt601_full", YuvMatrix::kBt601, true},
                                {"bt709_limited", YuvMatrix::kBt709, false},
                                {"bt709_full", YuvMatrix::kBt709, true}};

TEST(ColorConvert, I420MatchesVideoconvertExactly) {
  const Plane y = load_plane("yuv_i420_y.npy", 3);
  const Plane u = load_plane("yuv_i420_u.npy", 1);
  const Plane v = load_plane("yuv_i420_v.npy", 7);
  for (const MatrixCase& m : kMatrices) {
    const Image rgb = i420_to_rgb(y.bytes.data(), y.stride, u.bytes.data(), u.stride, v.bytes.data(), v.stride, y.width,
                                  y.height, m.matrix, m.full_range);
    const at::Tensor expected = read_npy(test_data(std::string("vision/yuv_i420_rgb_") + m.name + ".npy"));
    ASSERT_EQ(as_tensor(rgb).sizes(), expected.sizes()) << m.name;
    EXPECT_EQ(testing::max_abs_diff(as_tensor(rgb), expected), 0.0) << m.name;
  }
}

// videoconvert interpolates NV12 chroma; inside 8x8 blocks of constant chroma
// (away from the edges the interpolation reaches) it must agree exactly.
TEST(ColorConvert, Nv12MatchesVideoconvertWhereChromaIsFlat) {
  const Plane y = load_plane("yuv_nv12_y.npy", 0);
  const Plane uv = load_plane("yuv_nv12_uv.npy", 4);
  at::Tensor interior = at::zeros({y.height, y.width, 3}, at::kBool);
  for (int row = 0; row < y.height; ++row) {
    for (int col = 0; col < y.width; ++col) {
      if (row % 8 >= 2 && row % 8 <= 5 && col % 8 >= 2 && col % 8 <= 5) interior[row][col] = true;
    }
  }
  for (const MatrixCase& m : kMatrices) {
    const Image rgb =
        nv12_to_rgb(y.bytes.data(), y.stride, uv.bytes.data(), uv.stride, y.width, y.height, m.matrix, m.full_range);
    const at::Tensor expected = read_npy(test_data(std::string("vision/yuv_nv12_rgb_") + m.name + ".npy"));
    const at::Tensor diff = (as_tensor(rgb).to(at::kInt) - expected.to(at::kInt)).abs();
    EXPECT_EQ(diff.masked_select(interior).max().item<int>(), 0) << m.name;
  }
}

TEST(ColorConvert, Nv12AndI420AgreeOnTheSameFrame) {
  const int w = 9, h = 7, cw = 5, ch = 4;
  std::vector<std::uint8_t> y(w * h), u(cw * ch), v(cw * ch), uv(2 * cw * ch);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::uint8_t(i * 37 + 11);
  for (std::size_t i = 0; i < u.size(); ++i) {
    u[i] = std::uint8_t(i * 53 + 7);
    v[i] = std::uint8_t(i * 91 + 3);
    uv[2 * i] = u[i];
    uv[2 * i + 1] = v[i];
  }
  for (YuvConversion conversion : {YuvConversion::kGStreamer, YuvConversion::kStandard}) {
    const Image a = i420_to_rgb(y.data(), w, u.data(), cw, v.data(), cw, w, h, YuvMatrix::kBt709, false, conversion);
    const Image b = nv12_to_rgb(y.data(), w, uv.data(), 2 * cw, w, h, YuvMatrix::kBt709, false, conversion);
    EXPECT_EQ(a.pixels, b.pixels);
  }
}

// The textbook formula in double precision, rounded: what kStandard must give.
std::array<int, 3> formula_rgb(int y, int u, int v, const MatrixCase& m) {
  const double kr = m.matrix == YuvMatrix::kBt709 ? 0.2126 : 0.299;
  const double kb = m.matrix == YuvMatrix::kBt709 ? 0.0722 : 0.114;
  const double kg = 1 - kr - kb;
  const double luma = m.full_range ? y : (y - 16) * 255.0 / 219.0;
  const double scale = m.full_range ? 1.0 : 255.0 / 224.0;
  const double cb = (u - 128) * scale, cr = (v - 128) * scale;
  const double rgb[3] = {luma + 2 * (1 - kr) * cr, luma - 2 * kb * (1 - kb) / kg * cb - 2 * kr * (1 - kr) / kg * cr,
                         luma + 2 * (1 - kb) * cb};
  std::array<int, 3> out;
  for (int c = 0; c < 3; ++c) out[c] = int(std::clamp(std::lround(rgb[c]), 0L, 255L));
  return out;
}

int worst_difference_from_formula(YuvConversion conversion, const MatrixCase& m) {
  int worst = 0;
  for (int y = 0; y < 256; y += 5) {
    for (int u = 0; u < 256; u += 15) {
      for (int v = 0; v < 256; v += 15) {
        const std::uint8_t yy = y, uu = u, vv = v;
        const Image rgb = i420_to_rgb(&yy, 1, &uu, 1, &vv, 1, 1, 1, m.matrix, m.full_range, conversion);
        const auto expected = formula_rgb(y, u, v, m);
        for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(int(rgb.pixels[c]) - expected[c]));
      }
    }
  }
  return worst;
}

TEST(ColorConvert, StandardConversionFollowsTheFormula) {
  for (const MatrixCase& m : kMatrices) {
    EXPECT_LE(worst_difference_from_formula(YuvConversion::kStandard, m), 1) << m.name;  // ties may round either way
  }
}

// GStreamer's arithmetic: within 3 levels of the formula for full range; for
// limited range its dropped offset shows (documented in color_convert.h).
TEST(ColorConvert, GStreamerConversionKeepsItsKnownBias) {
  for (const MatrixCase& m : kMatrices) {
    const int worst = worst_difference_from_formula(YuvConversion::kGStreamer, m);
    if (m.full_range) {
      EXPECT_LE(worst, 3) << m.name;
    } else {
      EXPECT_LE(worst, 7) << m.name;
    }
  }
  const std::uint8_t white = 235, grey = 128, zero_chroma = 128;
  const Image w = i420_to_rgb(&white, 1, &zero_chroma, 1, &zero_chroma, 1, 1, 1, YuvMatrix::kBt601, false);
  const Image g = i420_to_rgb(&grey, 1, &zero_chroma, 1, &zero_chroma, 1, 1, 1, YuvMatrix::kBt601, false);
  EXPECT_EQ(w.pixels, (std::vector<std::uint8_t>{253, 253, 253}));
  EXPECT_EQ(g.pixels, (std::vector<std::uint8_t>{128, 128, 128}));
  const Image ws = i420_to_rgb(&white, 1, &zero_chroma, 1, &zero_chroma, 1, 1, 1, YuvMatrix::kBt601, false,
                               YuvConversion::kStandard);
  EXPECT_EQ(ws.pixels, (std::vector<std::uint8_t>{255, 255, 255}));
}

TEST(ColorConvert, PureColoursRoundTrip) {
  // BT.709 limited-range codes of pure red, green, blue (rounded ITU values).
  const struct {
    std::uint8_t y, u, v;
    std::array<int, 3> rgb;
  } colours[] = {{63, 102, 240, {255, 0, 0}}, {173, 42, 26, {0, 255, 0}}, {32, 240, 118, {0, 0, 255}}};
  for (const auto& c : colours) {
    const Image rgb = i420_to_rgb(&c.y, 1, &c.u, 1, &c.v, 1, 1, 1, YuvMatrix::kBt709, false, YuvConversion::kStandard);
    for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(rgb.pixels[ch], c.rgb[ch], 2) << int(c.y) << " channel " << ch;
  }
}

TEST(ColorConvert, RejectsMissingPlanesAndShortStrides) {
  std::vector<std::uint8_t> plane(64, 128);
  const std::uint8_t* p = plane.data();
  EXPECT_THROW(i420_to_rgb(nullptr, 4, p, 2, p, 2, 4, 4, YuvMatrix::kBt601, false), Error);
  EXPECT_THROW(i420_to_rgb(p, 3, p, 2, p, 2, 4, 4, YuvMatrix::kBt601, false), Error);  // luma stride < width
  EXPECT_THROW(i420_to_rgb(p, 5, p, 2, p, 2, 5, 4, YuvMatrix::kBt601, false), Error);  // chroma needs 3
  EXPECT_THROW(i420_to_rgb(p, 4, p, 2, p, 2, 0, 4, YuvMatrix::kBt601, false), Error);  // empty
  EXPECT_THROW(nv12_to_rgb(p, 5, p, 4, 5, 4, YuvMatrix::kBt709, true), Error);         // uv needs 6
  EXPECT_THROW(nv12_to_rgb(p, 4, nullptr, 4, 4, 4, YuvMatrix::kBt709, true), Error);
}

TEST(ColorConvert, ToRgbReadsEveryPackedLayout) {
  // One 2x2 picture in each layout, with 3 bytes of row padding.
  const std::uint8_t rgb[4][3] = {{10, 20, 30}, {40, 50, 60}, {70, 80, 90}, {100, 110, 120}};
  struct Layout {
    PixelFormat format;
    int bpp, r, g, b;
  };
  const Layout layouts[] = {{PixelFormat::kRGB, 3, 0, 1, 2},  {PixelFormat::kBGR, 3, 2, 1, 0},
                            {PixelFormat::kRGBA, 4, 0, 1, 2}, {PixelFormat::kBGRA, 4, 2, 1, 0},
                            {PixelFormat::kRGBx, 4, 0, 1, 2}, {PixelFormat::kBGRx, 4, 2, 1, 0}};
  for (const Layout& l : layouts) {
    const int stride = 2 * l.bpp + 3;
    std::vector<std::uint8_t> packed(2 * stride, 0xEE);
    for (int i = 0; i < 4; ++i) {
      std::uint8_t* px = &packed[(i / 2) * stride + (i % 2) * l.bpp];
      px[l.r] = rgb[i][0];
      px[l.g] = rgb[i][1];
      px[l.b] = rgb[i][2];
    }
    const Image out = to_rgb(ImageView{packed.data(), 2, 2, stride, l.format});
    ASSERT_EQ(out.channels, 3);
    for (int i = 0; i < 4; ++i) {
      for (int c = 0; c < 3; ++c) EXPECT_EQ(out.pixels[3 * i + c], rgb[i][c]) << int(l.format);
    }
  }
  const std::uint8_t grey[4] = {5, 6, 0, 7};  // two rows of one pixel, stride 2
  const Image g = to_rgb(ImageView{grey, 1, 2, 2, PixelFormat::kGray});
  EXPECT_EQ(g.pixels, (std::vector<std::uint8_t>{5, 5, 5, 0, 0, 0}));
}

TEST(ColorConvert, ToRgbRejectsShortStrideAndEmptyViews) {
  std::vector<std::uint8_t> bytes(64);
  EXPECT_THROW(to_rgb(ImageView{bytes.data(), 4, 2, 11, PixelFormat::kRGB}), Error);
  EXPECT_THROW(to_rgb(ImageView{nullptr, 4, 2, 12, PixelFormat::kRGB}), Error);
  EXPECT_THROW(to_rgb(ImageView{bytes.data(), 0, 2, 12, PixelFormat::kRGB}), Error);
}

// Prints the per-frame cost; checks the frame is converted at all (mid grey, no chroma).
TEST(ColorConvert, TimesFullHdI420) {
  const int w = 1920, h = 1080;
  std::vector<std::uint8_t> y(w * h), uv(w / 2 * h / 2, 128);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::uint8_t(16 + i % 220);
  Image rgb = i420_to_rgb(y.data(), w, uv.data(), w / 2, uv.data(), w / 2, w, h, YuvMatrix::kBt709, false);
  const int runs = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) {
    rgb = i420_to_rgb(y.data(), w, uv.data(), w / 2, uv.data(), w / 2, w, h, YuvMatrix::kBt709, false);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / runs;
  std::printf("[ timing ] i420_to_rgb 1920x1080: %.2f ms\n", ms);
  EXPECT_EQ(rgb.pixels[0], 0);                              // Y 16 is black
  EXPECT_EQ(rgb.pixels[3 * 219], rgb.pixels[3 * 219 + 1]);  // grey stays grey
}

}  // namespace
}  // namespace dinoclip

namespace dinoclip {
namespace {

TEST(ColorConvert, RgbToYuvRoundTripsWithinTwoLevels) {
  Image rgb(33, 17, 3);
  for (int y = 0; y < 17; ++y)
    for (int x = 0; x < 33; ++x) {
      // Smooth colours (chroma subsampling loses detail, not smooth gradients).
      rgb.at(x, y, 0) = uint8_t(40 + 5 * (x / 2));
      rgb.at(x, y, 1) = uint8_t(200 - 6 * (y / 2));
      rgb.at(x, y, 2) = 128;
    }
  for (bool full : {false, true}) {
    for (YuvMatrix m : {YuvMatrix::kBt601, YuvMatrix::kBt709}) {
      std::vector<uint8_t> Y(33 * 17), U(17 * 9), V(17 * 9), UV(34 * 9);
      rgb_to_i420(rgb, Y.data(), 33, U.data(), 17, V.data(), 17, m, full);
      Image back = i420_to_rgb(Y.data(), 33, U.data(), 17, V.data(), 17, 33, 17, m, full, YuvConversion::kStandard);
      rgb_to_nv12(rgb, Y.data(), 33, UV.data(), 34, m, full);
      Image back12 = nv12_to_rgb(Y.data(), 33, UV.data(), 34, 33, 17, m, full, YuvConversion::kStandard);
      int worst = 0;
      for (size_t i = 0; i < rgb.pixels.size(); ++i) {
        worst = std::max(worst, std::abs(int(back.pixels[i]) - rgb.pixels[i]));
        worst = std::max(worst, std::abs(int(back12.pixels[i]) - rgb.pixels[i]));
      }
      EXPECT_LE(worst, 4) << "full range " << full;
    }
  }
}

}  // namespace
}  // namespace dinoclip
