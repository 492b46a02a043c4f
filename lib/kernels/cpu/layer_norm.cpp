#include "kernels/cpu/layer_norm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <cmath>
#include <cstdint>
#include <sstream>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/error.h"

namespace dinoclip::cpu {

namespace {

// One row: float32 in, float32 or bfloat16 (out16 set) out.
struct Row {
  const float* x;
  const float* weight;
  const float* bias;
  int64_t width;
  float eps;
  float* out32;
  uint16_t* out16;
};

// For CPUs without AVX-512. Sums in double: one scalar float accumulator
// over a row centred on 100 was 8.7e-5 off a float64 LayerNorm (the AVX-512
// kernel's 16 lanes: 2.0e-5).
void normalize_row_portable(const Row& r) {
  double sum = 0.0;
  for (int64_t i = 0; i < r.width; ++i) sum += r.x[i];
  const float mean = float(sum / double(r.width));
  double squares = 0.0;
  for (int64_t i = 0; i < r.width; ++i) squares += double(r.x[i] - mean) * double(r.x[i] - mean);
  const float rstd = 1.f / std::sqrt(float(squares / double(r.width)) + r.eps);
  for (int64_t i = 0; i < r.width; ++i) {
    const float y = (r.x[i] - mean) * rstd * r.weight[i] + r.bias[i];
    if (r.out16) {
      r.out16[i] = c10::BFloat16(y).x;  // round to nearest even, as Tensor::to
    } else {
      r.out32[i] = y;
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// AVX-512 through a target attribute on this function alone: compiling the
// file with -mavx512f (as ATen's Vectorized<float> would need) could let
// AVX-512 copies of inline LibTorch functions stand in for the library's,
// and the library must still run on CPUs without AVX-512.
#define DINOCLIP_AVX512_LAYER_NORM 1

#define DINOCLIP_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
// (Masked forms of the intrinsics and a sum through memory: GCC 12's
// unmasked _mm512_srli_epi32, _mm512_cvtepi32_epi16 and _mm512_reduce_add_ps
// trip -Wuninitialized inside its own headers.)
constexpr __mmask16 kAllColumns = 0xFFFF;

DINOCLIP_AVX512 inline float sum_lanes(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0.f;
  for (float lane : lanes) sum += lane;
  return sum;
}

// Writes y = (x - mean) * rstd * weight + bias for the 16 (or `mask`) columns
// from `i`.
DINOCLIP_AVX512 inline void write_columns(const Row& r, int64_t i, __mmask16 mask, __m512 mean, __m512 rstd) {
  const __m512 x = _mm512_maskz_loadu_ps(mask, r.x + i);
  const __m512 y = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_sub_ps(x, mean), rstd),
                                   _mm512_maskz_loadu_ps(mask, r.weight + i), _mm512_maskz_loadu_ps(mask, r.bias + i));
  if (!r.out16) {
    _mm512_mask_storeu_ps(r.out32 + i, mask, y);
    return;
  }
  // float32 -> bfloat16, rounded to nearest even as c10::BFloat16: add 0x7FFF
  // plus the lowest kept bit, keep the high half; NaN -> 0x7FC0.
  const __m512i bits = _mm512_castps_si512(y);
  const __m512i lsb = _mm512_and_si512(_mm512_maskz_srli_epi32(kAllColumns, bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_maskz_srli_epi32(
      kAllColumns, _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  rounded = _mm512_mask_blend_epi32(_mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q), rounded, _mm512_set1_epi32(0x7FC0));
  _mm256_mask_storeu_epi16(r.out16 + i, mask, _mm512_maskz_cvtepi32_epi16(kAllColumns, rounded));
}

DINOCLIP_AVX512 void normalize_row_avx512(const Row& r) {
  const int64_t full = r.width / 16 * 16;
  const __mmask16 tail = __mmask16((1u << (r.width - full)) - 1);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < full; i += 16) acc = _mm512_add_ps(acc, _mm512_loadu_ps(r.x + i));
  if (tail) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(tail, r.x + full));
  const __m512 mean = _mm512_set1_ps(sum_lanes(acc) / float(r.width));
  // Centred second pass (the row is in L1): no cancellation for rows with a
  // large mean, unlike E[x^2] - E[x]^2.
  acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < full; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(r.x + i), mean);
    acc = _mm512_fmadd_ps(d, d, acc);
  }
  if (tail) {
    const __m512 d = _mm512_maskz_sub_ps(tail, _mm512_maskz_loadu_ps(tail, r.x + full), mean);
    acc = _mm512_fmadd_ps(d, d, acc);
  }
  const __m512 rstd = _mm512_set1_ps(1.f / std::sqrt(sum_lanes(acc) / float(r.width) + r.eps));
  for (int64_t i = 0; i < full; i += 16) write_columns(r, i, kAllColumns, mean, rstd);
  if (tail) write_columns(r, full, tail, mean, rstd);
}

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return yes;
}
#endif

// Rows per task: at least ~16K elements, so that a 50-token CLIP image is
// not split into slivers whose scheduling costs more than their work.
int64_t grain_rows(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width)); }

void run_layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                    const at::Tensor& out, bool allow_avx512) {
  const bool fits = x.dim() == 2 && out.dim() == 2 && x.sizes() == out.sizes() && x.scalar_type() == at::kFloat &&
                    (out.scalar_type() == at::kFloat || out.scalar_type() == at::kBFloat16) && x.stride(1) == 1 &&
                    out.stride(1) == 1 && x.device().is_cpu() && out.device().is_cpu() && weight.defined() &&
                    bias.defined() && weight.scalar_type() == at::kFloat && bias.scalar_type() == at::kFloat &&
                    weight.is_contiguous() && bias.is_contiguous() && weight.numel() == x.size(1) &&
                    bias.numel() == x.size(1);
  if (!fits) {
    std::ostringstream msg;
    msg << "cpu::layer_norm: input " << x.sizes() << " " << x.scalar_type() << " -> " << out.sizes() << " "
        << out.scalar_type() << " with weight " << weight.sizes() << " and bias " << bias.sizes()
        << " do not fit (float32 [rows, D] in, float32 or bfloat16 out, unit column strides, float32 [D] affine)";
    throw Error(msg.str());
  }
  const int64_t rows = x.size(0), width = x.size(1);
  if (rows == 0 || width == 0) return;
  const float* x_data = x.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  const float* b = bias.data_ptr<float>();
  const bool to_bf16 = out.scalar_type() == at::kBFloat16;
  char* out_data = static_cast<char*>(out.data_ptr());
  const int64_t out_row_bytes = out.stride(0) * int64_t(out.element_size());
  void (*normalize_row)(const Row&) = normalize_row_portable;
#if defined(DINOCLIP_AVX512_LAYER_NORM)
  if (allow_avx512 && has_avx512()) normalize_row = normalize_row_avx512;
#endif
  at::parallel_for(0, rows, grain_rows(width), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      void* dst = out_data + row * out_row_bytes;
      normalize_row(Row{x_data + row * x.stride(0), w, b, width, float(eps), to_bf16 ? nullptr : static_cast<float*>(dst),
                        to_bf16 ? static_cast<uint16_t*>(dst) : nullptr});
    }
  });
}

}  // namespace

void layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                const at::Tensor& out) {
  run_layer_norm(x, weight, bias, eps, out, /*allow_avx512=*/true);
}

void layer_norm_portable(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                         const at::Tensor& out) {
  run_layer_norm(x, weight, bias, eps, out, /*allow_avx512=*/false);
}

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                      at::ScalarType out_dtype) {
  if (x.dim() < 1) throw Error("cpu::layer_norm: input must have at least one dimension");
  const int64_t width = x.size(-1);
  at::Tensor out = at::empty(x.sizes(), x.options().dtype(out_dtype));
  if (out.numel() == 0) return out;
  at::Tensor rows = x.reshape({-1, width});
  if (rows.stride(1) != 1) rows = rows.contiguous();
  layer_norm(rows, weight, bias, eps, out.view({-1, width}));
  return out;
}

}  // namespace dinoclip::cpu
