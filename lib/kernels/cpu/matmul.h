// oneDNN matrix products for the ViT blocks on the CPU.
//
// LibTorch 1.13's CPU matrix products go through the system BLAS (OpenBLAS,
// pinned to its Haswell kernels here): 48-108 GFLOP/s on the 2-core AVX-512
// machine, against 321 (fp32) and 587 (bf16) GFLOP/s through oneDNN's
// brgemm kernels. These wrappers call oneDNN (Debian's libdnnl, the copy
// LibTorch itself links) directly, with:
// - weights converted to the compute precision and reordered into oneDNN's
//   blocked layout once (the first product of each layout), not per frame;
// - bias, QuickGELU and the residual add fused into the product.
// Attention is in cpu_attention.h, softmax and GELU in cpu_vector_math.h.
// Without oneDNN at build time (meson -Donednn=disabled) available() is false
// and callers use their ATen path.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

namespace dinoclip::cpu {

// Built with oneDNN and not switched off with DINOCLIP_CPU_KERNELS=aten.
bool available();

enum class Epilogue {
  kNone,
  kGeluErf,    // nn.GELU()
  kQuickGelu,  // x * sigmoid(1.702 x), i.e. oneDNN's swish with alpha 1.702
};

// y = epilogue(x @ weight^T + bias), optionally added to y's old values.
// Keeps a reference to the weights (float32 or the compute dtype kFloat /
// kBFloat16: shared, not copied, so they must not change afterwards; other
// dtypes are copied to float32) and their reorder into oneDNN's blocked
// layout in the compute dtype, made from them directly; the bias stays
// float32. Copyable (shares the packed weights); run() may be called from
// several threads.
class PackedLinear {
 public:
  PackedLinear() = default;
  PackedLinear(const at::Tensor& weight, const at::Tensor& bias, at::ScalarType compute);
  // As if the first `scaled_rows` rows of weight and bias were multiplied by
  // `scale` (in float32) first: the scale is applied while packing, with no
  // scaled copy of the weights kept.
  PackedLinear(const at::Tensor& weight, const at::Tensor& bias, at::ScalarType compute, double scale,
               int64_t scaled_rows);

  bool defined() const { return impl_ != nullptr; }
  at::ScalarType compute_dtype() const;
  int64_t out_features() const;

  // x: [rows, in] in the compute dtype (any row stride, unit column stride).
  // out: [rows, out_features] float32 or the compute dtype, unit column
  // stride. accumulate: out += result instead of out = result.
  void run(const at::Tensor& x, const at::Tensor& out, Epilogue epilogue = Epilogue::kNone,
           bool accumulate = false) const;

  // New [rows, out_features] tensor of dtype `out_dtype`.
  at::Tensor operator()(const at::Tensor& x, at::ScalarType out_dtype, Epilogue epilogue = Epilogue::kNone) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dinoclip::cpu
