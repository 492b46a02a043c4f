// Work split over the CPU kernels' OpenMP threads.
//
// The kernels (cpu_matmul, cpu_attention, cpu_vector_math) split their work
// themselves and run single-threaded oneDNN primitives on each part: for
// ViT-sized products that measured faster than oneDNN's own split of one
// primitive across the threads (docs/performance.md). Built without OpenMP
// (the clang sanitizer build) the parts run one after another on the calling
// thread, each primitive then using oneDNN's own threads: same results.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

namespace dinoclip::cpu {

// Calls body(first, last) on contiguous ranges covering [0, count), one
// range per thread (at most at::get_num_threads() threads, and no more than
// count / min_per_thread): the calling thread's InferenceMode is passed on,
// oneDNN primitives created or run inside see one thread, and the first
// exception thrown is rethrown here. Nested calls run serially.
void split_over_threads(int64_t count, int64_t min_per_thread, const std::function<void(int64_t, int64_t)>& body);

// Buffers of the kernels that are live at the same time on one thread.
enum class Scratch { kScores, kProbabilities, kDenseQ, kDenseOut, kPackedKt, kPackedV, kGeluInput, kOneDnn, kCount };

// `count` elements of `dtype` owned by the calling thread, reused by its
// later calls for the same slot (grown when too small): allocating the
// attention scores per block, layer and frame costs more in page faults than
// the maths. Valid until the thread's next call for that slot.
at::Tensor thread_scratch(Scratch slot, int64_t count, at::ScalarType dtype);

}  // namespace dinoclip::cpu
