#include "kernels/cpu/vector_math.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/cpu/threads.h"

#if defined(__x86_64__)
// GCC 12 warns about _mm512_undefined_ps() inside its own intrinsic headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define DINOCLIP_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define DINOCLIP_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

namespace dinoclip::cpu {

#if defined(__x86_64__)

namespace {

// exp(x) for x <= 0. Below ln(FLT_MIN) the result is 0: exactly what a
// masked (-inf) score must give. Degree 6: relative error < 2e-7, for float32
// results; degree 4: < 5e-5, for probabilities rounded to bfloat16 (relative
// step 2^-9) anyway.
template <int kDegree = 6>
DINOCLIP_AVX512 inline __m512 exp_nonpositive(__m512 x) {
  const __m512 lowest = _mm512_set1_ps(-87.33654f);
  const __mmask16 underflow = _mm512_cmp_ps_mask(x, lowest, _CMP_LT_OQ);
  x = _mm512_max_ps(x, lowest);
  // x = n ln2 + r, |r| <= ln2 / 2, ln2 split in two for an exact n ln2.
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693145752f), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-1.42860677e-6f), r);
  // Taylor series to r^6 / 6! (truncation error < 1.3e-7 relative for
  // |r| <= 0.347) or r^4 / 4! (< 4.3e-5).
  __m512 p = _mm512_set1_ps(1.f / 24);
  if constexpr (kDegree == 6) {
    p = _mm512_set1_ps(1.f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24));
  }
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_maskz_mov_ps(~underflow, _mm512_scalef_ps(p, n));
}

// float32 -> bfloat16 bits, rounding to nearest even (finite inputs).
DINOCLIP_AVX512 inline __m256i to_bf16(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16));
}

DINOCLIP_AVX512 inline __mmask16 tail_mask(int64_t remaining) {
  return remaining >= 16 ? __mmask16(0xffff) : __mmask16((1u << remaining) - 1);
}

DINOCLIP_AVX512 inline void store(__m512 v, __mmask16 m, float* out_f32, uint16_t* out_bf16, int64_t at) {
  if (out_f32) {
    _mm512_mask_storeu_ps(out_f32 + at, m, v);
  } else {
    _mm256_mask_storeu_epi16(out_bf16 + at, m, to_bf16(v));
  }
}

// Passes 1 and 2 of a row's softmax: the exponentials of x minus its maximum
// written back into x; returns 1 / their sum. A row masked everywhere has no
// maximum: its probabilities are NaN, as the reference softmax gives.
template <int kExpDegree>
DINOCLIP_AVX512 inline __m512 exponentiate_row(float* x, int64_t cols) {
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = tail_mask(cols - j);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_maskz_loadu_ps(m, x + j));
  }
  const __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 vsum = _mm512_setzero_ps();
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = tail_mask(cols - j);
    const __m512 e = exp_nonpositive<kExpDegree>(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), shift));
    _mm512_mask_storeu_ps(x + j, m, e);
    vsum = _mm512_mask_add_ps(vsum, m, vsum, e);
  }
  return _mm512_set1_ps(1.f / _mm512_reduce_add_ps(vsum));
}

DINOCLIP_AVX512 void softmax_row_f32(float* x, int64_t cols, float* out) {
  const __m512 scale = exponentiate_row<6>(x, cols);
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = tail_mask(cols - j);
    _mm512_mask_storeu_ps(out + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), scale));
  }
}

DINOCLIP_AVX512 void softmax_row_bf16(float* x, int64_t cols, uint16_t* out) {
  const __m512 scale = exponentiate_row<4>(x, cols);
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = tail_mask(cols - j);
    _mm256_mask_storeu_epi16(out + j, m, to_bf16(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), scale)));
  }
}

// The same with AVX512_BF16's conversion instruction (one instruction for
// to_bf16()'s five; same rounding, to nearest even).
DINOCLIP_AVX512_BF16 void softmax_row_bf16_native(float* x, int64_t cols, uint16_t* out) {
  const __m512 scale = exponentiate_row<4>(x, cols);
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = tail_mask(cols - j);
    const __m256i bf16 = (__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), scale));
    _mm256_mask_storeu_epi16(out + j, m, bf16);
  }
}

bool cpu_has_bf16_conversion() {
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
}

// x * Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2. With z = |x| / sqrt 2,
// A&S 7.1.26 gives erfc(z) = q(t) exp(-z^2), t = 1 / (1 + p z); then
// 2 Phi(x) = erfc(z) for x < 0 and 2 - erfc(z) otherwise: no cancellation.
DINOCLIP_AVX512 inline __m512 gelu(__m512 x) {
  const __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678f));
  const __m512 t =
      _mm512_div_ps(_mm512_set1_ps(1.f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.f)));
  __m512 q = _mm512_set1_ps(1.061405429f);
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-1.453152027f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(1.421413741f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-0.284496736f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(0.254829592f));
  q = _mm512_mul_ps(q, t);
  const __m512 erfc = _mm512_mul_ps(q, exp_nonpositive(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), z), z)));
  const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 twice_phi = _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(2.f), erfc), erfc);
  return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), twice_phi);
}

DINOCLIP_AVX512 void gelu_range(const float* x, int64_t begin, int64_t end, float* out_f32, uint16_t* out_bf16) {
  for (int64_t j = begin; j < end; j += 16) {
    const __mmask16 m = tail_mask(end - j);
    store(gelu(_mm512_maskz_loadu_ps(m, x + j)), m, out_f32, out_bf16, j);
  }
}

void require_support(const char* what) {
  if (!fast_vector_math_supported()) {
    throw Error(std::string("cpu::") + what + " needs AVX-512 F/BW/VL (check fast_vector_math_supported())");
  }
}

}  // namespace

bool fast_vector_math_supported() {
  static const bool supported =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return supported;
}

void softmax_rows(float* scores, int64_t ld, int64_t rows, int64_t cols, float* out_f32, uint16_t* out_bf16,
                  int64_t ld_out) {
  require_support("softmax_rows");
  const bool native = cpu_has_bf16_conversion();
  for (int64_t i = 0; i < rows; ++i) {
    float* row = scores + i * ld;
    if (out_f32) {
      softmax_row_f32(row, cols, out_f32 + i * ld_out);
    } else if (native) {
      softmax_row_bf16_native(row, cols, out_bf16 + i * ld_out);
    } else {
      softmax_row_bf16(row, cols, out_bf16 + i * ld_out);
    }
  }
}

void gelu_erf(const float* x, int64_t count, float* out_f32, uint16_t* out_bf16) {
  require_support("gelu_erf");
  // Whole 64-byte lines (16 floats) per thread.
  const int64_t lines = (count + 15) / 16;
  split_over_threads(lines, 1024, [&](int64_t first, int64_t last) {
    gelu_range(x, first * 16, std::min(count, last * 16), out_f32, out_bf16);
  });
}

#else  // not x86-64: callers use oneDNN's kernels

bool fast_vector_math_supported() { return false; }

void softmax_rows(float*, int64_t, int64_t, int64_t, float*, uint16_t*, int64_t) {
  throw Error("cpu::softmax_rows is x86-64 AVX-512 only (check fast_vector_math_supported())");
}

void gelu_erf(const float*, int64_t, float*, uint16_t*) {
  throw Error("cpu::gelu_erf is x86-64 AVX-512 only (check fast_vector_math_supported())");
}

#endif

}  // namespace dinoclip::cpu
