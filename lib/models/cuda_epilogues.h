// Matrix products with their elementwise follow-ups fused in, for the ViT
// MLP on CUDA (issue 22): cuBLASLt applies the bias, a scale and GELU to the
// product's tile before writing it, instead of separate passes over the
// [tokens, 4 x width] hidden layer (the largest activation of a block).
#pragma once

#include <ATen/core/Tensor.h>

namespace dinoclip {

// True for CUDA tensors in bf16/fp16: where fused_linear_gelu's tanh
// approximation of GELU (cuBLASLt's only GELU epilogue) is below the
// activations' own rounding. float32 keeps the exact erf GELU.
bool use_fused_gelu(const at::Tensor& x);

// GELU(x W^T + b) with GELU's tanh approximation, in one cuBLASLt product.
// x [rows, in], weight [out, in], bias [out] -> [rows, out].
at::Tensor fused_linear_gelu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// QuickGELU(x W1^T + b1) W2^T + b2 (CLIP's MLP, before its residual add) as
// silu(1.702 (x W1^T + b1)) (W2 / 1.702)^T + b2: both scales ride in the
// products' alpha (and `bias1_scaled` = 1.702 b1, made once), so the hidden
// layer sees one elementwise pass (silu) instead of three (a scaled copy,
// its sigmoid, the product). The same function, another rounding: float32
// results move by ~1e-7 relative.
at::Tensor quick_gelu_mlp(const at::Tensor& x, const at::Tensor& weight1, const at::Tensor& bias1_scaled,
                          const at::Tensor& weight2, const at::Tensor& bias2);

// QuickGELU's slope: x * sigmoid(kQuickGeluSlope * x).
inline constexpr double kQuickGeluSlope = 1.702;

}  // namespace dinoclip
