#include "kernels/cpu/matmul.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"

#if defined(DINOCLIP_WITH_ONEDNN)
#include "kernels/cpu/threads.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/onednn_runtime.h"
#endif

namespace dinoclip::cpu {

#if defined(DINOCLIP_WITH_ONEDNN)

namespace {

using dnnl::memory;
using onednn::append_key;
using onednn::engine;
using onednn::execute;
using onednn::stream;
using onednn::strided_desc;
using onednn::to_dnnl;
using onednn::user_scratchpad_attr;

// Fewer rows per thread than this and the split is not worth its overhead.
constexpr int64_t kMinRowsPerThread = 32;

struct CachedMatmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

}  // namespace

bool available() { return onednn_matmul_enabled(); }

struct PackedLinear::Impl {
  at::Tensor weight;  // [out, in] row-major, float32 or the compute dtype (the caller's, not a copy)
  at::Tensor bias;    // [out] float32, or undefined
  at::ScalarType compute;
  std::vector<float> row_scales;  // [out] applied while packing, or empty

  struct Entry {
    CachedMatmul matmul;
    memory packed_weights;
  };
  std::mutex mutex;
  std::map<std::string, Entry> by_shape;
  std::vector<memory> packed;  // the weights in each layout a primitive asked for

  // The packed weights for `md`, reordered from the plain [out, in] copy the
  // first time a primitive asks for that layout.
  memory weights_for(const memory::desc& md) {
    for (const memory& m : packed)
      if (m.get_desc() == md) return m;
    const memory::dims dims = {weight.size(1), weight.size(0)};  // [in, out] = weight^T
    memory plain(memory::desc(dims, to_dnnl(weight.scalar_type()), memory::format_tag::ba), engine(),
                 weight.data_ptr());
    memory blocked(md, engine());
    // Converted to the compute dtype (and scaled per output row) by the
    // reorder itself: no intermediate copy.
    dnnl::primitive_attr attr;
    if (!row_scales.empty()) attr.set_output_scales(/*mask=*/1 << 1, row_scales);  // along dim 1 (out)
    dnnl::reorder(dnnl::reorder::primitive_desc(engine(), plain.get_desc(), engine(), md, attr))
        .execute(stream(), plain, blocked);
    stream().wait();
    packed.push_back(blocked);
    return blocked;
  }

  void run_rows(const at::Tensor& x, const at::Tensor& out, Epilogue epilogue, bool accumulate) {
    if (epilogue == Epilogue::kGeluErf && !accumulate && out.is_contiguous() && fast_vector_math_supported()) {
      // oneDNN's gelu_erf post-op is slow (cpu_vector_math.h): the product
      // writes float32, then one vectorised pass applies GELU and converts.
      at::Tensor pre = out.scalar_type() == at::kFloat
                           ? out
                           : thread_scratch(Scratch::kGeluInput, out.numel(), at::kFloat).view(out.sizes());
      run_rows(x, pre, Epilogue::kNone, false);
      const bool f32 = out.scalar_type() == at::kFloat;
      gelu_erf(pre.data_ptr<float>(), pre.numel(), f32 ? out.data_ptr<float>() : nullptr,
               f32 ? nullptr : reinterpret_cast<uint16_t*>(out.data_ptr<at::BFloat16>()));
      return;
    }
    Entry& e = entry(x, out, epilogue, accumulate);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(e.matmul.pd.src_desc(), engine(), x.data_ptr())},
                                            {DNNL_ARG_WEIGHTS, e.packed_weights},
                                            {DNNL_ARG_DST, memory(e.matmul.pd.dst_desc(), engine(), out.data_ptr())}};
    if (bias.defined()) args.emplace(DNNL_ARG_BIAS, memory(e.matmul.pd.bias_desc(), engine(), bias.data_ptr()));
    execute(e.matmul.prim, e.matmul.pd, args);
  }

  Entry& entry(const at::Tensor& x, const at::Tensor& out, Epilogue epilogue, bool accumulate) {
    std::ostringstream key;
    append_key(key, x);
    append_key(key, out);
    key << int(epilogue) << accumulate;
    key << '@' << onednn::creation_threads();
    std::lock_guard<std::mutex> lock(mutex);
    auto it = by_shape.find(key.str());
    if (it != by_shape.end()) return it->second;

    const memory::dims weights_dims = {weight.size(1), weight.size(0)};
    memory::desc weights_md(weights_dims, to_dnnl(compute), memory::format_tag::any);
    dnnl::post_ops ops;
    if (epilogue == Epilogue::kGeluErf) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
    if (epilogue == Epilogue::kQuickGelu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.702f, 0.f);
    if (accumulate) ops.append_sum(1.f);
    dnnl::primitive_attr attr = user_scratchpad_attr();
    attr.set_post_ops(ops);
    dnnl::matmul::desc desc =
        bias.defined()
            ? dnnl::matmul::desc(strided_desc(x), weights_md,
                                 memory::desc({1, weight.size(0)}, memory::data_type::f32, memory::format_tag::ab),
                                 strided_desc(out))
            : dnnl::matmul::desc(strided_desc(x), weights_md, strided_desc(out));
    dnnl::matmul::primitive_desc pd(desc, attr, engine());
    Entry e{{pd, dnnl::matmul(pd)}, weights_for(pd.weights_desc())};
    return by_shape.emplace(key.str(), std::move(e)).first->second;
  }
};

PackedLinear::PackedLinear(const at::Tensor& weight, const at::Tensor& bias, at::ScalarType compute)
    : PackedLinear(weight, bias, compute, /*scale=*/1.0, /*scaled_rows=*/0) {}

PackedLinear::PackedLinear(const at::Tensor& weight, const at::Tensor& bias, at::ScalarType compute, double scale,
                           int64_t scaled_rows)
    : impl_(std::make_shared<Impl>()) {
  if (weight.dim() != 2) throw Error("PackedLinear: weight must be [out, in]");
  if (scaled_rows < 0 || scaled_rows > weight.size(0)) throw Error("PackedLinear: scaled_rows out of range");
  to_dnnl(compute);  // rejects other dtypes
  // No copy when the weights are contiguous CPU tensors of float32 or the
  // compute dtype (a model's parameters): they are only read, and a model's
  // parameters do not change after loading. The packed layouts are reordered
  // from them (and scaled while reordered, see the second constructor), so a
  // model keeps one packed copy of its weights beside its parameters, not
  // two. Peak RSS of `dinoclip bench`, with the plain copies / without:
  // CLIP ViT-B/32 (both towers) bf16 1603 / 1347 MB, fp32 1466 / 1347 MB
  // (the scaled q/k/v copies); DINO ViT-S/8 bf16 378 / 332, fp32 385 / 372.
  const at::ScalarType source = weight.scalar_type() == compute ? compute : at::kFloat;
  impl_->weight = weight.detach().to(at::kCPU, source).contiguous();
  if (bias.defined()) {
    impl_->bias = bias.detach().to(at::kCPU, at::kFloat).contiguous();
    if (scaled_rows > 0) {
      impl_->bias = impl_->bias.clone();
      impl_->bias.narrow(0, 0, scaled_rows).mul_(scale);
    }
  }
  if (scaled_rows > 0) {
    impl_->row_scales.assign(size_t(weight.size(0)), 1.f);
    std::fill(impl_->row_scales.begin(), impl_->row_scales.begin() + scaled_rows, float(scale));
  }
  impl_->compute = compute;
}

at::ScalarType PackedLinear::compute_dtype() const { return impl_->compute; }
int64_t PackedLinear::out_features() const { return impl_->weight.size(0); }

void PackedLinear::run(const at::Tensor& x, const at::Tensor& out, Epilogue epilogue, bool accumulate) const {
  if (x.dim() != 2 || out.dim() != 2 || x.size(1) != impl_->weight.size(1) || out.size(0) != x.size(0) ||
      out.size(1) != impl_->weight.size(0) || x.scalar_type() != impl_->compute) {
    std::ostringstream msg;
    msg << "PackedLinear: input " << x.sizes() << " " << x.scalar_type() << ", output " << out.sizes()
        << " do not fit weights " << impl_->weight.sizes() << " " << impl_->compute;
    throw Error(msg.str());
  }
  if (x.size(0) == 0) return;
  // Rows split across the threads, each running a single-threaded product
  // on its rows, rather than oneDNN splitting each product itself. ViT-S/8
  // at 224x224, three interleaved runs each: bf16 140.4 ms (best 132.7)
  // against 144.1 (best 143.4); fp32 equal (238.4 / 238.4).
  split_over_threads(x.size(0), kMinRowsPerThread, [&](int64_t first, int64_t last) {
    impl_->run_rows(x.narrow(0, first, last - first), out.narrow(0, first, last - first), epilogue, accumulate);
  });
}

at::Tensor PackedLinear::operator()(const at::Tensor& x, at::ScalarType out_dtype, Epilogue epilogue) const {
  at::Tensor out = at::empty({x.size(0), out_features()}, x.options().dtype(out_dtype));
  run(x, out, epilogue);
  return out;
}

#else  // without oneDNN: callers take their ATen path

bool available() { return false; }  // onednn_matmul_enabled() is false too

struct PackedLinear::Impl {};

PackedLinear::PackedLinear(const at::Tensor&, const at::Tensor&, at::ScalarType) {
  throw Error("this dinoclip was built without oneDNN (-Donednn=disabled): no packed CPU kernels");
}
PackedLinear::PackedLinear(const at::Tensor&, const at::Tensor&, at::ScalarType, double, int64_t) {
  throw Error("this dinoclip was built without oneDNN (-Donednn=disabled): no packed CPU kernels");
}
at::ScalarType PackedLinear::compute_dtype() const { return at::kFloat; }
int64_t PackedLinear::out_features() const { return 0; }
void PackedLinear::run(const at::Tensor&, const at::Tensor&, Epilogue, bool) const {}
at::Tensor PackedLinear::operator()(const at::Tensor&, at::ScalarType, Epilogue) const { return {}; }

#endif

}  // namespace dinoclip::cpu
