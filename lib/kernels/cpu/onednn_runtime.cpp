#if defined(DINOCLIP_WITH_ONEDNN)

#include "kernels/cpu/onednn_runtime.h"

#include <ATen/ATen.h>

#include <string>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/error.h"
#include "kernels/cpu/threads.h"

#if DNNL_VERSION_MAJOR != 2
#error "lib/models is written against the oneDNN 2.x API (Debian's libdnnl-dev 2.6); configure with -Donednn=disabled"
#endif

namespace dinoclip::cpu::onednn {

using dnnl::memory;

const dnnl::engine& engine() {
  static const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

memory::data_type to_dnnl(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return memory::data_type::f32;
    case at::kBFloat16:
      return memory::data_type::bf16;
    default:
      throw Error(std::string("oneDNN kernels: unsupported dtype ") + c10::toString(type));
  }
}

memory::desc strided_desc(const at::Tensor& t) {
  return memory::desc(memory::dims(t.sizes().begin(), t.sizes().end()), to_dnnl(t.scalar_type()),
                      memory::dims(t.strides().begin(), t.strides().end()));
}

void append_key(std::ostringstream& key, const at::Tensor& t) {
  key << c10::toString(t.scalar_type()) << t.sizes() << t.strides() << ';';
}

int creation_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 0;  // oneDNN's runtime is not this file's: callers' keys need no count
#endif
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void execute(const dnnl::primitive& prim, const dnnl::primitive_desc_base& pd, std::unordered_map<int, memory>& args) {
  const memory::desc pad_md = pd.scratchpad_desc();
  args.emplace(
      DNNL_ARG_SCRATCHPAD,
      memory(pad_md, engine(), thread_scratch(Scratch::kOneDnn, int64_t(pad_md.get_size()), at::kByte).data_ptr()));
  prim.execute(stream(), args);
  stream().wait();
}

}  // namespace dinoclip::cpu::onednn

#endif  // DINOCLIP_WITH_ONEDNN
