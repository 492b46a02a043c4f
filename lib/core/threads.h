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

// The default: as many ATen threads as cores, with OpenMP told not to spin
// (see ensure_passive_openmp_wait), OpenBLAS on all cores.
ThreadConfig default_thread_config();

// Applies `config` (0 fields take the default). Safe to call more than once.
void configure_threads(const ThreadConfig& config = {});

// Sets OMP_WAIT_POLICY=PASSIVE unless the user set it. libgomp reads it once
// when it loads, so this only takes effect for a process that calls it before
// loading LibTorch, or that re-executes itself (what the CLI does).
// Returns true when the variable was already in effect.
bool ensure_passive_openmp_wait();

// One line for logs: "aten 2, blas 2 (openblas pthreads), OMP_WAIT_POLICY=PASSIVE".
std::string describe_threads();

int cpu_cores();

}  // namespace dinoclip
