// CPU thread configuration for LibTorch, oneDNN and the BLAS.
//
// With the oneDNN kernels (kernels/cpu/matmul.h) the ViT matrix products run
// on the same OpenMP pool as ATen's softmax and LayerNorm. Without them, two
// pools compete on the CPU: ATen's intra-op pool (OpenMP in Debian's build)
// and OpenBLAS's own pthreads (every matrix product). See
// docs/performance.md for the numbers behind the defaults.
#pragma once

#include <string>

namespace dinoclip {

struct ThreadConfig {
  int aten_threads = 0;  // 0: the default below
  int blas_threads = 0;  // 0: leave OpenBLAS as it is (OPENBLAS_NUM_THREADS or all cores)
};

// The ViT matrix products run on oneDNN (built with it, and
// DINOCLIP_CPU_KERNELS is not "aten").
bool onednn_matmul_enabled();

// The default: with oneDNN matrix products, ATen (and so oneDNN) on all cores.
// Without: one ATen thread and OpenBLAS on all cores, or ATen on all cores
// too when OMP_WAIT_POLICY=PASSIVE was set before the process started.
ThreadConfig default_thread_config();

// Applies `config` (0 fields take the default). Safe to call more than once.
void configure_threads(const ThreadConfig& config = {});

// One line for logs: "aten 2, blas 2 (openblas pthreads), OMP_WAIT_POLICY=PASSIVE".
std::string describe_threads();

int cpu_cores();

}  // namespace dinoclip
