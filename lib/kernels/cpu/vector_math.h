// AVX-512 element-wise kernels for the CPU path: the attention's row softmax
// and the MLP's exact (erf) GELU, each writing float32 or bfloat16 in the
// pass that computes it.
//
// Why not oneDNN's: in the attention blocks (scores in L2, see
// cpu_attention.h) oneDNN 2.6's softmax_v2 with bf16 output ran at ~1.75
// cycles per score, and its gelu_erf post-op made ViT-S/8's fc1 products
// 14 ms (bf16) / 6 ms (fp32) slower per 224x224 frame than without it. Here
// exp is a degree-6 polynomial scaled by vscalefps (relative error < 2e-7)
// and erf is Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7), written
// so that GELU of negative inputs does not cancel.
#pragma once

#include <cstdint>

namespace dinoclip::cpu {

// The CPU has AVX-512 F, BW and VL (what the kernels below need).
bool fast_vector_math_supported();

// For each of `rows` rows of `cols` float32 scores (row stride `ld`):
// softmax over the row. The exponentials are written back into `scores`;
// the probabilities go to `out_f32` (may be `scores`) or, when that is null,
// to `out_bf16` (bfloat16 bit patterns, rounded to nearest even as
// at::BFloat16, from an exp accurate to 5e-5: within one bfloat16 step of
// the float32 result), both with row stride `ld_out`. A score of -inf (a
// masked position) gets probability exactly 0.
void softmax_rows(float* scores, int64_t ld, int64_t rows, int64_t cols, float* out_f32, uint16_t* out_bf16,
                  int64_t ld_out);

// GELU(x) = x * Phi(x) (nn.GELU(), the erf form) of `count` contiguous
// floats, written to `out_f32` (may be `x`) or, when that is null, to
// `out_bf16`. Runs on the OpenMP threads when called outside a parallel
// region and `count` is large.
void gelu_erf(const float* x, int64_t count, float* out_f32, uint16_t* out_bf16);

}  // namespace dinoclip::cpu
