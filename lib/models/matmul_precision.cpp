#include "models/matmul_precision.h"

#include <ATen/Context.h>
#include <torch/version.h>

namespace dinoclip {

namespace {

std::mutex& switch_mutex() {
  static std::mutex mutex;
  return mutex;
}

// LibTorch 2.9 replaced allow_tf32 by per-backend precisions (and warns once
// when the old switch is used).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 9)
bool cublas_tf32() {
  return at::globalContext().float32Precision(at::Float32Backend::CUDA, at::Float32Op::MATMUL) ==
         at::Float32Precision::TF32;
}
void set_cublas_tf32(bool on) {
  at::globalContext().setFloat32Precision(at::Float32Backend::CUDA, at::Float32Op::MATMUL,
                                          on ? at::Float32Precision::TF32 : at::Float32Precision::IEEE);
}
#else
bool cublas_tf32() { return at::globalContext().allowTF32CuBLAS(); }
void set_cublas_tf32(bool on) { at::globalContext().setAllowTF32CuBLAS(on); }
#endif

}  // namespace

Float32MatmulScope::Float32MatmulScope(const c10::Device& device, c10::ScalarType dtype, bool tf32) {
  if (!device.is_cuda() || dtype != c10::kFloat) return;
  lock_ = std::unique_lock<std::mutex>(switch_mutex());
  previous_ = cublas_tf32();
  if (previous_ != tf32) set_cublas_tf32(tf32);
}

Float32MatmulScope::~Float32MatmulScope() {
  if (!lock_.owns_lock()) return;
  if (cublas_tf32() != previous_) set_cublas_tf32(previous_);
}

}  // namespace dinoclip
