#include "kernels/cpu/attention.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/threads.h"
#include "kernels/cpu/vector_math.h"

#if defined(DINOCLIP_WITH_ONEDNN)
#include "kernels/cpu/onednn_runtime.h"
#endif

namespace dinoclip::cpu {

#if defined(DINOCLIP_WITH_ONEDNN)

namespace {

using dnnl::memory;
using onednn::engine;
using onednn::strided_desc;

// Query rows per task: a block's float32 scores (64 x 3601 at 480x480:
// 922 KB) stay in the 1 MB L2 of this machine's cores. ViT-S/8 bf16 at
// 480x480, one interleaved run each: 32 rows 1256 ms, 64: 1188, 96: 1161,
// 128: 1200 (2 runs: 1179-1222); at 224x224 64 and 96 rows are equal
// (130.9 ms best of 2 each).
constexpr int64_t kQueryBlockRows = 64;

// Below this many tokens all heads go through three calls (attend_all_heads).
constexpr int64_t kMinBlockedTokens = 128;

// Primitives are keyed by their operands' dtypes, sizes and strides.
using Key = std::vector<int64_t>;

void append(Key& key, const at::Tensor& t) {
  key.push_back(int64_t(t.scalar_type()));
  key.insert(key.end(), t.sizes().begin(), t.sizes().end());
  key.insert(key.end(), t.strides().begin(), t.strides().end());
}

struct Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

struct Softmax {
  dnnl::softmax_v2_forward::primitive_desc pd;
  dnnl::softmax_v2_forward prim;
};

// One cache per primitive kind; entries are created by the first task that
// needs them and then run by every thread (user scratchpads).
template <class Entry, class Make>
const Entry& cached(Key key, Make make) {
  static std::mutex mutex;
  static std::map<Key, Entry> cache;
  key.push_back(onednn::creation_threads());
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return it->second;  // std::map nodes stay put
}

// The right operand of a block product (k^T or v of one head) is reordered
// once per call into the blocked layout of oneDNN's brgemm kernels and read
// by all of that head's query blocks. Measured single-threaded on the AVX-512
// machine, 64 query rows x 3601 tokens: q k^T 172 -> 210 GFLOP/s (bf16),
// 66 -> 111 (fp32); p v 179 -> 228 (bf16), 105 -> 116 (fp32), against the
// strided views read in place (oneDNN then picks gemm:jit and copies the
// operand on every call).
struct PackedOperand {
  memory::desc md;
  char* data = nullptr;
  size_t head_bytes = 0;
  void* head(int64_t h) const { return data + h * head_bytes; }
};

// The layout oneDNN wants for b in [rows, inner] @ b[inner, cols] -> [rows, cols]
// with dense a and out.
memory::desc packed_layout(int64_t rows, int64_t inner, int64_t cols, at::ScalarType a_type, at::ScalarType out_type) {
  struct Layout {
    memory::desc md;
  };
  const Key key{2, rows, inner, cols, int64_t(a_type), int64_t(out_type)};
  return cached<Layout>(std::move(key),
                        [&] {
                          memory::desc a({rows, inner}, onednn::to_dnnl(a_type), memory::format_tag::ab);
                          memory::desc b({inner, cols}, onednn::to_dnnl(a_type), memory::format_tag::any);
                          memory::desc out({rows, cols}, onednn::to_dnnl(out_type), memory::format_tag::ab);
                          dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, out), onednn::user_scratchpad_attr(),
                                                          engine());
                          return Layout{pd.weights_desc()};
                        })
      .md;
}

// Writes `view` ([inner, cols], any strides) into `dst` in layout `md`.
void reorder_into(const at::Tensor& view, const memory::desc& md, void* dst) {
  struct Reorder {
    dnnl::reorder::primitive_desc pd;
    dnnl::reorder prim;
  };
  Key key{3};
  append(key, view);
  key.push_back(int64_t(md.get_size()));
  const Reorder& r = cached<Reorder>(std::move(key), [&] {
    dnnl::reorder::primitive_desc pd(engine(), strided_desc(view), engine(), md, onednn::user_scratchpad_attr());
    return Reorder{pd, dnnl::reorder(pd)};
  });
  std::unordered_map<int, memory> args = {{DNNL_ARG_FROM, memory(r.pd.src_desc(), engine(), view.data_ptr())},
                                          {DNNL_ARG_TO, memory(md, engine(), dst)}};
  onednn::execute(r.prim, r.pd, args);
}

// out = a @ b over the last two dimensions, batched over the first, for any
// strides (views read and written in place); oneDNN's own threads.
void matmul_strided(const at::Tensor& a, const at::Tensor& b, const at::Tensor& out) {
  Key key{4};
  append(key, a);
  append(key, b);
  append(key, out);
  const Matmul& m = cached<Matmul>(std::move(key), [&] {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(strided_desc(a), strided_desc(b), strided_desc(out)),
                                    onednn::user_scratchpad_attr(), engine());
    return Matmul{pd, dnnl::matmul(pd)};
  });
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(m.pd.src_desc(), engine(), a.data_ptr())},
                                          {DNNL_ARG_WEIGHTS, memory(m.pd.weights_desc(), engine(), b.data_ptr())},
                                          {DNNL_ARG_DST, memory(m.pd.dst_desc(), engine(), out.data_ptr())}};
  onednn::execute(m.prim, m.pd, args);
}

// out = a @ b with b packed (PackedOperand), on the calling thread.
void matmul(const at::Tensor& a, const memory::desc& b_md, void* b, const at::Tensor& out) {
  Key key{0};
  append(key, a);
  append(key, out);
  key.push_back(int64_t(b_md.get_size()));
  const Matmul& m = cached<Matmul>(std::move(key), [&] {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(strided_desc(a), b_md, strided_desc(out)),
                                    onednn::user_scratchpad_attr(), engine());
    return Matmul{pd, dnnl::matmul(pd)};
  });
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(m.pd.src_desc(), engine(), a.data_ptr())},
                                          {DNNL_ARG_WEIGHTS, memory(b_md, engine(), b)},
                                          {DNNL_ARG_DST, memory(m.pd.dst_desc(), engine(), out.data_ptr())}};
  onednn::execute(m.prim, m.pd, args);
}

// out = softmax(scores) over rows, scores float32, out float32 (may alias
// scores) or bfloat16, on the calling thread.
void onednn_softmax_rows(const at::Tensor& scores, const at::Tensor& out) {
  Key key{1};
  append(key, scores);
  append(key, out);
  const Softmax& s = cached<Softmax>(std::move(key), [&] {
    dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
                                        strided_desc(scores), strided_desc(out), 1);
    dnnl::softmax_v2_forward::primitive_desc pd(desc, onednn::user_scratchpad_attr(), engine());
    return Softmax{pd, dnnl::softmax_v2_forward(pd)};
  });
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(s.pd.src_desc(), engine(), scores.data_ptr())},
                                          {DNNL_ARG_DST, memory(s.pd.dst_desc(), engine(), out.data_ptr())}};
  onednn::execute(s.prim, s.pd, args);
}

// Scores and probabilities of one block (or of all heads), reused by each
// thread across blocks, layers and frames.
at::Tensor block_scratch(Scratch slot, int64_t rows, int64_t cols, at::ScalarType dtype) {
  return thread_scratch(slot, rows * cols, dtype).view({rows, cols});
}

// Softmax of every row of `scores` [rows, N] float32 into `probs`.
void softmax_into(const at::Tensor& scores, const at::Tensor& probs) {
  const int64_t rows = scores.size(0), tokens = scores.size(1);
  if (fast_vector_math_supported()) {
    const bool f32 = probs.scalar_type() == at::kFloat;
    softmax_rows(scores.data_ptr<float>(), tokens, rows, tokens, f32 ? probs.data_ptr<float>() : nullptr,
                 f32 ? nullptr : reinterpret_cast<uint16_t*>(probs.data_ptr<at::BFloat16>()), tokens);
  } else {
    onednn_softmax_rows(scores, probs);
  }
}

// What the blocks of one call share: q and the output dense per head
// ([heads, N, hd]), k^T and v packed per head.
struct Operands {
  at::Tensor q, out;
  PackedOperand kt, v;
};

// One (head, query rows [start, start + rows)) task.
void attend_block(const AttentionRequest& r, const Operands& o, int64_t head, int64_t start, int64_t rows) {
  const at::ScalarType compute = r.q.scalar_type();
  const int64_t tokens = r.k.size(1);
  at::Tensor scores = block_scratch(Scratch::kScores, rows, tokens, at::kFloat);
  matmul(o.q[head].narrow(0, start, rows), o.kt.md, o.kt.head(head), scores);
  if (r.mask.defined()) scores.add_(r.mask.narrow(0, start, rows));

  // Probabilities someone reads are kept in float32; the others are written
  // once, straight in the dtype the next product reads.
  const bool tapped = r.full.defined() || (r.cls_row.defined() && start == 0);
  at::Tensor probs =
      compute == at::kFloat || tapped ? scores : block_scratch(Scratch::kProbabilities, rows, tokens, compute);
  softmax_into(scores, probs);
  if (tapped) {
    if (r.cls_row.defined() && start == 0) r.cls_row[head].copy_(scores[0]);
    if (r.full.defined()) r.full[head].narrow(0, start, rows).copy_(scores);
    if (compute != at::kFloat) probs = block_scratch(Scratch::kProbabilities, rows, tokens, compute).copy_(scores);
  }
  matmul(probs, o.v.md, o.v.head(head), o.out[head].narrow(0, start, rows));
}

Operands prepare_operands(const AttentionRequest& r, int64_t block) {
  const int64_t heads = r.q.size(0), tokens = r.q.size(1), hd = r.q.size(2);
  const at::ScalarType compute = r.q.scalar_type();
  // The calling thread's scratch, reused across layers and frames.
  Operands o;
  o.q = thread_scratch(Scratch::kDenseQ, r.q.numel(), compute).view(r.q.sizes()).copy_(r.q);
  o.out = thread_scratch(Scratch::kDenseOut, r.q.numel(), compute).view(r.q.sizes());
  const int64_t rows = std::min(block, tokens);
  o.kt.md = packed_layout(rows, hd, tokens, compute, at::kFloat);
  o.v.md = packed_layout(rows, tokens, hd, compute, compute);
  o.kt.head_bytes = o.kt.md.get_size();
  o.v.head_bytes = o.v.md.get_size();
  o.kt.data =
      static_cast<char*>(thread_scratch(Scratch::kPackedKt, heads * int64_t(o.kt.head_bytes), at::kByte).data_ptr());
  o.v.data =
      static_cast<char*>(thread_scratch(Scratch::kPackedV, heads * int64_t(o.v.head_bytes), at::kByte).data_ptr());
  split_over_threads(heads, 1, [&](int64_t first, int64_t last) {
    for (int64_t h = first; h < last; ++h) {
      reorder_into(r.k[h].t(), o.kt.md, o.kt.head(h));
      reorder_into(r.v[h], o.v.md, o.v.head(h));
    }
  });
  return o;
}

// Few tokens (CLIP: 50 image, at most 77 text): all heads in three calls,
// the [heads, N, N] scores fitting in L2. Packing k and v per head and a
// task per block cost more than these products (CLIP ViT-B/32 image batch 8:
// 233 ms that way against 193 ms).
void attend_all_heads(const AttentionRequest& r) {
  const int64_t heads = r.q.size(0), tokens = r.q.size(1);
  const at::ScalarType compute = r.q.scalar_type();
  at::Tensor scores = block_scratch(Scratch::kScores, heads * tokens, tokens, at::kFloat);
  matmul_strided(r.q, r.k.transpose(1, 2), scores.view({heads, tokens, tokens}));
  if (r.mask.defined()) scores.view({heads, tokens, tokens}).add_(r.mask);
  const bool tapped = r.full.defined() || r.cls_row.defined();
  at::Tensor probs = compute == at::kFloat || tapped
                         ? scores
                         : block_scratch(Scratch::kProbabilities, heads * tokens, tokens, compute);
  softmax_into(scores, probs);
  if (tapped) {
    at::Tensor all = scores.view({heads, tokens, tokens});
    if (r.cls_row.defined()) r.cls_row.copy_(all.select(1, 0));
    if (r.full.defined()) r.full.copy_(all);
    if (compute != at::kFloat)
      probs = block_scratch(Scratch::kProbabilities, heads * tokens, tokens, compute).copy_(scores);
  }
  matmul_strided(probs.view({heads, tokens, tokens}), r.v, r.out);
}

void check(const AttentionRequest& r) {
  const bool fits = r.q.dim() == 3 && r.k.sizes() == r.q.sizes() && r.v.sizes() == r.q.sizes() &&
                    r.out.sizes() == r.q.sizes() && r.k.scalar_type() == r.q.scalar_type() &&
                    r.v.scalar_type() == r.q.scalar_type() && r.out.scalar_type() == r.q.scalar_type() &&
                    (!r.mask.defined() || r.mask.sizes() == at::IntArrayRef{r.q.size(1), r.q.size(1)}) &&
                    (!r.cls_row.defined() || r.cls_row.sizes() == at::IntArrayRef{r.q.size(0), r.q.size(1)}) &&
                    (!r.full.defined() || r.full.sizes() == at::IntArrayRef{r.q.size(0), r.q.size(1), r.q.size(1)});
  if (!fits) {
    std::ostringstream msg;
    msg << "cpu::attention: q " << r.q.sizes() << " " << r.q.scalar_type() << ", k " << r.k.sizes() << ", v "
        << r.v.sizes() << ", out " << r.out.sizes() << " " << r.out.scalar_type() << " do not fit";
    throw Error(msg.str());
  }
}

}  // namespace

void attention(const AttentionRequest& request) {
  check(request);
  const int64_t heads = request.q.size(0), tokens = request.q.size(1);
  const int64_t block = kQueryBlockRows;
  if (tokens < kMinBlockedTokens) {
    attend_all_heads(request);
    return;
  }
  const int64_t blocks = (tokens + block - 1) / block;
  const int64_t tasks = heads * blocks;
  const Operands operands = prepare_operands(request, block);
  // Contiguous task ranges per thread: a thread works through one head's
  // blocks after another, so that head's k and v stay in its caches.
  split_over_threads(tasks, 1, [&](int64_t first, int64_t last) {
    for (int64_t task = first; task < last; ++task) {
      const int64_t head = task / blocks, start = (task % blocks) * block;
      attend_block(request, operands, head, start, std::min(block, tokens - start));
    }
  });
  request.out.copy_(operands.out);
}

#else  // without oneDNN: callers take their ATen path (cpu::available() is false)

void attention(const AttentionRequest&) {
  throw Error("this dinoclip was built without oneDNN: cpu::attention is unavailable");
}

#endif

}  // namespace dinoclip::cpu
