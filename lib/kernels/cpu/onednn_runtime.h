// The oneDNN plumbing shared by the CPU kernels (cpu_matmul, cpu_attention):
// one engine, a stream and a scratchpad per calling thread, tensor -> memory
// descriptor conversion. Internal to lib/models; compiled only with oneDNN
// (DINOCLIP_WITH_ONEDNN), by the files that see Debian's oneDNN 2.x headers.
#pragma once

#include <ATen/core/Tensor.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <sstream>
#include <unordered_map>

namespace dinoclip::cpu::onednn {

const dnnl::engine& engine();

// One stream per calling thread: CPU streams are cheap, and concurrent
// callers (two elements' streaming threads, the attention kernel's OpenMP
// threads) must not share one.
dnnl::stream& stream();

dnnl::memory::data_type to_dnnl(at::ScalarType type);

// A memory descriptor with `t`'s sizes and strides (views read in place).
dnnl::memory::desc strided_desc(const at::Tensor& t);

// Appends dtype, sizes and strides to a primitive cache key.
void append_key(std::ostringstream& key, const at::Tensor& t);

// The thread count a primitive created now splits its work for (oneDNN reads
// omp_get_max_threads() at creation): part of every primitive cache key, as
// one made inside a kernel's OpenMP region (one thread) is not the one for
// the whole pool.
int creation_threads();

// Primitives use a user-managed scratchpad (one per thread, see execute()) so
// that one cached primitive can run on several threads at once.
dnnl::primitive_attr user_scratchpad_attr();

// Runs `prim` on this thread's stream with this thread's scratchpad and waits.
void execute(const dnnl::primitive& prim, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, dnnl::memory>& args);

}  // namespace dinoclip::cpu::onednn
