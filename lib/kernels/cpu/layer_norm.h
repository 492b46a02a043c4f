// LayerNorm for the ViT blocks on the CPU kernels (kernels/cpu/matmul.h):
// statistics and affine in float32, the result written straight in the dtype
// the next matrix product reads (float32 or bfloat16) in one pass, instead of
// a float32 LayerNorm pass followed by a conversion pass.
#pragma once

#include <ATen/core/Tensor.h>

namespace dinoclip::cpu {

// out = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension
// (mean and biased variance of each row in float32, as torch.nn.LayerNorm).
// x: float32 [rows, D], unit column stride (any row stride); weight, bias:
// float32 [D]; out: [rows, D] float32 or bfloat16 (rounded to nearest even,
// as Tensor::to), unit column stride. Rows are split across ATen's threads.
void layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                const at::Tensor& out);

// A new tensor of x's shape (x: float32 [..., D]) in `out_dtype`.
at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                      at::ScalarType out_dtype);

// The portable kernel that CPUs without AVX-512 run, callable anywhere so
// that tests check it too. Same contract as layer_norm(..., out).
void layer_norm_portable(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                         const at::Tensor& out);

}  // namespace dinoclip::cpu
