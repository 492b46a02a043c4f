#include "kernels/attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include "core/error.h"

namespace dinoclip {

// The one place that knows which LibTorch has a public fused kernel.
#if TORCH_VERSION_MAJOR >= 2
constexpr bool kHasFusedAttention = true;
#else
constexpr bool kHasFusedAttention = false;
#endif

bool use_fused_attention(const at::Tensor& like) { return kHasFusedAttention && like.is_cuda(); }

at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                           double scale) {
#if TORCH_VERSION_MAJOR >= 2
  // The mask must match the queries' dtype for the fused kernels; no mask is
  // an empty optional (an undefined tensor inside one is refused).
  c10::optional<at::Tensor> attn_mask;
  if (mask.defined()) attn_mask = mask.to(q.scalar_type());
  return at::scaled_dot_product_attention(q, k, v, attn_mask, /*dropout_p=*/0.0, /*is_causal=*/false,
                                          /*scale=*/scale);
#else
  (void)q, (void)k, (void)v, (void)mask, (void)scale;
  throw Error("fused attention needs LibTorch 2.x (this build uses " TORCH_VERSION ")");
#endif
}

at::Tensor cls_row_probabilities(const at::Tensor& q, const at::Tensor& k, const at::Tensor& mask, double scale) {
  // [B, heads, 1, hd] x [B, heads, hd, N] -> [B, heads, N], in float32: the
  // probabilities are a result users read, not an intermediate.
  at::Tensor scores = at::matmul(q.narrow(2, 0, 1).to(at::kFloat), k.to(at::kFloat).transpose(2, 3)).squeeze(2);
  scores.mul_(scale);
  if (mask.defined()) scores.add_(mask.select(0, 0).to(at::kFloat));
  return at::softmax(scores, -1);
}

}  // namespace dinoclip
