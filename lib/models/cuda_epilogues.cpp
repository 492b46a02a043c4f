#include "models/cuda_epilogues.h"

#include <ATen/ATen.h>

namespace dinoclip {

bool use_fused_gelu(const at::Tensor& x) {
  return x.is_cuda() && (x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf);
}

at::Tensor fused_linear_gelu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  // LibTorch routes a 1-D bias with beta = 1 to cuBLASLt, whose GELU_BIAS
  // epilogue this asks for (elsewhere it runs the product, then tanh-GELU).
  return at::_addmm_activation(bias, x, weight.t(), /*beta=*/1, /*alpha=*/1, /*use_gelu=*/true);
}

at::Tensor quick_gelu_mlp(const at::Tensor& x, const at::Tensor& weight1, const at::Tensor& bias1_scaled,
                          const at::Tensor& weight2, const at::Tensor& bias2) {
  at::Tensor hidden = at::addmm(bias1_scaled, x, weight1.t(), /*beta=*/1, /*alpha=*/kQuickGeluSlope);
  at::silu_(hidden);
  return at::addmm(bias2, hidden, weight2.t(), /*beta=*/1, /*alpha=*/1.0 / kQuickGeluSlope);
}

}  // namespace dinoclip
