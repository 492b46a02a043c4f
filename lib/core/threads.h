// CPU thread configuration for LibTorch and its BLAS.
//
// Two pools compete on the CPU: ATen's intra-op pool (OpenMP in Debian's
// build; used by softmax, LayerNorm, GELU, copies) and OpenBLAS's own
// pthreads (every matrix product). See docs/performance.md for the numbers
// behind the default.
#pragma once

#include <string>

namespace dinoclip {

struct ThreadConfig {
  int aten_threads = 0;  // 0: the default below
  int blas_threads = 0;  // 0: leave OpenBLAS as it is (OPENBLAS_NUM_THREADS or all cores)
};

// The default: one ATen thread and OpenBLAS on all cores, or ATen on all
// cores too when OMP_WAIT_POLICY=PASSIVE was set before the process started.
ThreadConfig default_thread_config();

// Applies `config` (0 fields take the default). Safe to call more than once.
void configure_threads(const ThreadConfig& config = {});

// One line for logs: "aten 2, blas 2 (openblas pthreads), OMP_WAIT_POLICY=PASSIVE".
std::string describe_threads();

int cpu_cores();

}  // namespace dinoclip
