// DINO ViT against the official code's outputs (../shared/fixtures/dino_tiny).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/error.h"
#include "io/npy.h"
#include "core/device.h"
#include "models/dino.h"
#include "test_support.h"

using namespace dinoclip;

namespace {

// Fixture README: float32 port vs PyTorch differs by ~1e-6..1e-5; the issue asks ≤ 1e-4.
constexpr double kTolerance = 1e-4;

struct Picture {
  const char* name;
  int height, width;
  bool full_attention;  // the fixture stores the whole matrix (else selected rows)
};

const Picture kPictures[] = {
    {"img0_224x224", 224, 224, false},
    {"img1_160x240", 160, 240, false},
    {"img2_96x96", 96, 96, true},
    {"img3_64x96", 64, 96, true},
};

class DinoReference : public ::testing::TestWithParam<std::tuple<Picture, const char*>> {};

TEST_P(DinoReference, MatchesOfficialTokensAndAttention) {
  const auto& [picture, weights_file] = GetParam();
  const std::string dir = "dino_tiny/";
  DINOCLIP_REQUIRE_FIXTURE(weights, dir + weights_file);
  DINOCLIP_REQUIRE_FIXTURE(input_path, dir + picture.name + "_input.npy");

  DinoLoadOptions load;
  load.num_heads = 4;  // the fixture's head count is not derivable from width 64
  DinoModel model = DinoModel::load(weights, load);
  EXPECT_EQ(model.config().patch_size, 8);
  EXPECT_EQ(model.config().embed_dim, 64);
  EXPECT_EQ(model.config().depth, 2);
  EXPECT_EQ(model.config().pos_grid, 28);

  DinoForwardOptions options;
  options.full_attention = true;
  DinoOutput out = model.forward(read_npy(input_path), options);
  EXPECT_EQ(out.grid_h, picture.height / 8);
  EXPECT_EQ(out.grid_w, picture.width / 8);

  at::Tensor intermediate = read_npy(dinoclip::testing::fixture_file(dir + picture.name + "_intermediate.npy"));
  EXPECT_TENSOR_NEAR(out.tokens, intermediate, kTolerance);
  at::Tensor cls = read_npy(dinoclip::testing::fixture_file(dir + picture.name + "_cls.npy"));
  EXPECT_TENSOR_NEAR(out.tokens.select(1, 0), cls, kTolerance);

  at::Tensor attn_cls = read_npy(dinoclip::testing::fixture_file(dir + picture.name + "_attn_cls.npy"));  // [1,4,N+1]
  EXPECT_TENSOR_NEAR(out.cls_attention, attn_cls.narrow(2, 1, attn_cls.size(2) - 1), kTolerance);

  if (picture.full_attention) {
    at::Tensor full = read_npy(dinoclip::testing::fixture_file(dir + picture.name + "_attn_full.npy"));
    EXPECT_TENSOR_NEAR(out.attention, full, kTolerance);
  } else {
    at::Tensor rows = read_npy(dinoclip::testing::fixture_file(dir + picture.name + "_attn_rows.npy"));  // [1,4,8,N+1]
    at::Tensor index = read_npy(dinoclip::testing::fixture_file(dir + picture.name + "_attn_rows_index.npy"));
    EXPECT_TENSOR_NEAR(out.attention.index_select(2, index), rows, kTolerance);
  }
}

std::string param_name(const ::testing::TestParamInfo<DinoReference::ParamType>& info) {
  std::string file = std::get<1>(info.param);
  return std::string(std::get<0>(info.param).name) + (file.find("safetensors") != std::string::npos ? "_safetensors" : "_pth");
}

INSTANTIATE_TEST_SUITE_P(DinoTiny, DinoReference,
                         ::testing::Combine(::testing::ValuesIn(kPictures),
                                            ::testing::Values("dino_tiny.pth", "dino_tiny.safetensors")),
                         param_name);

TEST(Dino, PositionEmbeddingInterpolationMatchesOfficial) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  DINOCLIP_REQUIRE_FIXTURE(input_path, "dino_tiny/img1_160x240_input.npy");
  DinoLoadOptions load;
  load.num_heads = 4;
  DinoModel model = DinoModel::load(weights, load);
  // Same input twice: the cached interpolation must give identical results.
  at::Tensor input = read_npy(input_path);
  DinoOutput a = model.forward(input);
  DinoOutput b = model.forward(input);
  EXPECT_TRUE(at::equal(a.tokens, b.tokens));
  EXPECT_FALSE(a.attention.defined()) << "full attention only on request";
  EXPECT_EQ(a.cls_attention.sizes(), (std::vector<int64_t>{1, 4, 20 * 30}));
}

TEST(Dino, BatchOfTwoEqualsOneAtATime) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
  DINOCLIP_REQUIRE_FIXTURE(input_path, "dino_tiny/img3_64x96_input.npy");
  DinoLoadOptions load;
  load.num_heads = 4;
  DinoModel model = DinoModel::load(weights, load);
  at::Tensor one = read_npy(input_path);
  at::Tensor two = at::cat({one, one.flip(3)}, 0);
  DinoOutput batch = model.forward(two);
  DinoOutput single = model.forward(one.flip(3));
  EXPECT_TENSOR_NEAR(batch.tokens.narrow(0, 1, 1), single.tokens, 1e-5);
  EXPECT_TENSOR_NEAR(batch.cls_attention.narrow(0, 1, 1), single.cls_attention, 1e-6);
}

// Found by the clang (sanitizer) build: the check was compiled out under clang,
// which then refused precision=bf16 on every CPU ("this CPU lacks AVX512_BF16").
TEST(Precision, NativeBf16DetectionAgreesWithTheKernelsCpuFlags) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && line.rfind("flags", 0) != 0) {
  }
  if (line.rfind("flags", 0) != 0) GTEST_SKIP() << "no /proc/cpuinfo flags line on this system";
  const bool listed = (line + " ").find(" avx512_bf16 ") != std::string::npos;
  EXPECT_EQ(cpu_has_native_bf16(), listed) << line;
}

// Streams sharing one model are batched (issue 12): every item of a batch
// must get what it would have got alone (issue 12's bound: 1e-5), in fp32 and
// bf16, tokens, CLS attention and full attention alike.
TEST(Dino, EveryItemOfABatchOfThreeEqualsItsBatchOfOne) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
  DINOCLIP_REQUIRE_FIXTURE(input_path, "dino_tiny/img1_160x240_input.npy");
  at::Tensor one = read_npy(input_path);
  at::Tensor three = at::cat({one, one.flip(3), one.flip(2) * 0.5}, 0);
  std::vector<at::ScalarType> dtypes{at::kFloat};
  if (cpu_has_native_bf16()) dtypes.push_back(at::kBFloat16);
  for (at::ScalarType dtype : dtypes) {
    SCOPED_TRACE(c10::toString(dtype));
    DinoLoadOptions load;
    load.num_heads = 4;
    load.dtype = dtype;
    DinoModel model = DinoModel::load(weights, load);
    DinoForwardOptions options;
    options.full_attention = true;
    DinoOutput batch = model.forward(three, options);
    ASSERT_EQ(batch.tokens.size(0), 3);
    for (int64_t i = 0; i < 3; ++i) {
      DinoOutput single = model.forward(three.narrow(0, i, 1), options);
      EXPECT_TENSOR_NEAR(batch.tokens.narrow(0, i, 1), single.tokens, 1e-5);
      EXPECT_TENSOR_NEAR(batch.cls_attention.narrow(0, i, 1), single.cls_attention, 1e-5);
      EXPECT_TENSOR_NEAR(batch.attention.narrow(0, i, 1), single.attention, 1e-5);
    }
    EXPECT_GT((batch.tokens[0] - batch.tokens[1]).abs().max().item<double>(), 1e-3) << "items must differ";
  }
}

// precision=bf16 (block products in bf16; LayerNorm, softmax, residuals and
// outputs in fp32) against fp32 on every fixture picture. Bounds measured on
// these fixtures (tokens |x| up to ~4 after the final norm): see the constants.
TEST(Dino, Bf16TokensAndClsAttentionStayWithinTheMeasuredBoundOfFp32) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16/AMX: precision=bf16 is refused here";
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
  constexpr double kBf16TokenBound = 0.08;       // measured max 0.040 (img1_160x240)
  constexpr double kBf16AttentionBound = 0.012;  // measured max 0.0060 (img0_224x224)
  DinoLoadOptions load;
  load.num_heads = 4;
  DinoModel fp32 = DinoModel::load(weights, load);
  load.dtype = at::kBFloat16;
  DinoModel bf16 = DinoModel::load(weights, load);
  for (const Picture& picture : kPictures) {
    SCOPED_TRACE(picture.name);
    DINOCLIP_REQUIRE_FIXTURE(input_path, std::string("dino_tiny/") + picture.name + "_input.npy");
    at::Tensor input = read_npy(input_path);
    DinoOutput a = fp32.forward(input), b = bf16.forward(input);
    ASSERT_EQ(b.tokens.scalar_type(), at::kFloat);
    ASSERT_EQ(b.cls_attention.scalar_type(), at::kFloat);
    const double token_diff = (a.tokens - b.tokens).abs().max().item<double>();
    const double attention_diff = (a.cls_attention - b.cls_attention).abs().max().item<double>();
    std::printf("%s: bf16 vs fp32 max |diff| tokens %.3g, CLS attention %.3g\n", picture.name, token_diff,
                attention_diff);
    EXPECT_LT(token_diff, kBf16TokenBound);
    EXPECT_LT(attention_diff, kBf16AttentionBound);
    EXPECT_GT(token_diff, 0.0) << "bf16 ran as fp32";
  }
}

TEST(Dino, RejectsInputNotMultipleOfPatch) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  DinoLoadOptions load;
  load.num_heads = 4;
  DinoModel model = DinoModel::load(weights, load);
  try {
    model.forward(at::zeros({1, 3, 100, 96}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of the patch size 8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(model.forward(at::zeros({1, 4, 64, 64})), Error);
}

TEST(Dino, RejectsWrongHeadCount) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  DinoLoadOptions load;
  load.num_heads = 5;
  EXPECT_THROW(DinoModel::load(weights, load), Error);
}

TEST(Dino, RejectsANegativeHeadCount) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  DinoLoadOptions load;
  load.num_heads = -1;
  const std::string message = dinoclip::testing::message_of([&] { DinoModel::load(weights, load); });
  EXPECT_NE(message.find("heads -1: the head count must be 1 or more"), std::string::npos) << message;
}

// dino_tiny.safetensors' metadata says num_heads 4 (width 64 alone would give 1 head).
TEST(Dino, TakesTheHeadCountFromSafetensorsMetadata) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  EXPECT_EQ(DinoModel::load(weights).config().num_heads, 4);
  DinoLoadOptions load;
  load.num_heads = 2;  // an explicit count still wins
  EXPECT_EQ(DinoModel::load(weights, load).config().num_heads, 2);
}

}  // namespace
