// The CPU kernels under the ViT blocks (AVX-512 softmax and GELU, the
// block-by-block attention) against plain LibTorch maths.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/device.h"
#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/vector_math.h"
#include "test_support.h"

using namespace dinoclip;

namespace {

uint16_t* bf16_bits(const at::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }

class VectorMath : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu::fast_vector_math_supported()) GTEST_SKIP() << "this CPU has no AVX-512 F/BW/VL";
  }
};

TEST_F(VectorMath, SoftmaxRowsEqualsAtenInFloat32AndBf16) {
  at::manual_seed(21);
  // 37 columns: two full vectors and a 5-wide tail; a -inf column as a mask.
  at::Tensor scores = at::randn({5, 37}) * 6;
  scores.select(1, 3).fill_(-std::numeric_limits<float>::infinity());
  const at::Tensor expected = at::softmax(scores, -1);

  at::Tensor f32 = scores.clone();
  cpu::softmax_rows(f32.data_ptr<float>(), 37, 5, 37, f32.data_ptr<float>(), nullptr, 37);
  EXPECT_TENSOR_NEAR(f32, expected, 1e-7);
  EXPECT_TRUE(at::all(f32.select(1, 3) == 0).item<bool>()) << "a masked score must get probability 0";

  at::Tensor work = scores.clone();
  at::Tensor bf16 = at::empty({5, 37}, at::kBFloat16);
  cpu::softmax_rows(work.data_ptr<float>(), 37, 5, 37, nullptr, bf16_bits(bf16), 37);
  // Rounded to nearest even like at::BFloat16, from an exp accurate to 5e-5:
  // ATen's conversion of the float32 result, or one bfloat16 step (at most
  // 2^-7 of the value) from it where the two straddle a rounding boundary.
  const at::Tensor rounded = f32.to(at::kBFloat16).to(at::kFloat);
  const at::Tensor steps = (bf16.to(at::kFloat) - rounded).abs() / (rounded.abs() * std::ldexp(1.0, -7) + 1e-30);
  EXPECT_LE(steps.max().item<double>(), 1.0 + 1e-6);
  EXPECT_GE((bf16.to(at::kFloat) == rounded).to(at::kFloat).mean().item<double>(), 0.9)
      << "most probabilities must round exactly as ATen's";
  EXPECT_TRUE(at::all(bf16.select(1, 3).to(at::kFloat) == 0).item<bool>());
}

TEST_F(VectorMath, SoftmaxRowsReadAndWriteWithRowStrides) {
  at::manual_seed(22);
  at::Tensor wide = at::randn({3, 40});
  at::Tensor out = at::full({3, 24}, 7.f);
  at::Tensor scores = wide.narrow(1, 0, 20).clone();
  const at::Tensor expected = at::softmax(wide.narrow(1, 0, 20), -1);
  cpu::softmax_rows(wide.data_ptr<float>(), 40, 3, 20, out.data_ptr<float>(), nullptr, 24);
  EXPECT_TENSOR_NEAR(out.narrow(1, 0, 20), expected, 1e-7);
  EXPECT_TRUE(at::all(out.narrow(1, 20, 4) == 7.f).item<bool>()) << "wrote past the row";
}

TEST_F(VectorMath, GeluMatchesAtenErfGelu) {
  // Every float from -12 to 12 in steps of 1/64 (with a tail that is not a
  // whole vector): A&S 7.1.26's erf is within 1.5e-7, so GELU(x) is within
  // 7.5e-8 |x| plus float32 rounding.
  at::Tensor x = at::arange(-12 * 64, 12 * 64 + 3).to(at::kFloat) / 64;
  const at::Tensor expected = at::gelu(x.to(at::kDouble));
  at::Tensor f32 = at::empty_like(x);
  cpu::gelu_erf(x.data_ptr<float>(), x.numel(), f32.data_ptr<float>(), nullptr);
  const at::Tensor err = (f32.to(at::kDouble) - expected).abs() / at::clamp_min(x.abs().to(at::kDouble), 1.0);
  EXPECT_LE(err.max().item<double>(), 2e-7);
  at::Tensor bf16 = at::empty(x.sizes(), at::kBFloat16);
  cpu::gelu_erf(x.data_ptr<float>(), x.numel(), nullptr, bf16_bits(bf16));
  EXPECT_TENSOR_NEAR(bf16.to(at::kFloat), f32.to(at::kBFloat16).to(at::kFloat), 0.0);
}

TEST_F(VectorMath, GeluSplitAcrossThreadsEqualsOneThread) {
  // Large enough for the OpenMP split (when built with it), odd-sized.
  at::manual_seed(23);
  at::Tensor x = at::randn({100003}) * 3;
  at::Tensor all = at::empty_like(x), pieces = at::empty_like(x);
  cpu::gelu_erf(x.data_ptr<float>(), x.numel(), all.data_ptr<float>(), nullptr);
  for (int64_t at = 0; at < x.numel(); at += 1000) {
    const int64_t n = std::min<int64_t>(1000, x.numel() - at);
    cpu::gelu_erf(x.data_ptr<float>() + at, n, pieces.data_ptr<float>() + at, nullptr);
  }
  EXPECT_TRUE(at::equal(all, pieces));
  // Within 2e-7 max(1, |x|) of float64 GELU, as above.
  const at::Tensor err = (all.to(at::kDouble) - at::gelu(x.to(at::kDouble))).abs() / at::clamp_min(x.abs(), 1.0);
  EXPECT_LE(err.max().item<double>(), 2e-7);
}

struct AttentionCase {
  const char* name;
  int64_t tokens;
  bool masked;
  at::ScalarType compute;
};

class CpuAttention : public ::testing::TestWithParam<AttentionCase> {
 protected:
  void SetUp() override {
    if (!cpu::available()) GTEST_SKIP() << "built without oneDNN (or DINOCLIP_CPU_KERNELS=aten)";
    if (GetParam().compute == at::kBFloat16 && !cpu_has_native_bf16()) {
      GTEST_SKIP() << "this CPU has no AVX512_BF16/AMX (the models refuse bf16 here)";
    }
  }
};

TEST_P(CpuAttention, EqualsNaiveAttentionWithBothTaps) {
  const AttentionCase& c = GetParam();
  at::manual_seed(24);
  const int64_t heads = 3, hd = 16, n = c.tokens;
  // q, k, v as strided views into one [N, 3, heads, hd] projection, as the
  // blocks give them; the output written into a merged [N, heads * hd].
  at::Tensor qkv = at::randn({n, 3, heads, hd}).to(c.compute);
  at::Tensor q = qkv.select(1, 0).transpose(0, 1), k = qkv.select(1, 1).transpose(0, 1),
             v = qkv.select(1, 2).transpose(0, 1);
  at::Tensor mask;
  if (c.masked) mask = at::full({n, n}, -std::numeric_limits<float>::infinity()).triu_(1);
  at::Tensor merged = at::full({n, heads, hd}, 5.f).to(c.compute);

  cpu::AttentionRequest request{q, k, v, mask, merged.transpose(0, 1), at::empty({heads, n}), at::empty({heads, n, n})};
  {
    c10::InferenceMode guard;
    cpu::attention(request);
  }
  at::Tensor scores = at::matmul(q.to(at::kFloat), k.to(at::kFloat).transpose(1, 2));
  if (c.masked) scores = scores + mask;
  const at::Tensor probs = at::softmax(scores, -1);
  const at::Tensor expected = at::matmul(probs, v.to(at::kFloat));  // [heads, N, hd]

  EXPECT_TENSOR_NEAR(request.full, probs, 1e-6);
  EXPECT_TENSOR_NEAR(request.cls_row, probs.select(1, 0), 1e-6);
  // bf16: probabilities rounded to 8 bits before the second product.
  EXPECT_TENSOR_NEAR(merged.transpose(0, 1).to(at::kFloat), expected, c.compute == at::kFloat ? 2e-5 : 0.05);
}

INSTANTIATE_TEST_SUITE_P(Blocks, CpuAttention,
                         ::testing::Values(AttentionCase{"one_block", 9, false, at::kFloat},
                                           AttentionCase{"blocks_and_a_tail", 150, false, at::kFloat},
                                           AttentionCase{"causal_blocks_and_a_tail", 150, true, at::kFloat},
                                           AttentionCase{"bf16_blocks_and_a_tail", 150, false, at::kBFloat16}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CpuAttentionShapes, RejectsOperandsThatDoNotFit) {
  if (!cpu::available()) GTEST_SKIP() << "built without oneDNN";
  at::Tensor q = at::randn({2, 8, 4});
  EXPECT_THROW(cpu::attention({q, at::randn({2, 9, 4}), q, {}, at::empty_like(q), {}, {}}), Error);
  EXPECT_THROW(cpu::attention({q, q, q, at::zeros({8, 9}), at::empty_like(q), {}, {}}), Error);
  EXPECT_THROW(cpu::attention({q, q, q, {}, at::empty({2, 8, 4}, at::kBFloat16), {}, {}}), Error);
}

}  // namespace
