// Pillow-exact resize: bit-exact against Pillow 9.4 goldens
// (tests/data/gen/gen_resample_goldens.py) and CLIP's fixture pictures.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "io/image_file.h"
#include "io/npy.h"
#include "test_support.h"
#include "vision/resample.h"

using dinoclip::testing::test_data;

namespace dinoclip {
namespace {

// tests/data/<relative> in the source tree: $DINOCLIP_SOURCE_ROOT (meson test),
// else found from this file's compile-time path (relative to the build dir).
// Chris Wellons' lowbias32, as in the golden generator.
std::uint32_t lowbias32(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// The generator's source picture: noise from a hash of the flat index.
Image hash_image(int width, int height, std::uint32_t seed) {
  Image image(width, height, 3);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    image.pixels[i] = std::uint8_t(lowbias32(std::uint32_t(i) + seed * 0x9E3779B9U) >> 24);
  }
  return image;
}

at::Tensor as_tensor(const Image& image) {
  return at::from_blob(const_cast<std::uint8_t*>(image.pixels.data()), {image.height, image.width, image.channels},
                       at::kByte)
      .clone();
}

std::vector<int64_t> sampled(int n, int stride) {
  std::vector<int64_t> out;
  for (int i = 0; i < n; i += stride) out.push_back(i);
  if (out.back() != n - 1) out.push_back(n - 1);
  return out;
}

// Number of differing bytes and the largest difference, for a readable failure.
void expect_identical(const at::Tensor& actual, const at::Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  at::Tensor diff = (actual.to(at::kInt) - expected.to(at::kInt)).abs();
  EXPECT_EQ(diff.max().item<int>(), 0) << what << ": " << diff.gt(0).sum().item<int64_t>() << " bytes differ";
}

struct GoldenCase {
  const char* name;
  int in_w, in_h, out_w, out_h;
  ResampleFilter filter;
  int stride;  // 0: whole output stored; else sampled rows/cols
};

// Same order as CASES in gen_resample_goldens.py: the index is the hash seed.
const GoldenCase kCases[] = {
    {"up_37x23_to_64x64_bilinear", 37, 23, 64, 64, ResampleFilter::kBilinear, 0},
    {"up_37x23_to_64x64_bicubic", 37, 23, 64, 64, ResampleFilter::kBicubic, 0},
    {"up_140x100_to_480x480_bilinear", 140, 100, 480, 480, ResampleFilter::kBilinear, 48},
    {"up_140x100_to_480x480_bicubic", 140, 100, 480, 480, ResampleFilter::kBicubic, 48},
    {"down_640x480_to_224x224_bilinear", 640, 480, 224, 224, ResampleFilter::kBilinear, 8},
    {"down_640x480_to_224x224_bicubic", 640, 480, 224, 224, ResampleFilter::kBicubic, 8},
    {"down_1920x1080_to_480x480_bilinear", 1920, 1080, 480, 480, ResampleFilter::kBilinear, 32},
    {"down_17x9_to_5x3_bilinear", 17, 9, 5, 3, ResampleFilter::kBilinear, 0},
    {"down_17x9_to_5x3_bicubic", 17, 9, 5, 3, ResampleFilter::kBicubic, 0},
    {"height_only_50x40_to_50x70_bicubic", 50, 40, 50, 70, ResampleFilter::kBicubic, 0},
    {"width_only_40x50_to_23x50_bilinear", 40, 50, 23, 50, ResampleFilter::kBilinear, 0},
    {"mixed_64x48_to_96x20_bicubic", 64, 48, 96, 20, ResampleFilter::kBicubic, 0},
};

TEST(Resample, HashImageMatchesGenerator) {
  const at::Tensor expected = read_npy(test_data("vision/hash_image_5x4_seed7.npy"));
  expect_identical(as_tensor(hash_image(5, 4, 7)), expected, "hash_image(5, 4, 7)");
}

TEST(Resample, MatchesPillowGoldensExactly) {
  for (std::size_t seed = 0; seed < std::size(kCases); ++seed) {
    const GoldenCase& c = kCases[seed];
    SCOPED_TRACE(c.name);
    const Image src = hash_image(c.in_w, c.in_h, std::uint32_t(seed));
    const at::Tensor out = as_tensor(resize(src.view(), c.out_w, c.out_h, c.filter));
    const std::string stem = test_data(std::string("vision/resample_") + c.name);
    if (c.stride == 0) {
      expect_identical(out, read_npy(stem + ".npy"), c.name);
    } else {
      const at::Tensor rows = at::tensor(sampled(c.out_h, c.stride), at::kLong);
      const at::Tensor cols = at::tensor(sampled(c.out_w, c.stride), at::kLong);
      expect_identical(out.index_select(0, rows), read_npy(stem + "_rows.npy"), std::string(c.name) + " rows");
      expect_identical(out.index_select(1, cols), read_npy(stem + "_cols.npy"), std::string(c.name) + " cols");
    }
  }
}

// Every packed layout resamples to what its RGB copy gives (alpha ignored).
TEST(Resample, AnyPackedFormatGivesTheRgbResult) {
  const Image rgb = hash_image(31, 17, 99);
  const Image expected = resize(rgb.view(), 20, 40, ResampleFilter::kBicubic);
  struct Layout {
    PixelFormat format;
    int bpp, r, g, b, a;
  };
  const Layout layouts[] = {{PixelFormat::kBGR, 3, 2, 1, 0, -1},
                            {PixelFormat::kRGBA, 4, 0, 1, 2, 3},
                            {PixelFormat::kBGRA, 4, 2, 1, 0, 3},
                            {PixelFormat::kRGBx, 4, 0, 1, 2, 3},
                            {PixelFormat::kBGRx, 4, 2, 1, 0, 3}};
  for (const Layout& layout : layouts) {
    const int stride = rgb.width * layout.bpp + 5;  // padded rows, as video frames have
    std::vector<std::uint8_t> packed(std::size_t(stride) * rgb.height, 0);
    for (int y = 0; y < rgb.height; ++y) {
      for (int x = 0; x < rgb.width; ++x) {
        std::uint8_t* p = &packed[std::size_t(y) * stride + std::size_t(x) * layout.bpp];
        p[layout.r] = rgb.at(x, y, 0);
        p[layout.g] = rgb.at(x, y, 1);
        p[layout.b] = rgb.at(x, y, 2);
        if (layout.a >= 0) p[layout.a] = std::uint8_t(x * 37 + y);  // must not leak into RGB
      }
    }
    const ImageView view{packed.data(), rgb.width, rgb.height, stride, layout.format};
    EXPECT_EQ(resize(view, 20, 40, ResampleFilter::kBicubic).pixels, expected.pixels) << int(layout.format);
  }
}

// Grey goes through the plain C++ kernel, RGB through the SIMD one (where
// built): replicated grey must give the same bytes in every case.
TEST(Resample, GreyIsReplicatedThenResampled) {
  const Image rgb = hash_image(161, 93, 5);
  Image grey(rgb.width, rgb.height, 1);
  Image grey_rgb(rgb.width, rgb.height, 3);
  for (std::size_t i = 0; i < grey.pixels.size(); ++i) {
    grey.pixels[i] = rgb.pixels[3 * i];
    for (int c = 0; c < 3; ++c) grey_rgb.pixels[3 * i + c] = rgb.pixels[3 * i];
  }
  const int sizes[][2] = {{7, 30}, {40, 23}, {300, 200}, {161, 50}, {33, 93}};
  for (ResampleFilter filter : {ResampleFilter::kBilinear, ResampleFilter::kBicubic}) {
    for (const auto& size : sizes) {
      EXPECT_EQ(resize(grey.view(), size[0], size[1], filter).pixels,
                resize(grey_rgb.view(), size[0], size[1], filter).pixels)
          << size[0] << "x" << size[1] << " filter " << int(filter);
    }
  }
}

TEST(Resample, SameSizeIsACopy) {
  const Image src = hash_image(9, 7, 3);
  const Image out = resize(src.view(), 9, 7, ResampleFilter::kBicubic);
  EXPECT_EQ(out.pixels, src.pixels);
}

TEST(Resample, WeightsSumToOneInFixedPoint) {
  for (ResampleFilter filter : {ResampleFilter::kBilinear, ResampleFilter::kBicubic}) {
    const ResampleTaps taps = compute_resample_taps(1920, 480, filter);
    EXPECT_EQ(taps.taps_per_output, filter == ResampleFilter::kBilinear ? 9 : 17);  // support x4, both sides
    for (int i = 0; i < 480; ++i) {
      std::int64_t sum = 0;
      for (int t = 0; t < taps.count[i]; ++t) sum += taps.weights[std::size_t(i) * taps.taps_per_output + t];
      EXPECT_NEAR(double(sum), double(1 << 22), 8.0) << i;
    }
  }
}

TEST(Resample, RejectsBadSizes) {
  const Image src = hash_image(4, 4, 1);
  EXPECT_THROW(resize(src.view(), 0, 4, ResampleFilter::kBilinear), Error);
  EXPECT_THROW(resize(src.view(), 4, -1, ResampleFilter::kBicubic), Error);
  EXPECT_THROW(resize(ImageView{}, 4, 4, ResampleFilter::kBicubic), Error);
  ImageView short_stride = src.view();
  short_stride.stride = 5;
  EXPECT_THROW(resize(short_stride, 8, 8, ResampleFilter::kBilinear), Error);
}

TEST(Resample, ResamplerRejectsAFrameOfAnotherSize) {
  const Resampler resampler(8, 8, 4, 4, ResampleFilter::kBilinear);
  const Image other = hash_image(9, 8, 1);
  try {
    resampler.run(other.view());
    FAIL() << "expected dinoclip::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("9x8"), std::string::npos) << e.what();
  }
}

TEST(Resample, ShorterSideSizeTruncatesTheLongerSide) {
  // clip_tiny: H x W 100x140 -> 64x89, 150x100 -> 96x64, 48x80 -> 64x106.
  EXPECT_EQ(shorter_side_size(140, 100, 64).width, 89);
  EXPECT_EQ(shorter_side_size(140, 100, 64).height, 64);
  EXPECT_EQ(shorter_side_size(100, 150, 64).height, 96);
  EXPECT_EQ(shorter_side_size(80, 48, 64).width, 106);
  EXPECT_EQ(shorter_side_size(50, 50, 7).width, 7);
  EXPECT_THROW(shorter_side_size(0, 10, 7), Error);
}

TEST(Resample, CenterCropRoundsHalfToEven) {
  Image image(89, 66, 1);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) image.at(x, y) = std::uint8_t(x);
  }
  const Image crop = center_crop(image, 64, 64);
  EXPECT_EQ(crop.at(0, 0), 12);  // (89 - 64) / 2 = 12.5 -> 12
  Image wide(91, 64, 1);
  for (int x = 0; x < wide.width; ++x) wide.at(x, 0) = std::uint8_t(x);
  EXPECT_EQ(center_crop(wide, 64, 64).at(0, 0), 14);  // 13.5 -> 14
  Image rows(64, 66, 3);
  for (int y = 0; y < rows.height; ++y) rows.at(0, y, 2) = std::uint8_t(y);
  EXPECT_EQ(center_crop(rows, 64, 64).at(0, 0, 2), 1);  // 1.0
}

TEST(Resample, CenterCropRejectsACropLargerThanTheImage) {
  Image image(10, 10, 3);
  EXPECT_THROW(center_crop(image, 11, 10), Error);
  EXPECT_THROW(center_crop(image, 0, 5), Error);
}

// clip_tiny: Resize(64, BICUBIC) + CenterCrop(64) from the PNGs, exactly.
TEST(Resample, ReproducesClipFixtureCropsExactly) {
  DINOCLIP_REQUIRE_FIXTURE(expected_path, "clip_tiny/images_uint8_resized_cropped.npy");
  const at::Tensor expected = read_npy(expected_path);
  const char* pictures[] = {"img0_100x140.png", "img1_150x100.png", "img2_48x80.png"};
  for (int i = 0; i < 3; ++i) {
    const Image picture = read_image(testing::fixture_file(std::string("clip_tiny/") + pictures[i]));
    const Size2D size = shorter_side_size(picture.width, picture.height, 64);
    const Image crop = center_crop(resize(picture.view(), size.width, size.height, ResampleFilter::kBicubic), 64, 64);
    expect_identical(as_tensor(crop), expected[i], pictures[i]);
  }
}

// Prints the per-frame cost the elements pay; checks that the (threaded) runs agree.
TEST(Resample, TimesFullHdToModelInputDeterministically) {
  const Image frame = hash_image(1920, 1080, 11);
  const Resampler resampler(1920, 1080, 480, 480, ResampleFilter::kBilinear);
  const Image first = resampler.run(frame.view());  // also the warm-up
  const int runs = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) EXPECT_EQ(resampler.run(frame.view()).pixels, first.pixels);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / runs;
  std::printf("[ timing ] resize 1920x1080 -> 480x480 bilinear: %.2f ms (%d threads)\n", ms, at::get_num_threads());
}

}  // namespace
}  // namespace dinoclip
