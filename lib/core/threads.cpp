#include "core/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

namespace dinoclip {
namespace {

using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();
using GetConfigFn = char* (*)();

// OpenBLAS's controls, looked up at run time: libtorch links the generic
// libblas.so.3, which is OpenBLAS only when that alternative is selected.
template <typename Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

}  // namespace

int cpu_cores() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? int(n) : int(std::max(1u, std::thread::hardware_concurrency()));
}

bool onednn_matmul_enabled() {
#if defined(DINOCLIP_WITH_ONEDNN)
  static const bool enabled = [] {
    const char* choice = std::getenv("DINOCLIP_CPU_KERNELS");
    return !(choice && std::string(choice) == "aten");
  }();
  return enabled;
#else
  return false;
#endif
}

ThreadConfig default_thread_config() {
  ThreadConfig config;
  if (onednn_matmul_enabled()) {
    // oneDNN runs on ATen's OpenMP pool: one pool, all cores
    // (docs/performance.md, "Threads").
    config.aten_threads = cpu_cores();
    config.blas_threads = 0;
    return config;
  }
  // Measured on 2 vCPUs (docs/performance.md): with libgomp's default active
  // wait, a second ATen thread spins while OpenBLAS's threads run the matrix
  // products and a ViT-S/8 forward takes 2.7x longer; with
  // OMP_WAIT_POLICY=PASSIVE the two pools coexist. So: all cores for ATen
  // only when OpenMP waits passively, else one ATen thread and OpenBLAS
  // (which does ~85% of the work) on all cores.
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const bool passive = policy && (std::string(policy) == "PASSIVE" || std::string(policy) == "passive");
  config.aten_threads = passive ? cpu_cores() : 1;
  config.blas_threads = 0;
  return config;
}

void configure_threads(const ThreadConfig& requested) {
  ThreadConfig def = default_thread_config();
  const int aten = requested.aten_threads > 0 ? requested.aten_threads : def.aten_threads;
  if (at::get_num_threads() != aten) at::set_num_threads(aten);
  const int blas = requested.blas_threads > 0 ? requested.blas_threads : def.blas_threads;
  if (blas > 0) {
    if (auto set = openblas_symbol<SetThreadsFn>("openblas_set_num_threads")) set(blas);
  }
}

std::string describe_threads() {
  std::string out = "aten " + std::to_string(at::get_num_threads());
  if (onednn_matmul_enabled()) out += " (also runs the oneDNN matrix products)";
  if (auto get = openblas_symbol<GetThreadsFn>("openblas_get_num_threads")) {
    out += ", blas " + std::to_string(get());
    if (auto cfg = openblas_symbol<GetConfigFn>("openblas_get_config")) out += std::string(" (") + cfg() + ")";
  } else {
    out += ", blas: not OpenBLAS (install libopenblas0-pthread: the reference BLAS is ~50x slower)";
  }
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  out += std::string(", OMP_WAIT_POLICY=") + (policy ? policy : "(unset: active)");
  return out;
}

}  // namespace dinoclip
