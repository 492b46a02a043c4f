// DINOv2 (with registers) against the official code's outputs
// (../shared/fixtures/dinov2_tiny: README lists what a port must mirror).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/npy.h"
#include "io/safetensors_writer.h"
#include "core/device.h"
#include "models/dino.h"
#include "models/position_embedding.h"
#include "dino_fixture_checks.h"
#include "test_support.h"

using namespace dinoclip;

namespace {

struct Picture {
  const char* name;
  int height, width;
};

// The stored 8x8 grid; 12x7 (interpolated, not square); 18x18 (upsampled).
const Picture kPictures[] = {{"img0_112x112", 112, 112}, {"img1_168x98", 98, 168}, {"img2_252x252", 252, 252}};

const std::string kDir = "dinov2_tiny/";

at::Tensor fixture(const Picture& picture, const std::string& what) {
  return read_npy(dinoclip::testing::fixture_file(kDir + picture.name + "_" + what + ".npy"));
}

// The fixture's model input [3, H, W] as a batch of one.
at::Tensor input_of(const Picture& picture) { return fixture(picture, "input").unsqueeze(0); }

DinoModel load_tiny(const std::string& weights, PosInterpolation recipe = PosInterpolation::kAuto,
                    at::ScalarType dtype = at::kFloat) {
  DinoLoadOptions load;
  load.num_heads = 4;  // not derivable from width 64
  load.pos_interpolation = recipe;
  load.dtype = dtype;
  return DinoModel::load(weights, load);
}

class Dinov2Reference : public ::testing::TestWithParam<Picture> {};

TEST_P(Dinov2Reference, MatchesOfficialTokensRegistersAndAttention) {
  const Picture& picture = GetParam();
  DINOCLIP_REQUIRE_FIXTURE(weights, kDir + "dinov2_tiny.pth");
  DINOCLIP_REQUIRE_FIXTURE(input_path, kDir + picture.name + "_input.npy");
  DinoModel model = load_tiny(weights);
  const DinoConfig& c = model.config();
  EXPECT_EQ(c.family, DinoFamily::kV2);
  EXPECT_EQ(c.patch_size, 14);
  EXPECT_EQ(c.embed_dim, 64);
  EXPECT_EQ(c.depth, 3);
  EXPECT_EQ(c.pos_grid, 8);
  EXPECT_EQ(c.num_register_tokens, 4);
  EXPECT_EQ(c.pos_interpolation, PosInterpolation::kSizeAntialiased) << "registers -> antialiased by size";

  const DinoOutput out = model.forward(read_npy(input_path).unsqueeze(0), dinoclip::testing::fixture_forward_options());
  dinoclip::testing::expect_official_outputs(out, kDir + picture.name, "registers", picture.height / 14,
                                             picture.width / 14);
}

INSTANTIATE_TEST_SUITE_P(Dinov2Tiny, Dinov2Reference, ::testing::ValuesIn(kPictures),
                         [](const ::testing::TestParamInfo<Picture>& info) { return std::string(info.param.name); });

// The position embedding actually added (CLS row + resized grid), with the
// registers recipe: antialiased bicubic by output size.
TEST(Dinov2, AntialiasedPositionEmbeddingMatchesOfficial) {
  DINOCLIP_REQUIRE_FIXTURE(weights, kDir + "dinov2_tiny.pth");
  Checkpoint checkpoint = load_checkpoint(weights);
  const at::Tensor pos_embed = checkpoint.tensors.at("pos_embed");
  for (const Picture& picture : kPictures) {
    SCOPED_TRACE(picture.name);
    at::Tensor pos = interpolate_position_embedding(pos_embed, picture.height / 14, picture.width / 14,
                                                    PosInterpolation::kSizeAntialiased);
    EXPECT_TENSOR_NEAR(pos[0], fixture(picture, "pos_embed"), 1e-6);
  }
}

// The plain models' recipe differs (a=-0.75 bicubic by scale factor): the
// override must reach the model and change its output where the grid is
// resized, and only there.
TEST(Dinov2, InterpolationOverrideSelectsTheScaleFactorRecipe) {
  DINOCLIP_REQUIRE_FIXTURE(weights, kDir + "dinov2_tiny.pth");
  DinoModel aa = load_tiny(weights);
  DinoModel offset = load_tiny(weights, PosInterpolation::kScaleOffset);
  EXPECT_EQ(offset.config().pos_interpolation, PosInterpolation::kScaleOffset);
  EXPECT_NE(offset.describe().find("position embedding offset"), std::string::npos) << offset.describe();
  for (const Picture& picture : kPictures) {
    SCOPED_TRACE(picture.name);
    at::Tensor input = input_of(picture);
    const double diff = dinoclip::testing::max_abs_diff(aa.forward(input).tokens, offset.forward(input).tokens);
    if (picture.height == 112 && picture.width == 112) {
      EXPECT_EQ(diff, 0.0) << "the stored grid is used as it is";
    } else {
      EXPECT_GT(diff, 1e-4) << "the recipes must differ on a resized grid";
    }
  }
}

TEST(Dinov2, BatchOfTwoEqualsOneAtATime) {
  DINOCLIP_REQUIRE_FIXTURE(weights, kDir + "dinov2_tiny.pth");
  DinoModel model = load_tiny(weights);
  at::Tensor one = input_of(kPictures[1]);
  DinoForwardOptions options;
  options.intermediate_layers = 1;
  DinoOutput batch = model.forward(at::cat({one.flip(3), one}, 0), options);
  DinoOutput single = model.forward(one, options);
  EXPECT_TENSOR_NEAR(batch.tokens.narrow(0, 1, 1), single.tokens, 1e-5);
  EXPECT_TENSOR_NEAR(batch.registers.narrow(0, 1, 1), single.registers, 1e-5);
  EXPECT_TENSOR_NEAR(batch.cls_attention.narrow(0, 1, 1), single.cls_attention, 1e-6);
  ASSERT_EQ(batch.intermediate.size(), 1u);
  EXPECT_TENSOR_NEAR(batch.intermediate[0].narrow(0, 1, 1), single.intermediate[0], 1e-5);
}

// precision=bf16 against fp32 on every fixture picture; bounds measured.
TEST(Dinov2, Bf16TokensAndClsAttentionStayWithinTheMeasuredBoundOfFp32) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16/AMX: precision=bf16 is refused here";
  DINOCLIP_REQUIRE_FIXTURE(weights, kDir + "dinov2_tiny.pth");
  // Measured on the fixture pictures (2026-12-04, AVX512_BF16 CPU): tokens 0.0087-0.0102, CLS attention 4.5e-5-1.7e-4.
  constexpr double kBf16TokenBound = 0.03;
  constexpr double kBf16AttentionBound = 5e-4;
  DinoModel fp32 = load_tiny(weights), bf16 = load_tiny(weights, PosInterpolation::kAuto, at::kBFloat16);
  for (const Picture& picture : kPictures) {
    SCOPED_TRACE(picture.name);
    at::Tensor input = input_of(picture);
    DinoOutput a = fp32.forward(input), b = bf16.forward(input);
    const double token_diff = dinoclip::testing::max_abs_diff(a.tokens, b.tokens);
    const double attention_diff = dinoclip::testing::max_abs_diff(a.cls_attention, b.cls_attention);
    std::printf("%s: bf16 vs fp32 max |diff| tokens %.3g, CLS attention %.3g\n", picture.name, token_diff,
                attention_diff);
    EXPECT_LT(token_diff, kBf16TokenBound);
    EXPECT_LT(attention_diff, kBf16AttentionBound);
    EXPECT_GT(token_diff, 0.0) << "bf16 ran as fp32";
  }
}

TEST(Dinov2, RejectsInputNotMultipleOfPatch14) {
  DINOCLIP_REQUIRE_FIXTURE(weights, kDir + "dinov2_tiny.pth");
  DinoModel model = load_tiny(weights);
  const std::string message = dinoclip::testing::message_of([&] { model.forward(at::zeros({1, 3, 112, 120})); });
  EXPECT_NE(message.find("multiple of the patch size 14"), std::string::npos) << message;
}

TEST(Dinov2, RejectsSwiGluCheckpoints) {
  DINOCLIP_REQUIRE_FIXTURE(weights, kDir + "dinov2_tiny.pth");
  StateDict tensors = load_checkpoint(weights).tensors;
  tensors["blocks.0.mlp.w12.weight"] = at::zeros({8, 64});
  const std::string path = dinoclip::testing::temp_dir() + "/dinov2_swiglu.safetensors";
  save_safetensors(path, tensors);
  const std::string message = dinoclip::testing::message_of([&] { load_tiny(path); });
  EXPECT_NE(message.find("SwiGLU"), std::string::npos) << message;
}

}  // namespace
