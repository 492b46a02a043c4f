// One picture through DINO (lib/tasks/dino_image), the entry point of the
// CLI's DINO commands and the dinofeatures element: the official outputs on
// the tiny model, the native top-left crop to whole patches, and sizes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>

#include "io/image_file.h"
#include "io/npy.h"
#include "tasks/dino_image.h"
#include "test_support.h"

using namespace dinoclip;
using dinoclip::testing::fixture_file;

namespace {

// The tiny DINO fixture, loaded once per test (skipped, or failed under CI=true, without it).
class DinoImage : public ::testing::Test {
 protected:
  void SetUp() override {
    DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
    DinoLoadOptions options;
    options.num_heads = 4;  // the tiny fixture's heads (its width alone would say 1)
    model_.emplace(DinoModel::load(weights, options));
  }
  DinoImageOutput run(const Image& picture, const std::string& size, const DinoForwardOptions& options = {}) {
    return run_dino_on_image(*model_, picture.view(), InputSize::parse(size), options);
  }
  std::optional<DinoModel> model_;
};

TEST_F(DinoImage, NativeSizeMatchesTheOfficialOutputs) {
  const Image picture = read_image(fixture_file("dino_tiny/img1_160x240.png"));
  const DinoImageOutput out = run(picture, "native");
  EXPECT_EQ(out.size.width, 240);  // the fixture is named HxW: 160 high, 240 wide
  EXPECT_EQ(out.size.height, 160);
  EXPECT_TENSOR_NEAR(out.output.tokens[0], read_npy(fixture_file("dino_tiny/img1_160x240_intermediate.npy"))[0], 1e-4);
  const at::Tensor cls = read_npy(fixture_file("dino_tiny/img1_160x240_attn_cls.npy"))[0];
  EXPECT_TENSOR_NEAR(out.output.cls_attention[0], cls.narrow(1, 1, cls.size(1) - 1), 1e-4);
}

TEST_F(DinoImage, NativeCropsTopLeftToWholePatches) {
  const Image picture = read_image(fixture_file("dino_tiny/img2_96x96.png"));
  // The same picture with 5 columns and 7 rows of noise past its right and bottom edges.
  Image padded(101, 103, 3);
  for (int y = 0; y < padded.height; ++y) {
    for (int x = 0; x < padded.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        padded.at(x, y, c) = x < 96 && y < 96 ? picture.at(x, y, c) : uint8_t((x * 37 + y * 11 + c * 5) % 256);
      }
    }
  }
  const DinoImageOutput cropped = run(padded, "native");
  const DinoImageOutput original = run(picture, "native");
  EXPECT_EQ(cropped.size.width, 96);
  EXPECT_EQ(cropped.size.height, 96);
  EXPECT_TRUE(at::equal(cropped.output.tokens, original.output.tokens));  // the noise never reached the model
}

TEST_F(DinoImage, FixedAndShortSideSizesResizeTheWholePicture) {
  const Image picture = read_image(fixture_file("dino_tiny/img1_160x240.png"));
  const DinoImageOutput fixed = run(picture, "64x48");
  EXPECT_EQ(fixed.size.width, 64);
  EXPECT_EQ(fixed.size.height, 48);
  EXPECT_EQ(fixed.output.grid_w, 8);
  EXPECT_EQ(fixed.output.grid_h, 6);
  const DinoImageOutput short_side = run(picture, "short:80");
  EXPECT_EQ(short_side.size.width, 120);  // the shorter side (the height) to 80, the aspect kept
  EXPECT_EQ(short_side.size.height, 80);
  DinoForwardOptions no_attention;
  no_attention.cls_attention = false;
  EXPECT_FALSE(run(picture, "64x48", no_attention).output.cls_attention.defined());
}

TEST_F(DinoImage, RejectsASizeThatIsNotWholePatches) {
  const Image picture(32, 32, 3);
  EXPECT_NE(
      dinoclip::testing::message_of([&] { run(picture, "100x96"); }).find("not a multiple of the model's patch size 8"),
      std::string::npos);
}

// scale-method=fast against exact through the whole model: the tiny
// fixture on its four pictures resized to 224x224 (the elements' default).
// Measured (LibTorch 1.13): inputs max 0.0174 (one 8-bit
// level after ImageNet's std), tokens max 0.082 (mean 0.006), CLS attention max
// 0.0039 (mean 0.00002); the bounds below leave ~50% margin.
constexpr double kFastTokensBound = 0.12;
constexpr double kFastAttentionBound = 0.006;

TEST_F(DinoImage, FastScaleMethodStaysWithinItsBoundOfExact) {
  for (const char* name : {"dino_tiny/img0_224x224.png", "dino_tiny/img1_160x240.png", "dino_tiny/img2_96x96.png",
                           "dino_tiny/img3_64x96.png"}) {
    const Image picture = read_image(fixture_file(name));
    const InputSize size = InputSize::parse("224x224");
    const DinoImageOutput exact = run_dino_on_image(*model_, picture.view(), size, {}, ScaleMethod::kExact);
    const DinoImageOutput fast = run_dino_on_image(*model_, picture.view(), size, {}, ScaleMethod::kFast);
    const double tokens = (fast.output.tokens - exact.output.tokens).abs().max().item<double>();
    const double attention = (fast.output.cls_attention - exact.output.cls_attention).abs().max().item<double>();
    std::printf("%s: fast vs exact, tokens max %.5f mean %.6f, CLS attention max %.6f mean %.7f\n", name, tokens,
                (fast.output.tokens - exact.output.tokens).abs().mean().item<double>(), attention,
                (fast.output.cls_attention - exact.output.cls_attention).abs().mean().item<double>());
    EXPECT_LE(tokens, kFastTokensBound) << name;
    EXPECT_LE(attention, kFastAttentionBound) << name;
    if (picture.width != 224 || picture.height != 224) {
      EXPECT_FALSE(at::equal(fast.output.tokens, exact.output.tokens)) << name << ": a resize should differ a little";
    }
  }
}

TEST_F(DinoImage, ExactScaleMethodIsTheDefault) {
  const Image picture = read_image(fixture_file("dino_tiny/img1_160x240.png"));
  const InputSize size = InputSize::parse("224x224");
  EXPECT_TRUE(at::equal(run_dino_on_image(*model_, picture.view(), size).output.tokens,
                        run_dino_on_image(*model_, picture.view(), size, {}, ScaleMethod::kExact).output.tokens));
}

}  // namespace
