#include "vision/color_convert.h"

#include <ATen/Parallel.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"

namespace dinoclip {

RgbLayout rgb_layout(PixelFormat format) {
  switch (format) {
    case PixelFormat::kRGB:
      return {3, 0, 1, 2};
    case PixelFormat::kBGR:
      return {3, 2, 1, 0};
    case PixelFormat::kRGBA:
    case PixelFormat::kRGBx:
      return {4, 0, 1, 2};
    case PixelFormat::kBGRA:
    case PixelFormat::kBGRx:
      return {4, 2, 1, 0};
    case PixelFormat::kGray:
      return {1, 0, 0, 0};
  }
  throw Error("unknown pixel format " + std::to_string(int(format)));
}

namespace {

template <int kBpp>
void repack_rows(const ImageView& view, const RgbLayout& layout, Image& out) {
  for (int y = 0; y < view.height; ++y) {
    const std::uint8_t* in = view.data + std::ptrdiff_t(y) * view.stride;
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < view.width; ++x, in += kBpp, dst += 3) {
      dst[0] = in[layout.r];
      dst[1] = in[layout.g];
      dst[2] = in[layout.b];
    }
  }
}

}  // namespace

Image to_rgb(const ImageView& view) {
  check_image_view(view, "to_rgb");
  Image out(view.width, view.height, 3);
  if (view.format == PixelFormat::kRGB) {
    for (int y = 0; y < view.height; ++y) {
      std::memcpy(out.row(y), view.data + std::ptrdiff_t(y) * view.stride, std::size_t(view.width) * 3);
    }
    return out;
  }
  const RgbLayout layout = rgb_layout(view.format);
  switch (layout.bytes_per_pixel) {
    case 1:
      repack_rows<1>(view, layout, out);
      break;
    case 3:
      repack_rows<3>(view, layout, out);
      break;
    default:
      repack_rows<4>(view, layout, out);
      break;
  }
  return out;
}

YuvGains yuv_gains(YuvMatrix matrix, bool full_range, YuvConversion conversion) {
  const YuvEncoding encoding = yuv_encoding(matrix, full_range);
  const double kr = encoding.kr, kg = encoding.kg, kb = encoding.kb;
  // Limited ("TV") range: Y 16..235 (219 steps), chroma 128 +- 112 (224 steps).
  const double y_gain = full_range ? 1.0 : 255.0 / 219.0;
  const double c_gain = full_range ? 1.0 : 255.0 / 224.0;
  const double gains[5] = {y_gain, 2.0 * (1.0 - kr) * c_gain, -2.0 * kb * (1.0 - kb) / kg * c_gain,
                           -2.0 * kr * (1.0 - kr) / kg * c_gain, 2.0 * (1.0 - kb) * c_gain};
  const double scale = conversion == YuvConversion::kGStreamer ? 256.0 : double(1 << kYuvStandardBits);
  std::int16_t k[5];
  for (int i = 0; i < 5; ++i) k[i] = std::int16_t(std::lrint(gains[i] * scale));
  return {k[0], k[1], k[2], k[3], k[4], std::int16_t(full_range ? 0 : 16)};
}

namespace {

// Integer coefficients of one conversion. Both kinds compute, per channel,
// a sum of per-sample terms; the SIMD body and the scalar tail use the same
// integer arithmetic, so every pixel is converted identically.
struct YuvKernel {
  YuvConversion conversion;
  std::int16_t y, r_v, g_u, g_v, b_u;
  std::int16_t y_offset;
};

constexpr int kStandardBits = kYuvStandardBits;

YuvKernel yuv_kernel(YuvMatrix matrix, bool full_range, YuvConversion conversion) {
  const YuvGains g = yuv_gains(matrix, full_range, conversion);
  return {conversion, g.y, g.r_v, g.g_u, g.g_v, g.b_u, g.y_offset};
}

inline std::uint8_t clamp_u8(int value) { return std::uint8_t(value < 0 ? 0 : (value > 255 ? 255 : value)); }

// GStreamer's 8-bit path (video_orc_convert_I420_ARGB): each sample is centred
// on 128, "splatted" to 16 bits ((s << 8) | (s & 0xff), about s * 257) and
// multiplied keeping the high 16 bits; the terms are summed, clamped to
// -128..127 and shifted back by 128. The luma range offset never enters,
// which is where its limited-range bias comes from.
inline int gst_term(int sample, int coefficient) {
  const int centred = sample - 128;
  return ((centred * 256 + (centred & 0xff)) * coefficient) >> 16;  // floor, as pmulhw
}

void yuv_pixel_scalar(int y, int u, int v, const YuvKernel& k, std::uint8_t* out) {
  if (k.conversion == YuvConversion::kGStreamer) {
    const int luma = gst_term(y, k.y) + 128;
    out[0] = clamp_u8(luma + gst_term(v, k.r_v));
    out[1] = clamp_u8(luma + gst_term(u, k.g_u) + gst_term(v, k.g_v));
    out[2] = clamp_u8(luma + gst_term(u, k.b_u));
    return;
  }
  const int luma = k.y * (y - k.y_offset) + (1 << (kStandardBits - 1));
  const int cb = u - 128, cr = v - 128;
  out[0] = clamp_u8((luma + k.r_v * cr) >> kStandardBits);
  out[1] = clamp_u8((luma + k.g_u * cb + k.g_v * cr) >> kStandardBits);
  out[2] = clamp_u8((luma + k.b_u * cb) >> kStandardBits);
}

#if defined(__SSE2__)
// Eight pixels' channels (int16, any range) -> 24 interleaved RGB bytes at dst.
// Writes 4 bytes per pixel, the 4th overwritten by the next pixel, so dst must
// have one spare byte after the 24 (the caller keeps the last pixels scalar).
inline void store_rgb8(__m128i r, __m128i g, __m128i b, std::uint8_t* dst) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i r8 = _mm_packus_epi16(r, zero), g8 = _mm_packus_epi16(g, zero), b8 = _mm_packus_epi16(b, zero);
  const __m128i rg = _mm_unpacklo_epi8(r8, g8);  // r0 g0 r1 g1 ...
  const __m128i b0 = _mm_unpacklo_epi8(b8, zero);
  __m128i quads[2] = {_mm_unpacklo_epi16(rg, b0), _mm_unpackhi_epi16(rg, b0)};  // r g b 0 per pixel
  for (int half = 0; half < 2; ++half) {
    for (int i = 0; i < 4; ++i) {
      const std::int32_t pixel = _mm_cvtsi128_si32(quads[half]);
      std::memcpy(dst + 3 * (4 * half + i), &pixel, 4);
      quads[half] = _mm_srli_si128(quads[half], 4);
    }
  }
}

inline __m128i gst_terms(__m128i centred_bytes, std::int16_t coefficient) {
  // splatbw: each byte b becomes the word (b << 8) | b; pmulhw keeps the high half.
  return _mm_mulhi_epi16(_mm_unpacklo_epi8(centred_bytes, centred_bytes), _mm_set1_epi16(coefficient));
}

void yuv_eight_gstreamer(const std::uint8_t* y, const std::uint8_t* u, const std::uint8_t* v, const YuvKernel& k,
                         std::uint8_t* dst) {
  const __m128i flip = _mm_set1_epi8(char(0x80));  // x - 128 as a signed byte
  const auto centred = [&](const std::uint8_t* p) {
    return _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), flip);
  };
  const __m128i yc = centred(y), uc = centred(u), vc = centred(v);
  const __m128i luma = _mm_add_epi16(gst_terms(yc, k.y), _mm_set1_epi16(128));
  const __m128i r = _mm_add_epi16(luma, gst_terms(vc, k.r_v));
  const __m128i g = _mm_add_epi16(_mm_add_epi16(luma, gst_terms(uc, k.g_u)), gst_terms(vc, k.g_v));
  const __m128i b = _mm_add_epi16(luma, gst_terms(uc, k.b_u));
  store_rgb8(r, g, b, dst);
}

void yuv_eight_standard(const std::uint8_t* y, const std::uint8_t* u, const std::uint8_t* v, const YuvKernel& k,
                        std::uint8_t* dst) {
  const __m128i zero = _mm_setzero_si128();
  const auto words = [&](const std::uint8_t* p, int offset) {
    return _mm_sub_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), zero),
                         _mm_set1_epi16(std::int16_t(offset)));
  };
  const __m128i yc = words(y, k.y_offset), cb = words(u, 128), cr = words(v, 128);
  const __m128i rounding = _mm_set1_epi32(1 << (kStandardBits - 1));
  struct Sums {
    __m128i low, high;  // pixels 0-3 and 4-7, int32
  };
  // (a, b) word pairs times (ka, kb) pairs: pmaddwd gives a * ka + b * kb exactly, 4 pixels at a time.
  const auto pair_sum = [&](__m128i a, __m128i b, std::int16_t ka, std::int16_t kb) {
    const __m128i coefficients =
        _mm_set1_epi32(std::int32_t(std::uint32_t(std::uint16_t(ka)) | (std::uint32_t(std::uint16_t(kb)) << 16)));
    return Sums{_mm_madd_epi16(_mm_unpacklo_epi16(a, b), coefficients),
                _mm_madd_epi16(_mm_unpackhi_epi16(a, b), coefficients)};
  };
  const auto to_words = [&](const Sums& sums) {
    return _mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(sums.low, rounding), kStandardBits),
                           _mm_srai_epi32(_mm_add_epi32(sums.high, rounding), kStandardBits));
  };
  const auto r = pair_sum(yc, cr, k.y, k.r_v);
  const auto b = pair_sum(yc, cb, k.y, k.b_u);
  auto g = pair_sum(yc, cb, k.y, k.g_u);
  const auto g_v = pair_sum(cr, zero, k.g_v, 0);
  g.low = _mm_add_epi32(g.low, g_v.low);
  g.high = _mm_add_epi32(g.high, g_v.high);
  store_rgb8(to_words(r), to_words(g), to_words(b), dst);
}
#endif

// One output row from a luma row and chroma rows already upsampled to full width.
void yuv_row_to_rgb(const std::uint8_t* y, const std::uint8_t* u, const std::uint8_t* v, int width, const YuvKernel& k,
                    std::uint8_t* out) {
  int x = 0;
#if defined(__SSE2__)
  // Stop 8 pixels early: store_rgb8 writes one byte past its 24.
  for (; x + 9 <= width; x += 8) {
    if (k.conversion == YuvConversion::kGStreamer) {
      yuv_eight_gstreamer(y + x, u + x, v + x, k, out + 3 * x);
    } else {
      yuv_eight_standard(y + x, u + x, v + x, k, out + 3 * x);
    }
  }
#endif
  for (; x < width; ++x) yuv_pixel_scalar(y[x], u[x], v[x], k, out + 3 * x);
}

struct ChromaPlane {
  const std::uint8_t* data;
  int stride;
  int step;  // bytes between samples: 1 planar, 2 for NV12's interleaved pairs
};

// Nearest-neighbour 2x horizontal chroma upsampling of one chroma row.
void upsample_chroma_row(const std::uint8_t* chroma, int step, int width, std::uint8_t* out) {
  int x = 0;
#if defined(__SSE2__)
  if (step == 1) {
    for (; x + 32 <= width; x += 32) {  // 16 samples -> 32 pixels
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(chroma + x / 2));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + x), _mm_unpacklo_epi8(c, c));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + x + 16), _mm_unpackhi_epi8(c, c));
    }
  }
#endif
  for (; x < width; ++x) out[x] = chroma[(x >> 1) * step];
}

void check_planes(const std::uint8_t* y, int y_stride, const std::uint8_t* u, const std::uint8_t* v, int chroma_stride,
                  int chroma_min_stride, int width, int height, const char* who) {
  if (width <= 0 || height <= 0 || y == nullptr || u == nullptr || v == nullptr) {
    throw Error(std::string(who) + ": empty frame or missing plane (" + std::to_string(width) + "x" +
                std::to_string(height) + ")");
  }
  if (y_stride < width || chroma_stride < chroma_min_stride) {
    throw Error(std::string(who) + ": plane stride too small for width " + std::to_string(width) + " (luma " +
                std::to_string(y_stride) + ", chroma " + std::to_string(chroma_stride) + "; need at least " +
                std::to_string(width) + " and " + std::to_string(chroma_min_stride) + ")");
  }
}

Image yuv420_to_rgb(const std::uint8_t* y, int y_stride, const ChromaPlane& u, const ChromaPlane& v, int width,
                    int height, const YuvKernel& kernel) {
  Image out(width, height, 3);
  const int row_pairs = (height + 1) / 2;
  // Row pairs share a chroma row; chunks of them run in parallel on large frames.
  const std::int64_t grain = std::max<std::int64_t>(1, (1 << 17) / std::max(1, 2 * width));
  at::parallel_for(0, row_pairs, grain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::uint8_t> u_row(width), v_row(width);
    for (std::int64_t pair = begin; pair < end; ++pair) {
      upsample_chroma_row(u.data + std::ptrdiff_t(pair) * u.stride, u.step, width, u_row.data());
      upsample_chroma_row(v.data + std::ptrdiff_t(pair) * v.stride, v.step, width, v_row.data());
      for (int row = int(2 * pair); row < std::min(height, int(2 * pair + 2)); ++row) {
        yuv_row_to_rgb(y + std::ptrdiff_t(row) * y_stride, u_row.data(), v_row.data(), width, kernel, out.row(row));
      }
    }
  });
  return out;
}

}  // namespace

Image i420_to_rgb(const std::uint8_t* y, int y_stride, const std::uint8_t* u, int u_stride, const std::uint8_t* v,
                  int v_stride, int width, int height, YuvMatrix matrix, bool full_range, YuvConversion conversion) {
  const int chroma_width = (width + 1) / 2;
  check_planes(y, y_stride, u, v, std::min(u_stride, v_stride), chroma_width, width, height, "i420_to_rgb");
  return yuv420_to_rgb(y, y_stride, {u, u_stride, 1}, {v, v_stride, 1}, width, height,
                       yuv_kernel(matrix, full_range, conversion));
}

Image nv12_to_rgb(const std::uint8_t* y, int y_stride, const std::uint8_t* uv, int uv_stride, int width, int height,
                  YuvMatrix matrix, bool full_range, YuvConversion conversion) {
  const int chroma_bytes = 2 * ((width + 1) / 2);
  check_planes(y, y_stride, uv, uv, uv_stride, chroma_bytes, width, height, "nv12_to_rgb");
  return yuv420_to_rgb(y, y_stride, {uv, uv_stride, 2}, {uv + 1, uv_stride, 2}, width, height,
                       yuv_kernel(matrix, full_range, conversion));
}

}  // namespace dinoclip

namespace dinoclip {

YuvEncoding yuv_encoding(YuvMatrix matrix, bool full_range) {
  // Luma weights of ITU-R BT.601 / BT.709.
  const double kr = matrix == YuvMatrix::kBt709 ? 0.2126 : 0.299;
  const double kb = matrix == YuvMatrix::kBt709 ? 0.0722 : 0.114;
  return {kr, 1.0 - kr - kb, kb, full_range ? 255.0 : 219.0, full_range ? 0.0 : 16.0, full_range ? 255.0 : 224.0};
}

namespace {

std::uint8_t clamp_byte(double v) { return std::uint8_t(std::clamp(std::lround(v), 0L, 255L)); }

// Calls emit(x2, y2, u, v) for every 2x2 chroma block; writes luma directly.
template <typename EmitChroma>
void rgb_to_yuv420(const Image& rgb, std::uint8_t* y_plane, int y_stride, YuvMatrix matrix, bool full_range,
                   EmitChroma&& emit) {
  if (rgb.channels != 3) throw Error("rgb_to_yuv: expected an RGB picture");
  const YuvEncoding encoding = yuv_encoding(matrix, full_range);
  for (int y = 0; y < rgb.height; ++y) {
    for (int x = 0; x < rgb.width; ++x) {
      const double r = rgb.at(x, y, 0) / 255.0, g = rgb.at(x, y, 1) / 255.0, b = rgb.at(x, y, 2) / 255.0;
      y_plane[y * y_stride + x] = clamp_byte(encoding.luma(r, g, b));
    }
  }
  for (int y2 = 0; y2 < (rgb.height + 1) / 2; ++y2) {
    for (int x2 = 0; x2 < (rgb.width + 1) / 2; ++x2) {
      double r = 0, g = 0, b = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const int x = std::min(rgb.width - 1, 2 * x2 + dx), y = std::min(rgb.height - 1, 2 * y2 + dy);
          r += rgb.at(x, y, 0) / 1020.0, g += rgb.at(x, y, 1) / 1020.0, b += rgb.at(x, y, 2) / 1020.0;
        }
      emit(x2, y2, clamp_byte(encoding.cb(r, g, b)), clamp_byte(encoding.cr(r, g, b)));
    }
  }
}

}  // namespace

void rgb_to_i420(const Image& rgb, std::uint8_t* y, int y_stride, std::uint8_t* u, int u_stride, std::uint8_t* v,
                 int v_stride, YuvMatrix matrix, bool full_range) {
  rgb_to_yuv420(rgb, y, y_stride, matrix, full_range, [&](int x2, int y2, std::uint8_t cb, std::uint8_t cr) {
    u[y2 * u_stride + x2] = cb;
    v[y2 * v_stride + x2] = cr;
  });
}

void rgb_to_nv12(const Image& rgb, std::uint8_t* y, int y_stride, std::uint8_t* uv, int uv_stride,
                 YuvMatrix matrix, bool full_range) {
  rgb_to_yuv420(rgb, y, y_stride, matrix, full_range, [&](int x2, int y2, std::uint8_t cb, std::uint8_t cr) {
    uv[y2 * uv_stride + 2 * x2] = cb;
    uv[y2 * uv_stride + 2 * x2 + 1] = cr;
  });
}

}  // namespace dinoclip
