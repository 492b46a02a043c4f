// Pillow-exact resampling. The weights must be computed with the same double
// operations in the same order as Pillow (src/libImaging/Resample.c,
// precompute_coeffs + normalize_coeffs_8bpc), or a weight can land one
// fixed-point unit away and flip a rounded pixel. The pixel passes are pure
// integer arithmetic, so their summation order is free (we vectorise it).
#include "vision/resample.h"

#include <ATen/Parallel.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "vision/color_convert.h"

// The weight formulas must not be fused into FMAs (e.g. under -march=native):
// Pillow is built for baseline x86-64 without them, and a fused result can
// differ in the last bit of a weight.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace dinoclip {
namespace {

// 8 bits of result plus 2 spare bits for the overshoot of negative lobes in 32-bit ints.
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr std::uint32_t kRoundingHalf = 1u << (kPrecisionBits - 1);

// The SIMD kernels split each 22-bit weight into high * 2^11 + low (see PairedWeights).
constexpr int kLowBits = 11;

// Multiply-adds per parallel chunk: below this, threads cost more than they save.
constexpr std::int64_t kMinTapsPerTask = 1 << 16;

double bilinear_weight(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic convolution with a = -0.5 (Pillow's choice; PyTorch uses -0.75).
double bicubic_weight(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

struct FilterKernel {
  double (*weight)(double);
  double support;  // half-width at scale 1
};

FilterKernel kernel_for(ResampleFilter filter) {
  return filter == ResampleFilter::kBicubic ? FilterKernel{bicubic_weight, 2.0} : FilterKernel{bilinear_weight, 1.0};
}

std::int32_t to_fixed_point(double weight) {
  const double scaled = weight * (1 << kPrecisionBits);
  return static_cast<std::int32_t>(weight < 0 ? -0.5 + scaled : 0.5 + scaled);
}

// Pillow's clip8: the accumulator is a signed 32-bit sum; wrap-around in the
// unsigned accumulator is harmless because the true sum fits in an int32.
inline std::uint8_t clip8(std::uint32_t accumulator) {
  const std::int32_t value = static_cast<std::int32_t>(accumulator) >> kPrecisionBits;
  return static_cast<std::uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}

void check_size(int width, int height, const char* what) {
  if (width <= 0 || height <= 0 || width > (1 << 16) || height > (1 << 16)) {
    throw Error(std::string("resize: ") + what + " size " + std::to_string(width) + "x" + std::to_string(height) +
                " is invalid (each side must be 1..65536)");
  }
}

// Parallel over [0, rows) when the work is large enough to pay for threads.
template <typename Body>
void for_each_row_chunk(int rows, std::int64_t taps_per_row, const Body& body) {
  const std::int64_t grain = std::max<std::int64_t>(1, kMinTapsPerTask / std::max<std::int64_t>(1, taps_per_row));
  at::parallel_for(0, rows, grain, [&](std::int64_t begin, std::int64_t end) { body(int(begin), int(end)); });
}

// One output row of the horizontal pass, read straight from the source
// layout (no RGB copy first). Plain C++: the reference for the SIMD version.
template <int kBpp>
void horizontal_row_scalar(const std::uint8_t* in, const RgbLayout& layout, const ResampleTaps& taps, int out_width,
                           std::uint8_t* dst) {
  const int ksize = taps.taps_per_output;
  for (int xx = 0; xx < out_width; ++xx) {
    const std::int32_t* k = &taps.weights[std::size_t(xx) * ksize];
    const std::uint8_t* p = in + std::ptrdiff_t(taps.first[xx]) * kBpp;
    std::uint32_t sr = kRoundingHalf, sg = kRoundingHalf, sb = kRoundingHalf;
    for (int t = 0, n = taps.count[xx]; t < n; ++t, p += kBpp) {
      const std::uint32_t w = static_cast<std::uint32_t>(k[t]);
      sr += p[layout.r] * w;
      sg += p[layout.g] * w;
      sb += p[layout.b] * w;
    }
    dst[3 * xx + 0] = clip8(sr);
    dst[3 * xx + 1] = clip8(sg);
    dst[3 * xx + 2] = clip8(sb);
  }
}

// The weights split for 16-bit multiply-adds: w = high * 2^11 + low with low
// in [0, 2047], so pixel * part fits int16 x int16 -> int32 (SSE2 pmaddwd) and
// high * 2^11 + low, summed in wrapping int32, is exactly Pillow's sum.
// Taps go in pairs (t, t+1); an odd count gets a zero-weight partner.
struct PairedWeights {
  int pairs_per_output = 0;
  int last_pair_start = 0;          // largest pixel index a pair load starts at (it reads 8 bytes from there)
  std::vector<std::int16_t> lanes;  // per output, per pair: 8 x low (w_t, w_t+1, ...), then 8 x high
};

PairedWeights pair_weights(const ResampleTaps& taps) {
  PairedWeights paired;
  paired.pairs_per_output = (taps.taps_per_output + 1) / 2;
  const int outputs = int(taps.first.size());
  paired.lanes.assign(std::size_t(outputs) * paired.pairs_per_output * 16, 0);
  for (int xx = 0; xx < outputs; ++xx) {
    const std::int32_t* k = &taps.weights[std::size_t(xx) * taps.taps_per_output];
    std::int16_t* lanes = &paired.lanes[std::size_t(xx) * paired.pairs_per_output * 16];
    for (int t = 0; t < taps.count[xx]; ++t) {
      const std::int16_t low = std::int16_t(k[t] & ((1 << kLowBits) - 1));
      const std::int16_t high = std::int16_t(k[t] >> kLowBits);  // arithmetic: keeps the sign
      std::int16_t* pair = lanes + (t / 2) * 16;
      for (int lane = t % 2; lane < 8; lane += 2) {
        pair[lane] = low;
        pair[8 + lane] = high;
      }
    }
    const int pairs = (taps.count[xx] + 1) / 2;
    paired.last_pair_start = std::max(paired.last_pair_start, taps.first[xx] + 2 * (pairs - 1));
  }
  return paired;
}

#if defined(__SSE2__)
// SSE2 version of horizontal_row_scalar for 3- and 4-byte pixels: one 8-byte
// load covers taps t and t+1, interleaved to (c_t, c_t+1) int16 pairs so that
// pmaddwd gives c_t * w_t + c_t+1 * w_t+1 for every channel at once. Reads up
// to last_pair_start * kBpp + 8 bytes from `in` (the caller guarantees that).
template <int kBpp>
void horizontal_row_sse2(const std::uint8_t* in, const RgbLayout& layout, const ResampleTaps& taps,
                         const PairedWeights& paired, int out_width, std::uint8_t* dst) {
  static_assert(kBpp == 3 || kBpp == 4, "pairs of 3- or 4-byte pixels fit one 8-byte load");
  const __m128i zero = _mm_setzero_si128();
  const __m128i half = _mm_set1_epi32(std::int32_t(kRoundingHalf));
  for (int xx = 0; xx < out_width; ++xx) {
    const std::uint8_t* p = in + std::ptrdiff_t(taps.first[xx]) * kBpp;
    const std::int16_t* lanes = &paired.lanes[std::size_t(xx) * paired.pairs_per_output * 16];
    __m128i low_sum = zero, high_sum = zero;
    for (int j = 0, pairs = (taps.count[xx] + 1) / 2; j < pairs; ++j, p += 2 * kBpp, lanes += 16) {
      const __m128i words = _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), zero);
      // words = c0 c1 c2 [c3] of pixel t, then pixel t+1; pair channel c of both pixels.
      const __m128i pair = _mm_unpacklo_epi16(words, _mm_srli_si128(words, 2 * kBpp));
      low_sum = _mm_add_epi32(low_sum, _mm_madd_epi16(pair, _mm_loadu_si128(reinterpret_cast<const __m128i*>(lanes))));
      high_sum =
          _mm_add_epi32(high_sum, _mm_madd_epi16(pair, _mm_loadu_si128(reinterpret_cast<const __m128i*>(lanes + 8))));
    }
    __m128i sum = _mm_add_epi32(_mm_add_epi32(_mm_slli_epi32(high_sum, kLowBits), low_sum), half);
    sum = _mm_srai_epi32(sum, kPrecisionBits);
    // Saturating packs clamp to 0..255 exactly as clip8.
    const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(sum, zero), zero);
    std::uint8_t channel[16];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(channel), bytes);
    dst[3 * xx + 0] = channel[layout.r];
    dst[3 * xx + 1] = channel[layout.g];
    dst[3 * xx + 2] = channel[layout.b];
  }
}
#endif

// Horizontal pass over every row of `rows` (any packed layout) -> `out` (RGB).
void horizontal_pass(const ImageView& rows, const ResampleTaps& taps, Image& out) {
  const RgbLayout layout = rgb_layout(rows.format);
  const int bpp = layout.bytes_per_pixel;
#if defined(__SSE2__)
  if (bpp == 3 || bpp == 4) {
    const PairedWeights paired = pair_weights(taps);  // microseconds: cheaper than caching per size
    // The paired loads may run past the row's last pixel: fine inside the
    // frame, but a row too close to its end goes through a padded copy.
    const std::size_t reach_bytes = std::size_t(paired.last_pair_start) * bpp + 8;
    const std::uint8_t* frame_end =
        rows.data + std::ptrdiff_t(rows.height - 1) * rows.stride + std::ptrdiff_t(rows.width) * bpp;
    for_each_row_chunk(out.height, std::int64_t(out.width) * taps.taps_per_output * 3, [&](int begin, int end) {
      std::vector<std::uint8_t> padded;
      for (int yy = begin; yy < end; ++yy) {
        const std::uint8_t* in = rows.data + std::ptrdiff_t(yy) * rows.stride;
        if (in + reach_bytes > frame_end) {
          padded.assign(std::max(reach_bytes, std::size_t(rows.width) * bpp), 0);
          std::copy_n(in, std::size_t(rows.width) * bpp, padded.data());
          in = padded.data();
        }
        if (bpp == 3) {
          horizontal_row_sse2<3>(in, layout, taps, paired, out.width, out.row(yy));
        } else {
          horizontal_row_sse2<4>(in, layout, taps, paired, out.width, out.row(yy));
        }
      }
    });
    return;
  }
#endif
  for_each_row_chunk(out.height, std::int64_t(out.width) * taps.taps_per_output * 3, [&](int begin, int end) {
    for (int yy = begin; yy < end; ++yy) {
      const std::uint8_t* in = rows.data + std::ptrdiff_t(yy) * rows.stride;
      switch (bpp) {
        case 1:
          horizontal_row_scalar<1>(in, layout, taps, out.width, out.row(yy));
          break;
        case 3:
          horizontal_row_scalar<3>(in, layout, taps, out.width, out.row(yy));
          break;
        default:
          horizontal_row_scalar<4>(in, layout, taps, out.width, out.row(yy));
          break;
      }
    }
  });
}

// Adds rows a and b of one vertical tap pair, weighted k_a and k_b, into acc
// (row_bytes wide). b may equal a with k_b = 0 for an odd tap count.
void accumulate_row_pair(const std::uint8_t* a, const std::uint8_t* b, std::int32_t k_a, std::int32_t k_b,
                         std::size_t row_bytes, std::uint32_t* acc) {
  std::size_t i = 0;
#if defined(__SSE2__)
  // Same 11-bit split as PairedWeights: (a, b) byte pairs against (w_a, w_b) int16 pairs.
  const auto pack_pair = [](std::int32_t wa, std::int32_t wb) {
    return _mm_set1_epi32(std::int32_t(std::uint32_t(std::uint16_t(wa)) | (std::uint32_t(std::uint16_t(wb)) << 16)));
  };
  const std::int32_t mask = (1 << kLowBits) - 1;
  const __m128i low = pack_pair(k_a & mask, k_b & mask);
  const __m128i high = pack_pair(k_a >> kLowBits, k_b >> kLowBits);
  const __m128i zero = _mm_setzero_si128();
  const auto add_madd = [&](std::uint32_t* at, __m128i pairs) {
    __m128i* slot = reinterpret_cast<__m128i*>(at);
    const __m128i sum =
        _mm_add_epi32(_mm_slli_epi32(_mm_madd_epi16(pairs, high), kLowBits), _mm_madd_epi16(pairs, low));
    _mm_storeu_si128(slot, _mm_add_epi32(_mm_loadu_si128(slot), sum));
  };
  for (; i + 16 <= row_bytes; i += 16) {
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    const __m128i lo = _mm_unpacklo_epi8(va, vb);  // a0 b0 a1 b1 ... a7 b7
    const __m128i hi = _mm_unpackhi_epi8(va, vb);
    add_madd(acc + i, _mm_unpacklo_epi8(lo, zero));
    add_madd(acc + i + 4, _mm_unpackhi_epi8(lo, zero));
    add_madd(acc + i + 8, _mm_unpacklo_epi8(hi, zero));
    add_madd(acc + i + 12, _mm_unpackhi_epi8(hi, zero));
  }
#endif
  const std::uint32_t wa = std::uint32_t(k_a), wb = std::uint32_t(k_b);
  for (; i < row_bytes; ++i) acc[i] += a[i] * wa + b[i] * wb;
}

void clip_row(const std::uint32_t* acc, std::size_t row_bytes, std::uint8_t* dst) {
  std::size_t i = 0;
#if defined(__SSE2__)
  const auto shifted = [&](std::size_t at) {
    return _mm_srai_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(acc + at)), kPrecisionBits);
  };
  for (; i + 16 <= row_bytes; i += 16) {
    const __m128i words_lo = _mm_packs_epi32(shifted(i), shifted(i + 4));
    const __m128i words_hi = _mm_packs_epi32(shifted(i + 8), shifted(i + 12));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_packus_epi16(words_lo, words_hi));
  }
#endif
  for (; i < row_bytes; ++i) dst[i] = clip8(acc[i]);
}

// Vertical pass over packed RGB rows; `row0` is the first row `in` holds.
// Whole rows at a time so the inner loop is a contiguous multiply-add.
void vertical_pass(const Image& in, int row0, const ResampleTaps& taps, Image& out) {
  const int ksize = taps.taps_per_output;
  const std::size_t row_bytes = std::size_t(out.width) * 3;
  for_each_row_chunk(out.height, std::int64_t(row_bytes) * ksize, [&](int begin, int end) {
    std::vector<std::uint32_t> acc(row_bytes);
    for (int yy = begin; yy < end; ++yy) {
      std::fill(acc.begin(), acc.end(), kRoundingHalf);
      const std::int32_t* k = &taps.weights[std::size_t(yy) * ksize];
      const int first = taps.first[yy] - row0, count = taps.count[yy];
      for (int t = 0; t < count; t += 2) {
        const bool has_pair = t + 1 < count;
        accumulate_row_pair(in.row(first + t), in.row(first + (has_pair ? t + 1 : t)), k[t], has_pair ? k[t + 1] : 0,
                            row_bytes, acc.data());
      }
      clip_row(acc.data(), row_bytes, out.row(yy));
    }
  });
}

ImageView rows_of(const ImageView& view, int first, int count) {
  ImageView rows = view;
  rows.data = view.data + std::ptrdiff_t(first) * view.stride;
  rows.height = count;
  return rows;
}

}  // namespace

ResampleTaps compute_resample_taps(int in_size, int out_size, ResampleFilter filter) {
  if (in_size <= 0 || out_size <= 0) {
    throw Error("resize: sizes must be positive (got " + std::to_string(in_size) + " -> " + std::to_string(out_size) +
                ")");
  }
  const FilterKernel kernel = kernel_for(filter);
  // Pillow passes the box as floats; (float)in_size is exact for any real size.
  const double scale = double(float(in_size)) / out_size;
  const double filterscale = std::max(scale, 1.0);  // widen the filter only when shrinking (antialias)
  const double support = kernel.support * filterscale;
  const double inv_filterscale = 1.0 / filterscale;

  ResampleTaps taps;
  taps.taps_per_output = int(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(std::size_t(out_size) * taps.taps_per_output, 0);
  std::vector<double> w(taps.taps_per_output);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const int xmin = std::max(0, int(center - support + 0.5));
    const int xmax = std::min(in_size, int(center + support + 0.5));
    const int count = xmax - xmin;
    double sum = 0.0;
    for (int x = 0; x < count; ++x) {
      w[x] = kernel.weight((x + xmin - center + 0.5) * inv_filterscale);
      sum += w[x];
    }
    std::int32_t* fixed = &taps.weights[std::size_t(xx) * taps.taps_per_output];
    for (int x = 0; x < count; ++x) fixed[x] = to_fixed_point(sum != 0.0 ? w[x] / sum : w[x]);
    taps.first[xx] = xmin;
    taps.count[xx] = count;
  }
  return taps;
}

Resampler::Resampler(int in_width, int in_height, int out_width, int out_height, ResampleFilter filter)
    : in_width_(in_width), in_height_(in_height), out_width_(out_width), out_height_(out_height) {
  check_size(in_width, in_height, "input");
  check_size(out_width, out_height, "output");
  horizontal_ = compute_resample_taps(in_width, out_width, filter);
  vertical_ = compute_resample_taps(in_height, out_height, filter);
}

Image Resampler::run(const ImageView& src) const {
  if (src.width != in_width_ || src.height != in_height_) {
    throw Error("resize: image is " + std::to_string(src.width) + "x" + std::to_string(src.height) +
                " but the resampler was built for " + std::to_string(in_width_) + "x" + std::to_string(in_height_));
  }
  if (src.data == nullptr || src.stride < std::ptrdiff_t(src.width) * bytes_per_pixel(src.format)) {
    throw Error("resize: image view has no pixels or a row stride smaller than width * bytes per pixel");
  }
  // Only source rows the vertical pass reads go through the horizontal pass.
  const int row_first = vertical_.first.front();
  const int row_last = vertical_.first.back() + vertical_.count.back();
  const ImageView used_rows = rows_of(src, row_first, row_last - row_first);

  Image horizontal;
  if (out_width_ != in_width_) {
    horizontal = Image(out_width_, used_rows.height, 3);
    horizontal_pass(used_rows, horizontal_, horizontal);
  } else {
    horizontal = to_rgb(used_rows);  // Pillow skips the pass; the identity weights would agree anyway
  }
  if (out_height_ == in_height_) return horizontal;
  Image out(out_width_, out_height_, 3);
  vertical_pass(horizontal, row_first, vertical_, out);
  return out;
}

Image resize(const ImageView& src, int out_w, int out_h, ResampleFilter filter) {
  check_size(src.width, src.height, "input");
  return Resampler(src.width, src.height, out_w, out_h, filter).run(src);
}

Size2D shorter_side_size(int width, int height, int shorter) {
  if (width <= 0 || height <= 0 || shorter <= 0) {
    throw Error("resize: shorter side " + std::to_string(shorter) + " of a " + std::to_string(width) + "x" +
                std::to_string(height) + " image: all sizes must be positive");
  }
  // Python's int(shorter * long / short): exact integer product, one correctly rounded division, truncation.
  const auto longer_for = [shorter](int longer, int shorter_in) {
    return int(double(std::int64_t(shorter) * longer) / shorter_in);
  };
  if (width <= height) return {shorter, longer_for(height, width)};
  return {longer_for(width, height), shorter};
}

namespace {

// Python's int(round(d / 2)) for an integer d >= 0: halves go to the even neighbour.
int half_to_even_half(int d) {
  const int floor_half = d / 2;
  if (d % 2 == 0) return floor_half;
  return floor_half % 2 == 0 ? floor_half : floor_half + 1;
}

}  // namespace

Image center_crop(const Image& image, int width, int height) {
  if (width <= 0 || height <= 0 || width > image.width || height > image.height) {
    throw Error("center_crop: crop " + std::to_string(width) + "x" + std::to_string(height) + " does not fit in a " +
                std::to_string(image.width) + "x" + std::to_string(image.height) +
                " image (resize first so both sides are at least the crop)");
  }
  const int left = half_to_even_half(image.width - width);
  const int top = half_to_even_half(image.height - height);
  Image out(width, height, image.channels);
  const std::size_t row_bytes = std::size_t(width) * image.channels;
  for (int y = 0; y < height; ++y) {
    std::copy_n(image.row(top + y) + std::size_t(left) * image.channels, row_bytes, out.row(y));
  }
  return out;
}

}  // namespace dinoclip
