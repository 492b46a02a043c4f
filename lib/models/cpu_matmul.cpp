#include "models/cpu_matmul.h"

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
#include <oneapi/dnnl/dnnl.hpp>
#if DNNL_VERSION_MAJOR != 2
#error "lib/models/cpu_matmul.cpp is written against the oneDNN 2.x API (Debian's libdnnl-dev 2.6); configure with -Donednn=disabled"
#endif
#endif

namespace dinoclip::cpu {

#if defined(DINOCLIP_WITH_ONEDNN)

namespace {

using dnnl::memory;

const dnnl::engine& engine() {
  static const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

// One stream per calling thread: CPU streams are cheap, and concurrent
// callers (two elements' streaming threads) must not share one.
dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

// Per-thread scratchpad: primitives are created with a user-managed
// scratchpad so that one cached primitive can run on several threads at once.
void* scratchpad(size_t bytes) {
  thread_local at::Tensor buffer;
  if (bytes == 0) return nullptr;
  if (!buffer.defined() || size_t(buffer.numel()) < bytes) buffer = at::empty({int64_t(bytes)}, at::kByte);
  return buffer.data_ptr();
}

memory::data_type to_dnnl(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return memory::data_type::f32;
    case at::kBFloat16: return memory::data_type::bf16;
    default: throw Error(std::string("oneDNN kernels: unsupported dtype ") + c10::toString(type));
  }
}

memory::desc strided_desc(const at::Tensor& t) {
  return memory::desc(memory::dims(t.sizes().begin(), t.sizes().end()), to_dnnl(t.scalar_type()),
                      memory::dims(t.strides().begin(), t.strides().end()));
}

void append(std::ostringstream& key, const at::Tensor& t) {
  key << c10::toString(t.scalar_type()) << t.sizes() << t.strides() << ';';
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void execute(const dnnl::primitive& prim, const dnnl::primitive_desc& pd, std::unordered_map<int, memory>& args) {
  const memory::desc pad_md = pd.scratchpad_desc();
  args.emplace(DNNL_ARG_SCRATCHPAD, memory(pad_md, engine(), scratchpad(pad_md.get_size())));
  prim.execute(stream(), args);
  stream().wait();
}

struct CachedMatmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

}  // namespace

bool available() { return onednn_matmul_enabled(); }

struct PackedLinear::Impl {
  at::Tensor weight;       // [out, in] row-major, float32 or the compute dtype (the caller's, not a copy)
  at::Tensor bias;         // [out] float32, or undefined
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

  Entry& entry(const at::Tensor& x, const at::Tensor& out, Epilogue epilogue, bool accumulate) {
    std::ostringstream key;
    append(key, x);
    append(key, out);
    key << int(epilogue) << accumulate;
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
    dnnl::matmul::desc desc = bias.defined()
                                  ? dnnl::matmul::desc(strided_desc(x), weights_md,
                                                       memory::desc({1, weight.size(0)}, memory::data_type::f32,
                                                                    memory::format_tag::ab),
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
  Impl::Entry& e = impl_->entry(x, out, epilogue, accumulate);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, memory(e.matmul.pd.src_desc(), engine(), x.data_ptr())},
      {DNNL_ARG_WEIGHTS, e.packed_weights},
      {DNNL_ARG_DST, memory(e.matmul.pd.dst_desc(), engine(), out.data_ptr())}};
  if (impl_->bias.defined()) {
    args.emplace(DNNL_ARG_BIAS, memory(e.matmul.pd.bias_desc(), engine(), impl_->bias.data_ptr()));
  }
  execute(e.matmul.prim, e.matmul.pd, args);
}

at::Tensor PackedLinear::operator()(const at::Tensor& x, at::ScalarType out_dtype, Epilogue epilogue) const {
  at::Tensor out = at::empty({x.size(0), out_features()}, x.options().dtype(out_dtype));
  run(x, out, epilogue);
  return out;
}

void batched_matmul(const at::Tensor& a, const at::Tensor& b, const at::Tensor& out) {
  if (a.dim() < 2 || a.dim() != b.dim() || a.dim() != out.dim() || a.scalar_type() != b.scalar_type() ||
      a.size(-1) != b.size(-2) || out.size(-2) != a.size(-2) || out.size(-1) != b.size(-1)) {
    std::ostringstream msg;
    msg << "batched_matmul: shapes " << a.sizes() << " @ " << b.sizes() << " -> " << out.sizes() << " do not fit";
    throw Error(msg.str());
  }
  if (a.numel() == 0 || b.numel() == 0) return;
  static std::mutex mutex;
  static std::map<std::string, CachedMatmul> cache;
  std::ostringstream key;
  append(key, a);
  append(key, b);
  append(key, out);
  const CachedMatmul* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key.str());
    if (it == cache.end()) {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(strided_desc(a), strided_desc(b), strided_desc(out)),
                                      user_scratchpad_attr(), engine());
      it = cache.emplace(key.str(), CachedMatmul{pd, dnnl::matmul(pd)}).first;
    }
    m = &it->second;  // std::map nodes stay put
  }
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(m->pd.src_desc(), engine(), a.data_ptr())},
                                          {DNNL_ARG_WEIGHTS, memory(m->pd.weights_desc(), engine(), b.data_ptr())},
                                          {DNNL_ARG_DST, memory(m->pd.dst_desc(), engine(), out.data_ptr())}};
  execute(m->prim, m->pd, args);
}

void softmax_last_dim(const at::Tensor& scores, const at::Tensor& out) {
  if (scores.scalar_type() != at::kFloat || !scores.is_contiguous() || !out.is_contiguous() ||
      scores.sizes() != out.sizes() || scores.dim() < 1) {
    std::ostringstream msg;
    msg << "softmax_last_dim: scores " << scores.sizes() << " " << scores.scalar_type() << " -> " << out.sizes()
        << " " << out.scalar_type() << " do not fit (contiguous float32 in, same sizes out)";
    throw Error(msg.str());
  }
  if (scores.numel() == 0) return;
  struct CachedSoftmax {
    dnnl::softmax_v2_forward::primitive_desc pd;
    dnnl::softmax_v2_forward prim;
  };
  static std::mutex mutex;
  static std::map<std::string, CachedSoftmax> cache;
  std::ostringstream key;
  append(key, scores);
  append(key, out);
  const CachedSoftmax* s = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key.str());
    if (it == cache.end()) {
      dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
                                          strided_desc(scores), strided_desc(out), int(scores.dim() - 1));
      dnnl::softmax_v2_forward::primitive_desc pd(desc, user_scratchpad_attr(), engine());
      it = cache.emplace(key.str(), CachedSoftmax{pd, dnnl::softmax_v2_forward(pd)}).first;
    }
    s = &it->second;
  }
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(s->pd.src_desc(), engine(), scores.data_ptr())},
                                          {DNNL_ARG_DST, memory(s->pd.dst_desc(), engine(), out.data_ptr())}};
  execute(s->prim, s->pd, args);
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
void batched_matmul(const at::Tensor&, const at::Tensor&, const at::Tensor&) {
  throw Error("this dinoclip was built without oneDNN: batched_matmul is unavailable");
}
void softmax_last_dim(const at::Tensor&, const at::Tensor&) {
  throw Error("this dinoclip was built without oneDNN: softmax_last_dim is unavailable");
}

#endif

}  // namespace dinoclip::cpu
