// CLIP against the official code's outputs (../shared/fixtures/clip_tiny).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/npy.h"
#include "models/clip.h"
#include "core/device.h"
#include "test_support.h"

using namespace dinoclip;

namespace {

// Fixture README: atol 1e-4 on features, 1e-3 on logits (they are x100).
constexpr double kFeatureTolerance = 1e-4;
constexpr double kLogitTolerance = 1e-3;

class ClipReference : public ::testing::TestWithParam<const char*> {};

TEST_P(ClipReference, MatchesOfficialEmbeddingsAndLogits) {
  DINOCLIP_REQUIRE_FIXTURE(weights, std::string("clip_tiny/") + GetParam());
  DINOCLIP_REQUIRE_FIXTURE(images, "clip_tiny/images_input.npy");
  ClipModel model = ClipModel::load(weights);
  const ClipConfig& c = model.config();
  EXPECT_EQ(c.embed_dim, 32);
  EXPECT_EQ(c.image_resolution, 64);
  EXPECT_EQ(c.vision_width, 128);
  EXPECT_EQ(c.vision_layers, 2);
  EXPECT_EQ(c.vision_patch_size, 16);
  EXPECT_EQ(c.vision_heads, 2);
  EXPECT_EQ(c.text_width, 64);
  EXPECT_EQ(c.text_heads, 1);
  EXPECT_EQ(c.context_length, 77);
  EXPECT_NEAR(model.logit_scale(), 100.0, 1e-3);

  at::Tensor image = model.encode_image(read_npy(images));
  at::Tensor text = model.encode_text(read_npy(dinoclip::testing::fixture_file("clip_tiny/text_tokens.npy")));
  EXPECT_TENSOR_NEAR(image, read_npy(dinoclip::testing::fixture_file("clip_tiny/image_features.npy")), kFeatureTolerance);
  EXPECT_TENSOR_NEAR(text, read_npy(dinoclip::testing::fixture_file("clip_tiny/text_features.npy")), kFeatureTolerance);
  EXPECT_TENSOR_NEAR(model.logits_per_image(image, text),
                     read_npy(dinoclip::testing::fixture_file("clip_tiny/logits_per_image.npy")), kLogitTolerance);
}

INSTANTIATE_TEST_SUITE_P(ClipTiny, ClipReference, ::testing::Values("clip_tiny_jit.pt", "clip_tiny_state.pth"),
                         [](const auto& info) {
                           return std::string(info.param).find("jit") != std::string::npos ? "torchscript"
                                                                                              : "state_dict";
                         });

TEST(Clip, TextEncodingOneAtATimeEqualsBatched) {
  // The text tower stops at the batch's longest end-of-text position, so a
  // short label alone runs fewer positions than in a batch: same features.
  DINOCLIP_REQUIRE_FIXTURE(weights, "clip_tiny/clip_tiny_jit.pt");
  ClipModel model = ClipModel::load(weights);
  at::Tensor tokens = read_npy(dinoclip::testing::fixture_file("clip_tiny/text_tokens.npy"));
  at::Tensor batched = model.encode_text(tokens);
  for (int64_t i = 0; i < tokens.size(0); ++i) {
    EXPECT_TENSOR_NEAR(model.encode_text(tokens.narrow(0, i, 1)), batched.narrow(0, i, 1), 1e-5);
  }
  // A long list runs in passes of ~2048 token rows on the CPU kernels (here
  // 800 labels, several passes whatever the fixture's longest label): every
  // label still gets the features it gets alone.
  const at::Tensor many = tokens.repeat({100, 1});
  const at::Tensor features = model.encode_text(many);
  ASSERT_EQ(features.size(0), 800);
  for (int64_t i = 0; i < many.size(0); ++i) {
    EXPECT_TENSOR_NEAR(features.narrow(0, i, 1), batched.narrow(0, i % tokens.size(0), 1), 1e-5);
  }
}

// Streams sharing one model are batched (issue 12), and on the CPU kernels a
// batch runs in passes of ~400 token rows (23 images of this 17-token model):
// each image of a 48-image batch (three passes, the last one short) gets the
// embedding it would have got alone, within 1e-5, fp32 and bf16.
TEST(Clip, EveryImageOfABatchEqualsItsBatchOfOne) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "clip_tiny/clip_tiny_jit.pt");
  DINOCLIP_REQUIRE_FIXTURE(images_path, "clip_tiny/images_input.npy");
  const at::Tensor pictures = read_npy(images_path);
  std::vector<at::Tensor> variants;
  for (int64_t shift = 0; shift < 16; ++shift) variants.push_back(pictures.roll(shift * 4, 3));
  const at::Tensor images = at::cat(variants, 0);
  ASSERT_EQ(images.size(0), 48);
  std::vector<at::ScalarType> dtypes{at::kFloat};
  if (cpu_has_native_bf16()) dtypes.push_back(at::kBFloat16);
  for (at::ScalarType dtype : dtypes) {
    SCOPED_TRACE(c10::toString(dtype));
    ClipLoadOptions load;
    load.dtype = dtype;
    ClipModel model = ClipModel::load(weights, load);
    at::Tensor batched = model.encode_image(images);
    ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{48, 32}));
    for (int64_t i = 0; i < images.size(0); ++i) {
      EXPECT_TENSOR_NEAR(model.encode_image(images.narrow(0, i, 1)), batched.narrow(0, i, 1), 1e-5);
    }
    EXPECT_GT((batched[0] - batched[3]).abs().max().item<double>(), 1e-2) << "the images must differ";
  }
}

TEST(Clip, RejectsWrongImageSize) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "clip_tiny/clip_tiny_jit.pt");
  ClipModel model = ClipModel::load(weights);
  try {
    model.encode_image(at::zeros({1, 3, 224, 224}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[batch, 3, 64, 64]"), std::string::npos) << e.what();
  }
}

TEST(Clip, RejectsBadTokens) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "clip_tiny/clip_tiny_jit.pt");
  ClipModel model = ClipModel::load(weights);
  EXPECT_THROW(model.encode_text(at::zeros({1, 10}, at::kLong)), Error);
  at::Tensor out_of_vocab = at::zeros({1, 77}, at::kLong);
  out_of_vocab[0][0] = 60000;
  EXPECT_THROW(model.encode_text(out_of_vocab), Error);
}

TEST(Clip, RejectsDinoWeightsWithClearMessage) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  try {
    ClipModel::load(weights);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a CLIP checkpoint"), std::string::npos) << e.what();
  }
}

}  // namespace
