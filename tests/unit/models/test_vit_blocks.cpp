// The shared ViT blocks against plain, unoptimised LibTorch maths.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/safetensors_writer.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/cpu/matmul.h"
#include "core/device.h"
#include "models/dino.h"
#include "models/random_weights.h"
#include "models/vit_blocks.h"
#include "test_support.h"

using namespace dinoclip;

namespace {

// softmax(q k^T * scale + mask) v per head, then the output projection.
at::Tensor naive_attention(SelfAttentionImpl& attn, const at::Tensor& x, const at::Tensor& w_qkv,
                           const at::Tensor& b_qkv, const at::Tensor& w_proj, const at::Tensor& b_proj, int heads,
                           const at::Tensor& mask, at::Tensor* probs_out) {
  const int64_t B = x.size(0), N = x.size(1), D = x.size(2), hd = D / heads;
  at::Tensor qkv = at::linear(x, w_qkv, b_qkv).reshape({B, N, 3, heads, hd}).permute({2, 0, 3, 1, 4});
  at::Tensor scores = at::matmul(qkv[0], qkv[1].transpose(-2, -1)) / std::sqrt(double(hd));
  if (mask.defined()) scores = scores + mask;
  at::Tensor probs = scores.softmax(-1);
  if (probs_out) *probs_out = probs;
  at::Tensor out = at::matmul(probs, qkv[2]).transpose(1, 2).reshape({B, N, D});
  return at::linear(out, w_proj, b_proj);
}

class ThreadCounts : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    saved_ = at::get_num_threads();
    at::set_num_threads(GetParam());
  }
  void TearDown() override { at::set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_P(ThreadCounts, ChunkedAttentionEqualsNaiveAttention) {
  // 600 tokens: several query chunks, and rows enough for the threaded split.
  at::manual_seed(7);
  const int dim = 32, heads = 4;
  SelfAttention attn(dim, heads, VitNaming::dino());
  for (auto& p : attn->parameters()) p.data().normal_(0, 0.3);
  auto params = attn->named_parameters();
  at::Tensor x = at::randn({2, 600, dim});
  AttentionTap tap;
  tap.cls_row = true;
  tap.full = true;
  at::Tensor got;
  {
    c10::InferenceMode guard;
    got = attn->forward(x, {}, &tap);
  }
  at::Tensor probs;
  at::Tensor expected = naive_attention(*attn, x, params["qkv.weight"], params["qkv.bias"], params["proj.weight"],
                                        params["proj.bias"], heads, {}, &probs);
  EXPECT_TENSOR_NEAR(got, expected.detach(), 2e-5);
  EXPECT_TENSOR_NEAR(tap.full_matrix, probs.detach(), 1e-6);
  EXPECT_TENSOR_NEAR(tap.cls, probs.detach().select(2, 0), 1e-6);
}

TEST_P(ThreadCounts, CausalMaskMatchesNaiveAttention) {
  at::manual_seed(8);
  const int dim = 16, heads = 2, n = 300;
  SelfAttention attn(dim, heads, VitNaming::clip());
  for (auto& p : attn->parameters()) p.data().normal_(0, 0.3);
  auto params = attn->named_parameters();
  at::Tensor x = at::randn({1, n, dim});
  at::Tensor mask = at::full({n, n}, -std::numeric_limits<float>::infinity()).triu_(1);
  at::Tensor got;
  {
    c10::InferenceMode guard;
    got = attn->forward(x, mask);
  }
  at::Tensor expected = naive_attention(*attn, x, params["in_proj_weight"], params["in_proj_bias"],
                                        params["out_proj.weight"], params["out_proj.bias"], heads, mask, nullptr);
  EXPECT_TENSOR_NEAR(got, expected.detach(), 2e-5);
}

TEST_P(ThreadCounts, PatchEmbedEqualsConvolution) {
  at::manual_seed(9);
  PatchEmbed embed(3, 24, 8, /*bias=*/true);
  for (auto& p : embed->parameters()) p.data().normal_(0, 0.1);
  auto params = embed->named_parameters();
  at::Tensor images = at::randn({2, 3, 64, 96});
  at::Tensor got;
  {
    c10::InferenceMode guard;
    got = embed->forward(images);
  }
  at::Tensor conv = at::conv2d(images, params["weight"], params["bias"], /*stride=*/8);
  EXPECT_TENSOR_NEAR(got, conv.flatten(2).transpose(1, 2).detach(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadCounts, ::testing::Values(1, 2));

// The oneDNN kernels (kernels/cpu/matmul.h) against the ATen path of the same
// block: DINO's block (GELU, CLS tap) and CLIP's (QuickGELU, causal mask).
struct KernelCase {
  const char* name;
  bool clip;
  int tokens;  // > 256: several query chunks
};

class CpuKernels : public ::testing::TestWithParam<KernelCase> {
 protected:
  void SetUp() override {
    if (!cpu::available()) GTEST_SKIP() << "built without oneDNN (or DINOCLIP_CPU_KERNELS=aten)";
  }

  // Block output and CLS attention, ATen path first, then the kernels in `compute`.
  std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> run(at::ScalarType compute) {
    const KernelCase& c = GetParam();
    at::manual_seed(11);
    VitBlockConfig config{64, 4, 256, c.clip ? 1e-5 : 1e-6,
                          c.clip ? Activation::kQuickGelu : Activation::kGeluErf,
                          c.clip ? VitNaming::clip() : VitNaming::dino()};
    VitBlock block(config);
    for (auto& p : block->parameters()) p.data().normal_(0, 0.2);
    for (auto& p : block->named_parameters()) {
      if (p.key().find("norm") != std::string::npos || p.key().find("ln_") != std::string::npos) {
        p.value().data().fill_(p.key().find("weight") != std::string::npos ? 1.0 : 0.0);
      }
    }
    at::Tensor x = at::randn({2, c.tokens, 64});
    at::Tensor mask;
    if (c.clip) mask = at::full({c.tokens, c.tokens}, -std::numeric_limits<float>::infinity()).triu_(1);
    std::vector<at::Tensor> outputs, cls;
    c10::InferenceMode guard;
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 1) block->prepare_cpu(compute);
      AttentionTap tap;
      tap.cls_row = true;
      at::Tensor input = x.clone();
      outputs.push_back(block->forward(input, mask, &tap));
      EXPECT_TRUE(at::equal(input, x)) << "the block must not change its input";
      cls.push_back(tap.cls);
      // forward_ (the model loops' in-place form) computes the same block.
      AttentionTap in_place_tap;
      in_place_tap.cls_row = true;
      block->forward_(input, mask, &in_place_tap);
      EXPECT_TRUE(at::equal(input, outputs.back())) << "forward_ differs from forward";
      EXPECT_TRUE(at::equal(in_place_tap.cls, tap.cls));
    }
    return {outputs, cls};
  }
};

TEST_P(CpuKernels, Fp32EqualsTheAtenPath) {
  auto [outputs, cls] = run(at::kFloat);
  EXPECT_TENSOR_NEAR(outputs[1], outputs[0], 2e-5);
  EXPECT_TENSOR_NEAR(cls[1], cls[0], 1e-6);
}

TEST_P(CpuKernels, Bf16StaysWithinItsBoundOfFp32) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16/AMX";
  auto [outputs, cls] = run(at::kBFloat16);
  // bf16 keeps 8 bits of mantissa (relative step 2^-8 = 0.0039); products
  // accumulate in fp32. Measured on these random blocks (weights N(0, 0.2)):
  // outputs within 0.18, probabilities within 0.0047.
  EXPECT_TENSOR_NEAR(outputs[1], outputs[0], 0.35);
  EXPECT_TENSOR_NEAR(cls[1], cls[0], 0.01);
  EXPECT_GT((outputs[1] - outputs[0]).abs().max().item<double>(), 0.0) << "bf16 ran as fp32";
}

INSTANTIATE_TEST_SUITE_P(Blocks, CpuKernels,
                         ::testing::Values(KernelCase{"dino_short", false, 50}, KernelCase{"dino_chunked", false, 600},
                                           KernelCase{"clip_causal", true, 77},
                                           KernelCase{"clip_causal_chunked", true, 300}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PackedLinear, FusesBiasActivationAndResidual) {
  if (!cpu::available()) GTEST_SKIP() << "built without oneDNN";
  at::manual_seed(12);
  at::Tensor w = at::randn({48, 32}) * 0.2, b = at::randn({48}), x = at::randn({70, 32});
  cpu::PackedLinear linear(w, b, at::kFloat);
  EXPECT_TENSOR_NEAR(linear(x, at::kFloat), at::linear(x, w, b), 1e-5);
  EXPECT_TENSOR_NEAR(linear(x, at::kFloat, cpu::Epilogue::kGeluErf), at::gelu(at::linear(x, w, b)), 1e-5);
  at::Tensor pre = at::linear(x, w, b);
  EXPECT_TENSOR_NEAR(linear(x, at::kFloat, cpu::Epilogue::kQuickGelu), pre * at::sigmoid(1.702 * pre), 1e-5);
  at::Tensor residual = at::randn({70, 48});
  at::Tensor expected = residual + pre;
  linear.run(x, residual, cpu::Epilogue::kNone, /*accumulate=*/true);
  EXPECT_TENSOR_NEAR(residual, expected, 1e-5);
}

// Packing converts (float32 -> bfloat16) and scales rows while reordering,
// with no copy: the products equal those of weights converted and scaled
// beforehand, bit for bit.
TEST(PackedLinear, ScalesAndConvertsWhilePackingAsACopyWould) {
  if (!cpu::available()) GTEST_SKIP() << "built without oneDNN";
  at::manual_seed(14);
  const at::Tensor w = at::randn({48, 32}) * 0.2, b = at::randn({48});
  std::vector<at::ScalarType> dtypes{at::kFloat};
  if (cpu_has_native_bf16()) dtypes.push_back(at::kBFloat16);
  for (at::ScalarType compute : dtypes) {
    SCOPED_TRACE(c10::toString(compute));
    const at::Tensor x = at::randn({70, 32}).to(compute);
    at::Tensor w_scaled = w.clone(), b_scaled = b.clone();
    w_scaled.narrow(0, 0, 16).mul_(0.3);
    b_scaled.narrow(0, 0, 16).mul_(0.3);
    const at::Tensor expected = cpu::PackedLinear(w_scaled.to(compute), b_scaled, compute)(x, at::kFloat);
    EXPECT_TRUE(at::equal(cpu::PackedLinear(w, b, compute, 0.3, /*scaled_rows=*/16)(x, at::kFloat), expected));
    EXPECT_TRUE(at::equal(cpu::PackedLinear(w, b, compute)(x, at::kFloat),
                          cpu::PackedLinear(w.to(compute), b, compute)(x, at::kFloat)));
    EXPECT_FALSE(at::equal(cpu::PackedLinear(w, b, compute)(x, at::kFloat), expected)) << "the scale was lost";
  }
  EXPECT_THROW(cpu::PackedLinear(w, b, at::kFloat, 0.5, /*scaled_rows=*/49), Error);
}

TEST(PackedLinear, RejectsInputsThatDoNotFit) {
  if (!cpu::available()) GTEST_SKIP() << "built without oneDNN";
  cpu::PackedLinear linear(at::randn({8, 4}), at::randn({8}), at::kFloat);
  EXPECT_THROW(linear(at::randn({3, 5}), at::kFloat), Error);                        // wrong width
  EXPECT_THROW(linear(at::randn({3, 4}).to(at::kBFloat16), at::kFloat), Error);      // wrong dtype
  EXPECT_THROW(cpu::PackedLinear(at::randn({8, 4}), {}, at::kHalf), Error);           // no fp16 kernels
}

// cpu::layer_norm against a float64 LayerNorm: rows of 384 (whole AVX-512
// lanes) and 70 (a masked tail), rows centred on 0 and on 100 (the variance
// must be centred), a strided input. Float32 out: within 4e-6 of float64 for
// rows centred on 0 and 4e-5 on 100 (measured at most 1.2e-6 / 2.0e-5;
// torch's own float32 LayerNorm 0.8e-6 / 1.3e-5). Bfloat16 out: within one
// bfloat16 step (plus the float32 tolerance) of the float64 result, and
// mostly the same value as torch's float32 result rounded. Both kernels: the
// AVX-512 one (where the CPU has it) and the portable one.
class CpuLayerNorm : public ::testing::TestWithParam<bool> {
 protected:
  at::Tensor run(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::ScalarType dtype) {
    at::Tensor out = at::empty(x.sizes(), x.options().dtype(dtype));
    if (GetParam()) {
      cpu::layer_norm_portable(x, weight, bias, 1e-5, out);
    } else {
      cpu::layer_norm(x, weight, bias, 1e-5, out);
    }
    return out;
  }
};

TEST_P(CpuLayerNorm, MatchesFloat64LayerNormInFloat32AndBfloat16) {
  at::manual_seed(13);
  for (int64_t width : {384, 70}) {
    for (double centre : {0.0, 100.0}) {
      SCOPED_TRACE("width " + std::to_string(width) + ", rows centred on " + std::to_string(centre));
      at::Tensor wide = at::randn({37, 2 * width}) * 3 + centre;
      at::Tensor x = wide.narrow(1, 0, width);  // row stride 2 * width
      at::Tensor weight = at::randn({width}), bias = at::randn({width});
      const at::Tensor exact = at::layer_norm(x.to(at::kDouble), {width}, weight.to(at::kDouble),
                                              bias.to(at::kDouble), 1e-5);
      const at::Tensor fp32 = run(x, weight, bias, at::kFloat);
      const double tolerance = centre == 0.0 ? 4e-6 : 4e-5;
      EXPECT_TENSOR_NEAR(fp32.to(at::kDouble), exact, tolerance);

      const at::Tensor bf16 = run(x, weight, bias, at::kBFloat16).to(at::kDouble);
      // bfloat16 keeps 8 significant bits (a step of |value| / 128 at most),
      // rounded from a float32 result within `tolerance`.
      const at::Tensor step = exact.abs() * (1.0 / 128) + tolerance;
      EXPECT_TRUE(((bf16 - exact).abs() <= step).all().item<bool>());
      const at::Tensor rounded = at::layer_norm(x, {width}, weight, bias, 1e-5).to(at::kBFloat16).to(at::kDouble);
      EXPECT_GT(bf16.eq(rounded).to(at::kFloat).mean().item<double>(), 0.99);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, CpuLayerNorm, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "portable" : "best"; });

TEST(CpuLayerNormShapes, KeepsTheInputShapeAndRejectsWhatDoesNotFit) {
  at::Tensor x = at::randn({2, 5, 16});
  at::Tensor weight = at::ones({16}), bias = at::zeros({16});
  EXPECT_EQ(cpu::layer_norm(x, weight, bias, 1e-6, at::kFloat).sizes(), x.sizes());
  EXPECT_THROW(cpu::layer_norm(x, at::ones({15}), bias, 1e-6, at::kFloat), Error);                   // weight width
  EXPECT_THROW(cpu::layer_norm(x.to(at::kDouble), weight, bias, 1e-6, at::kFloat), Error);           // input dtype
  EXPECT_THROW(cpu::layer_norm(x, weight, bias, 1e-6, at::kHalf), Error);                            // output dtype
  EXPECT_THROW(cpu::layer_norm(x.view({10, 16}), weight, bias, 1e-6, at::empty({10, 8})), Error);    // output shape
}

TEST(LoadModuleState, ListsMissingUnexpectedAndMisShapedKeysInOneError) {
  SelfAttention attn(8, 2, VitNaming::dino());
  std::map<std::string, at::Tensor> weights = {
      {"qkv.weight", at::zeros({24, 8})},
      {"qkv.bias", at::zeros({23})},        // mis-shaped
      {"proj.weight", at::zeros({8, 8})},   // proj.bias missing
      {"extra.thing", at::zeros({1})},      // unexpected
  };
  try {
    load_module_state(*attn, weights, "model.pth", "an attention layer");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("missing keys: proj.bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected keys: extra.thing"), std::string::npos) << msg;
    EXPECT_NE(msg.find("qkv.bias (file [23], model [24])"), std::string::npos) << msg;
  }
}

TEST(RandomWeights, SavedModelLoadsBackWithInferredConfig) {
  const std::string path = dinoclip::testing::temp_dir() + "/tiny.safetensors";
  DinoConfig tiny = dino_architecture("tiny");
  save_safetensors(path, random_dino_weights(tiny, 3));
  DinoLoadOptions options;
  options.num_heads = 4;
  DinoModel model = DinoModel::load(path, options);
  EXPECT_EQ(model.config().embed_dim, 64);
  EXPECT_EQ(model.config().depth, 2);
  EXPECT_EQ(model.config().patch_size, 8);
  DinoOutput out = model.forward(at::randn({1, 3, 32, 48}));
  EXPECT_EQ(out.tokens.sizes(), (std::vector<int64_t>{1, 1 + 4 * 6, 64}));
  // Attention rows are probabilities over CLS + patches: patch part sums to < 1.
  at::Tensor sums = out.cls_attention.sum(-1);
  EXPECT_TRUE((sums < 1.0).all().item<bool>());
  EXPECT_TRUE((sums > 0.0).all().item<bool>());
}

TEST(RandomWeights, RejectsUnknownArchitecture) {
  EXPECT_THROW(dino_architecture("vitl14"), Error);
  EXPECT_THROW(clip_architecture("rn50"), Error);
}

// A small CLIP in OpenAI's layout loads back with the config it was made with.
TEST(RandomWeights, ClipWeightsLoadBackWithTheirConfig) {
  ClipConfig small;
  small.embed_dim = 32;
  small.image_resolution = 64;
  small.vision_width = 64;
  small.vision_layers = 2;
  small.vision_patch_size = 16;
  small.vision_heads = 1;  // width / 64, as CLIP's build_model()
  small.context_length = 16;
  small.vocab_size = 100;
  small.text_width = 64;
  small.text_layers = 1;
  small.text_heads = 1;
  const std::string path = dinoclip::testing::temp_dir() + "/clip_small.safetensors";
  save_safetensors(path, random_clip_weights(small, 5));
  const ClipModel model = ClipModel::load(path);
  const ClipConfig& c = model.config();
  EXPECT_EQ(c.embed_dim, 32);
  EXPECT_EQ(c.image_resolution, 64);
  EXPECT_EQ(c.vision_width, 64);
  EXPECT_EQ(c.vision_layers, 2);
  EXPECT_EQ(c.vision_patch_size, 16);
  EXPECT_EQ(c.context_length, 16);
  EXPECT_EQ(c.vocab_size, 100);
  EXPECT_EQ(c.text_layers, 1);
  EXPECT_NEAR(model.logit_scale(), 100.0, 1e-3);
  EXPECT_EQ(model.encode_image(at::randn({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 32}));
  EXPECT_EQ(clip_architecture("vitb16").vision_patch_size, 16);
  EXPECT_EQ(clip_architecture("vitb32").vision_patch_size, 32);
}

}  // namespace
