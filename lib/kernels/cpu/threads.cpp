#include "kernels/cpu/threads.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <exception>
#include <mutex>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace dinoclip::cpu {

void split_over_threads(int64_t count, int64_t min_per_thread, const std::function<void(int64_t, int64_t)>& body) {
  if (count <= 0) return;
#if defined(_OPENMP)
  const int64_t most = std::max<int64_t>(1, count / std::max<int64_t>(1, min_per_thread));
  const int threads = int(std::min<int64_t>(at::get_num_threads(), most));
  if (threads > 1 && !omp_in_parallel()) {
    std::exception_ptr failure;
    std::mutex failure_mutex;
    const bool inference_mode = c10::InferenceMode::is_enabled();  // thread-local: pass it on
#pragma omp parallel num_threads(threads)
    {
      c10::InferenceMode guard(inference_mode);
      // oneDNN sizes a primitive's work split by omp_get_max_threads() when
      // it is created; inside this region each primitive must use one thread.
      omp_set_num_threads(1);
      const int64_t team = omp_get_num_threads(), me = omp_get_thread_num();
      const int64_t per_thread = (count + team - 1) / team;
      const int64_t first = std::min(count, me * per_thread), last = std::min(count, first + per_thread);
      try {
        if (first < last) body(first, last);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
    return;
  }
#else
  (void)min_per_thread;
#endif
  body(0, count);
}

at::Tensor thread_scratch(Scratch slot, int64_t count, at::ScalarType dtype) {
  thread_local std::array<at::Tensor, size_t(Scratch::kCount)> buffers;
  at::Tensor& buffer = buffers[size_t(slot)];
  const int64_t bytes = count * int64_t(c10::elementSize(dtype));
  if (!buffer.defined() || buffer.numel() < bytes) buffer = at::empty({std::max<int64_t>(bytes, 1)}, at::kByte);
  return at::from_blob(buffer.data_ptr(), {count}, at::TensorOptions().dtype(dtype));
}

}  // namespace dinoclip::cpu
