// Self-attention of one sample on the CPU, computed block by block.
//
// softmax(q k^T + mask) v for all heads, split into (head, block of query
// rows) tasks that the ATen thread count of OpenMP threads share. Each task
// computes its block's scores, softmax and output in one go with
// single-threaded oneDNN primitives, so a block's scores (rows x N float32)
// stay in the core's L2 cache instead of streaming [heads, 512, N] chunks
// through memory (44 MB per chunk for ViT-S/8 at 480x480).
#pragma once

#include <ATen/core/Tensor.h>

namespace dinoclip::cpu {

struct AttentionRequest {
  // [heads, N, head_dim] in the compute dtype (kFloat or kBFloat16), any
  // strides with a unit last stride (views into the fused qkv projection).
  // The 1/sqrt(head_dim) scale must already be in q.
  at::Tensor q, k, v;
  at::Tensor mask;  // additive float32 [N, N], or undefined
  at::Tensor out;   // [heads, N, head_dim] in the compute dtype, unit last stride
  // Optional float32 copies of the probabilities: row 0 (the CLS query)
  // [heads, N], and all rows [heads, N, N].
  at::Tensor cls_row;
  at::Tensor full;
};

// Built with oneDNN: see cpu::available(). Throws dinoclip::Error on shapes
// that do not fit.
void attention(const AttentionRequest& request);

}  // namespace dinoclip::cpu
