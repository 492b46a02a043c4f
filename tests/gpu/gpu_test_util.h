// GPU tests run only where this build has CUDA and the machine has a GPU; on
// every other machine (CI included, which never has one) they skip with a
// message saying which of the two is missing. They compare the GPU's numbers
// with the CPU's for the same model and input.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/device.h"
#include "runtime/dino_instance.h"

namespace dinoclip::testing {

// "" when CUDA can run here, else why not.
inline std::string gpu_missing_reason() {
  if (cuda_available()) return "";
#ifdef DINOCLIP_WITH_CUDA
  return "no CUDA GPU visible on this machine (this build has CUDA)";
#else
  return "this build uses a CPU-only LibTorch (configure with -Dlibtorch=$(scripts/libtorch.sh) for CUDA)";
#endif
}

inline c10::Device gpu() { return c10::Device(c10::kCUDA, 0); }

// The tiny DINO fixture as a shared instance on GPU 0 (dino_tiny: 4 heads of
// width 16, not derivable from the checkpoint).
inline runtime::DinoInstanceOptions tiny_dino_on_gpu(const std::string& weights) {
  runtime::DinoInstanceOptions options;
  options.model_path = weights;
  options.load.num_heads = 4;
  options.load.device = gpu();
  return options;
}

}  // namespace dinoclip::testing

// Skips the test (also under CI=true: CI has no GPU) when CUDA cannot run.
#define DINOCLIP_REQUIRE_GPU()                                                       \
  do {                                                                               \
    const std::string _why = ::dinoclip::testing::gpu_missing_reason();              \
    if (!_why.empty()) GTEST_SKIP() << "GPU test skipped: " << _why;                 \
  } while (0)
