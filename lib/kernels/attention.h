// Attention kernels chosen by device and LibTorch version, in one place.
//
// SelfAttention (vit_blocks) computes attention itself on the CPU (chunked
// matrix products that also hand out the probabilities). Where LibTorch 2's
// fused scaled_dot_product_attention applies (CUDA tensors: flash / memory-
// efficient kernels that never materialise the [N, N] scores), layers whose
// probabilities nobody reads use it, and a layer asked only for its CLS row
// computes that one row on top. LibTorch 1.13 has no public fused kernel: there
// use_fused_attention() is false and the caller keeps its own path.
#pragma once

#include <ATen/core/Tensor.h>

namespace dinoclip {

// True when fused_attention() should be used for a query on this tensor's
// device: LibTorch >= 2.0 and a CUDA tensor. On the CPU the chunked kernels
// in vit_blocks are kept (they are tuned for the CPU and measured there).
bool use_fused_attention(const at::Tensor& like);

// softmax(q k^T * scale + mask) v for q, k, v [B, heads, N, head_dim] (any
// strides), mask undefined or additive [N, N]. -> [B, heads, N, head_dim] in
// q's dtype. Only valid where use_fused_attention() is true.
at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                           double scale);

// Row 0 (the CLS query) of softmax(q k^T * scale + mask), computed alone and
// in float32 whatever the inputs' dtype: [B, heads, N] float32.
at::Tensor cls_row_probabilities(const at::Tensor& q, const at::Tensor& k, const at::Tensor& mask, double scale);

}  // namespace dinoclip
