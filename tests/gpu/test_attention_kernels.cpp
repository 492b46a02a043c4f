// kernels/attention against the plain maths. The fused kernel is
// chosen only for CUDA tensors, but LibTorch 2 runs it on the CPU too, so its
// numbers are checked everywhere LibTorch 2 is; on CUDA, a whole block is
// compared with the CPU's.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <limits>

#include "gpu_test_util.h"
#include "kernels/attention.h"
#include "test_support.h"

using namespace dinoclip;

namespace {

struct Qkv {
  at::Tensor q, k, v;  // [B, heads, N, hd]
};

// Deterministic inputs with a spread of scores (no RNG: same numbers on every LibTorch).
Qkv make_qkv(int64_t batch, int64_t heads, int64_t tokens, int64_t head_dim) {
  at::Tensor i = at::arange(batch * heads * tokens * head_dim, at::kFloat).view({batch, heads, tokens, head_dim});
  return {at::sin(0.013 * i), at::cos(0.029 * i + 1.0), at::sin(0.071 * i + 2.0)};
}

at::Tensor reference_probabilities(const Qkv& x, const at::Tensor& mask, double scale) {
  at::Tensor scores = at::matmul(x.q, x.k.transpose(2, 3)) * scale;
  if (mask.defined()) scores = scores + mask;
  return at::softmax(scores, -1);
}

at::Tensor causal_mask(int64_t tokens) {
  return at::triu(at::full({tokens, tokens}, -std::numeric_limits<float>::infinity()), 1);
}

TEST(AttentionKernels, FusedMatchesPlainSoftmaxAttention) {
#if TORCH_VERSION_MAJOR < 2
  GTEST_SKIP() << "LibTorch " TORCH_VERSION " has no fused attention; the plain path is the only one";
#endif
  const Qkv x = make_qkv(2, 3, 37, 16);
  const double scale = 0.25;
  for (const at::Tensor& mask : {at::Tensor(), causal_mask(37)}) {
    at::Tensor expected = at::matmul(reference_probabilities(x, mask, scale), x.v);
    EXPECT_TENSOR_NEAR(fused_attention(x.q, x.k, x.v, mask, scale), expected, 1e-5);
  }
}

TEST(AttentionKernels, ClsRowIsRowZeroOfTheProbabilitiesInFloat32) {
  const Qkv x = make_qkv(2, 3, 37, 16);
  const double scale = 0.25;
  for (const at::Tensor& mask : {at::Tensor(), causal_mask(37)}) {
    at::Tensor expected = reference_probabilities(x, mask, scale).select(2, 0);
    EXPECT_TENSOR_NEAR(cls_row_probabilities(x.q, x.k, mask, scale), expected, 1e-6);
  }
  // bf16 operands: probabilities still come back in float32 and sum to 1.
  at::Tensor bf16 = cls_row_probabilities(x.q.to(at::kBFloat16), x.k.to(at::kBFloat16), {}, scale);
  EXPECT_EQ(bf16.scalar_type(), at::kFloat);
  EXPECT_TENSOR_NEAR(bf16.sum(-1), at::ones({2, 3}), 1e-5);
}

TEST(AttentionKernels, FusedPathOnlyForCudaTensors) {
  EXPECT_FALSE(use_fused_attention(at::zeros({1})));
}

TEST(GpuAttentionKernels, FusedOnCudaMatchesCpu) {
  DINOCLIP_REQUIRE_GPU();
  const Qkv x = make_qkv(2, 6, 197, 64);
  const auto gpu = dinoclip::testing::gpu();
  EXPECT_TRUE(use_fused_attention(x.q.to(gpu)));
  at::Tensor expected = at::matmul(reference_probabilities(x, {}, 0.125), x.v);
  at::Tensor fused = fused_attention(x.q.to(gpu), x.k.to(gpu), x.v.to(gpu), {}, 0.125);
  EXPECT_TENSOR_NEAR(fused.cpu(), expected, 1e-4);
  at::Tensor bf16 =
      fused_attention(x.q.to(gpu, at::kBFloat16), x.k.to(gpu, at::kBFloat16), x.v.to(gpu, at::kBFloat16), {}, 0.125);
  EXPECT_TENSOR_NEAR(bf16.to(at::kCPU, at::kFloat), expected, 2e-2);  // bf16: 8 mantissa bits
}

}  // namespace
