// Model inputs against the Python references: dino_tiny (ToTensor + ImageNet
// Normalize) and clip_tiny (clip._transform), both float32.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/image_file.h"
#include "io/npy.h"
#include "test_support.h"
#include "vision/preprocess.h"
#include "vision/resample.h"

namespace dinoclip {
namespace {

Image gradient_picture(int width, int height) {
  Image image(width, height, 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.at(x, y, 0) = std::uint8_t(x * 255 / std::max(1, width - 1));
      image.at(x, y, 1) = std::uint8_t(y * 255 / std::max(1, height - 1));
      image.at(x, y, 2) = std::uint8_t((x * 7 + y * 13) % 256);
    }
  }
  return image;
}

TEST(Preprocess, DinoInputMatchesFixtures) {
  const char* pictures[] = {"img0_224x224", "img1_160x240", "img2_96x96", "img3_64x96"};
  for (const char* name : pictures) {
    DINOCLIP_REQUIRE_FIXTURE(png, std::string("dino_tiny/") + name + ".png");
    const Image picture = read_image(png);
    const at::Tensor expected = read_npy(testing::fixture_file(std::string("dino_tiny/") + name + "_input.npy"));
    const at::Tensor input = dino_input(picture.view(), picture.height, picture.width);
    EXPECT_EQ(input.scalar_type(), at::kFloat);
    EXPECT_TENSOR_NEAR(input, expected, 1e-6);
  }
}

TEST(Preprocess, ClipInputMatchesFixtures) {
  DINOCLIP_REQUIRE_FIXTURE(expected_path, "clip_tiny/images_input.npy");
  const at::Tensor expected = read_npy(expected_path);
  const char* pictures[] = {"img0_100x140.png", "img1_150x100.png", "img2_48x80.png"};
  for (int i = 0; i < 3; ++i) {
    const Image picture = read_image(testing::fixture_file(std::string("clip_tiny/") + pictures[i]));
    const at::Tensor input = clip_input(picture.view(), 64);
    ASSERT_EQ(input.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
    EXPECT_TENSOR_NEAR(input[0], expected[i], 1e-6);
  }
}

TEST(Preprocess, ClipResizeAndCropMatchesFixtureBytes) {
  DINOCLIP_REQUIRE_FIXTURE(expected_path, "clip_tiny/images_uint8_resized_cropped.npy");
  const at::Tensor expected = read_npy(expected_path);
  const Image picture = read_image(testing::fixture_file("clip_tiny/img2_48x80.png"));
  const Image crop = clip_resize_and_crop(picture.view(), 64);
  const at::Tensor got = at::from_blob(const_cast<std::uint8_t*>(crop.pixels.data()), {64, 64, 3}, at::kByte);
  EXPECT_TRUE(at::equal(got, expected[2]));
}

// Resizing is the PIL BILINEAR resize, then the same normalisation.
TEST(Preprocess, DinoInputResizesWithPillowBilinear) {
  const Image picture = gradient_picture(50, 30);
  const Image resized = resize(picture.view(), 32, 24, ResampleFilter::kBilinear);
  const at::Tensor expected = normalize_to_tensor(resized.view(), kImageNetStats);
  const at::Tensor input = dino_input(picture.view(), /*out_h=*/24, /*out_w=*/32);
  ASSERT_EQ(input.sizes(), (std::vector<int64_t>{1, 3, 24, 32}));
  EXPECT_TRUE(at::equal(input, expected));
}

TEST(Preprocess, NormalisationIsTorchvisionOrder) {
  Image one(1, 1, 3);
  one.pixels = {0, 128, 255};
  const at::Tensor t = normalize_to_tensor(one.view(), kImageNetStats);
  // (u8 / 255 - mean) / std in float32, in that order.
  EXPECT_EQ(t[0][0][0][0].item<float>(), (0.0f / 255.0f - 0.485f) / 0.229f);
  EXPECT_EQ(t[0][1][0][0].item<float>(), (128.0f / 255.0f - 0.456f) / 0.224f);
  EXPECT_EQ(t[0][2][0][0].item<float>(), (255.0f / 255.0f - 0.406f) / 0.225f);
}

TEST(Preprocess, AcceptsBgrxFramesWithPadding) {
  const Image rgb = gradient_picture(40, 20);
  const int stride = 40 * 4 + 12;
  std::vector<std::uint8_t> bgrx(std::size_t(stride) * 20, 0x55);
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 40; ++x) {
      std::uint8_t* p = &bgrx[std::size_t(y) * stride + x * 4];
      p[0] = rgb.at(x, y, 2);
      p[1] = rgb.at(x, y, 1);
      p[2] = rgb.at(x, y, 0);
    }
  }
  const ImageView frame{bgrx.data(), 40, 20, stride, PixelFormat::kBGRx};
  EXPECT_TRUE(at::equal(dino_input(frame, 16, 24), dino_input(rgb.view(), 16, 24)));
  EXPECT_TRUE(at::equal(dino_input(frame, 20, 40), dino_input(rgb.view(), 20, 40)));
  EXPECT_TRUE(at::equal(clip_input(frame, 16), clip_input(rgb.view(), 16)));
}

TEST(Preprocess, ClipFullFrameSquashesWithoutCropping) {
  const Image picture = gradient_picture(60, 20);
  const at::Tensor full = clip_input_full_frame(picture.view(), 16);
  ASSERT_EQ(full.sizes(), (std::vector<int64_t>{1, 3, 16, 16}));
  const Image squashed = resize(picture.view(), 16, 16, ResampleFilter::kBicubic);
  EXPECT_TRUE(at::equal(full, normalize_to_tensor(squashed.view(), kClipStats)));
  // The red ramp spans the whole width (a centre crop would keep only the middle third).
  EXPECT_LT(full[0][0][0][0].item<float>(), -1.5f);
  EXPECT_GT(full[0][0][0][15].item<float>(), 1.5f);
}

TEST(Preprocess, ToChwFloatDividesBy255) {
  Image image(2, 1, 3);
  image.pixels = {0, 51, 255, 1, 2, 3};
  const at::Tensor t = to_chw_float(image);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(t[1][0][0].item<float>(), 51.0f / 255.0f);
  EXPECT_EQ(t[2][0][0].item<float>(), 1.0f);
  EXPECT_EQ(t[0][0][1].item<float>(), 1.0f / 255.0f);
}

TEST(Preprocess, RejectsBadInputs) {
  const Image picture = gradient_picture(8, 8);
  EXPECT_THROW(dino_input(picture.view(), 0, 8), Error);
  EXPECT_THROW(dino_input(ImageView{}, 8, 8), Error);
  EXPECT_THROW(clip_input(picture.view(), 0), Error);
  EXPECT_THROW(clip_input_full_frame(picture.view(), -3), Error);
  Image grey(4, 4, 1);
  EXPECT_THROW(to_chw_float(grey), Error);
}

}  // namespace
}  // namespace dinoclip
