#include "vision/row_blend.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dinoclip {
namespace {

// d = c - b in [-255, 255] goes up 7 bits to fill an int16 (|d| * 128 < 2^15);
// the high half of (d << 7) * weight is then d * a in 6-bit fixed point,
// floor-rounded, and (t + 32) >> 6 = floor(d * a + 1/2) (floors nest exactly).
constexpr int kDeltaShift = 7;
constexpr int kFractionBits = 15 + kDeltaShift - 16;  // bits below the point in the high half

bool is_colour_byte(const RgbLayout& layout, int byte) {
  const int k = byte % layout.bytes_per_pixel;
  return k == layout.r || k == layout.g || k == layout.b;
}

}  // namespace

std::uint32_t pack_layout_colour(const RgbLayout& layout, const std::uint8_t* rgb) {
  std::uint8_t bytes[4] = {0, 0, 0, 0};
  bytes[layout.r] = rgb[0];
  bytes[layout.g] = rgb[1];
  bytes[layout.b] = rgb[2];
  std::uint32_t packed;
  std::memcpy(&packed, bytes, 4);
  return packed;
}

RowBlender::RowBlender(float alpha, const RgbLayout& layout) : layout_(layout) {
  if (!(alpha > 0.0f)) alpha = 0.0f;  // also NaN
  opaque_ = alpha >= 1.0f;
  weight_ = std::int16_t(std::min(32767L, std::lround(double(alpha) * 32768.0)));
  for (int i = 0; i < 16; ++i) {
    const bool colour = is_colour_byte(layout, i);
    lanes_[i] = colour ? weight_ : 0;
    mask_[i] = colour ? 0xff : 0;
  }
}

std::uint8_t RowBlender::blend_byte(std::uint8_t base, std::uint8_t over) const {
  if (opaque_) return over;
  const int delta = (int(over) - int(base)) * (1 << kDeltaShift);
  const int high = (delta * weight_) >> 16;  // arithmetic shift: the floor, as pmulhw
  return std::uint8_t(base + ((high + (1 << (kFractionBits - 1))) >> kFractionBits));
}

void RowBlender::put_opaque(std::uint8_t* frame, int x, const std::uint8_t* rgb) const {
  std::uint8_t* p = frame + std::ptrdiff_t(x) * layout_.bytes_per_pixel;
  p[layout_.r] = rgb[0];
  p[layout_.g] = rgb[1];
  p[layout_.b] = rgb[2];
}

void RowBlender::blend(std::uint8_t* frame, const std::uint8_t* colour, int pixels) const {
  const int bpp = layout_.bytes_per_pixel;
  const std::size_t bytes = std::size_t(pixels) * bpp;
  std::size_t i = 0;
#if defined(__SSE2__)
  // 16 bytes are whole pixels for 4-byte layouts; 3-byte ones blend every byte.
  if (opaque_) {
    const __m128i mask = _mm_loadu_si128(reinterpret_cast<const __m128i*>(mask_));
    for (; i + 16 <= bytes; i += 16) {
      __m128i* at = reinterpret_cast<__m128i*>(frame + i);
      const __m128i b = _mm_loadu_si128(at);
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(colour + i));
      _mm_storeu_si128(at, _mm_or_si128(_mm_and_si128(mask, c), _mm_andnot_si128(mask, b)));
    }
  } else {
    const __m128i zero = _mm_setzero_si128();
    const __m128i half = _mm_set1_epi16(1 << (kFractionBits - 1));
    const __m128i w_lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lanes_));
    const __m128i w_hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lanes_ + 8));
    const auto half_blend = [&](__m128i b, __m128i c, __m128i w) {
      const __m128i delta = _mm_slli_epi16(_mm_sub_epi16(c, b), kDeltaShift);
      const __m128i step = _mm_srai_epi16(_mm_add_epi16(_mm_mulhi_epi16(delta, w), half), kFractionBits);
      return _mm_add_epi16(b, step);
    };
    for (; i + 16 <= bytes; i += 16) {
      __m128i* at = reinterpret_cast<__m128i*>(frame + i);
      const __m128i b = _mm_loadu_si128(at);
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(colour + i));
      const __m128i lo = half_blend(_mm_unpacklo_epi8(b, zero), _mm_unpacklo_epi8(c, zero), w_lo);
      const __m128i hi = half_blend(_mm_unpackhi_epi8(b, zero), _mm_unpackhi_epi8(c, zero), w_hi);
      _mm_storeu_si128(at, _mm_packus_epi16(lo, hi));
    }
  }
#endif
  for (; i < bytes; ++i) {
    if (is_colour_byte(layout_, int(i % bpp))) frame[i] = blend_byte(frame[i], colour[i]);
  }
}

}  // namespace dinoclip
