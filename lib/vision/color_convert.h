// Video frame layouts -> packed RGB8: planar/semi-planar YUV (I420, NV12) as
// decoders deliver them, and the packed 8-bit formats of core/image.h.
#pragma once

#include <cstdint>

#include "core/image.h"

namespace dinoclip {

// Where R, G and B sit inside one pixel of a packed format (grey: all three at 0).
struct RgbLayout {
  int bytes_per_pixel;
  int r, g, b;
};
RgbLayout rgb_layout(PixelFormat format);

// Tightly packed RGB copy of any packed format: alpha/padding dropped, grey
// replicated (what PIL's convert('RGB') does). Honours `view.stride`.
Image to_rgb(const ImageView& view);

enum class YuvMatrix { kBt601, kBt709 };

// How Y'CbCr becomes R'G'B':
//  kGStreamer: bit for bit what GStreamer's videoconvert (1.22, and the same
//    code in later releases) gives for I420 -> RGB: its 8-bit fast path works
//    around Y = 128 and drops the range offset, so limited-range pictures come
//    out slightly dark (Y 235 -> 253 instead of 255, mid grey 2-3 levels
//    low, saturated colours up to ~6 levels off the textbook value). Use it
//    so frames converted here match frames videoconvert converted.
//  kStandard: the ITU-R formula rounded to nearest (Y 16..235 -> 0..255),
//    as decoders outside GStreamer (OpenCV, swscale) compute it.
enum class YuvConversion { kGStreamer, kStandard };

// The integer gains both conversions apply, shared with other implementations
// of the same arithmetic (vision/frame_planes.h, on any device).
//  kGStreamer: gains x 256, rounded, applied as pmulhw to 16-bit "splatted"
//    samples ((s - 128) * 256 + ((s - 128) & 0xff)); y_offset unused.
//  kStandard: gains x 2^kYuvStandardBits, rounded, applied to (Y - y_offset)
//    and (chroma - 128).
constexpr int kYuvStandardBits = 13;  // 2.11 * 2^13 still fits int16; error < 0.03 levels
struct YuvGains {
  std::int16_t y, r_v, g_u, g_v, b_u;
  std::int16_t y_offset;
};
YuvGains yuv_gains(YuvMatrix matrix, bool full_range, YuvConversion conversion);

// 4:2:0 planar (I420; YV12 too: pass its planes in U, V order) -> RGB.
// Chroma planes are ceil(width/2) x ceil(height/2) and each chroma sample is
// used for its 2x2 block (nearest upsampling, as videoconvert's I420 path).
// full_range: Y and chroma use 0..255 (JPEG style); otherwise Y 16..235,
// chroma 16..240. Throws dinoclip::Error on missing planes or short strides.
Image i420_to_rgb(const std::uint8_t* y, int y_stride, const std::uint8_t* u, int u_stride, const std::uint8_t* v,
                  int v_stride, int width, int height, YuvMatrix matrix, bool full_range,
                  YuvConversion conversion = YuvConversion::kGStreamer);

// 4:2:0 semi-planar (NV12: one plane of interleaved U,V pairs) -> RGB, with
// the same arithmetic. videoconvert has no NV12 fast path: it interpolates
// chroma linearly, so results equal it in flat-chroma areas and differ
// only along sharp colour edges.
Image nv12_to_rgb(const std::uint8_t* y, int y_stride, const std::uint8_t* uv, int uv_stride, int width, int height,
                  YuvMatrix matrix, bool full_range, YuvConversion conversion = YuvConversion::kGStreamer);

}  // namespace dinoclip

namespace dinoclip {

// R'G'B' (each in [0, 1]) -> Y'CbCr levels with the matrix's textbook
// coefficients, limited or full range, before rounding: the expressions
// rgb_to_i420 / rgb_to_nv12 evaluate (chroma on a block's mean colour), so
// that drawings in Y'CbCr (vision/yuv_overlay_canvas.h) use the same numbers.
struct YuvEncoding {
  double kr, kg, kb;                  // luma weights of R, G, B
  double y_scale, y_offset, c_scale;  // 219, 16, 224 limited; 255, 0, 255 full
  double weighted(double r, double g, double b) const { return kr * r + kg * g + kb * b; }
  double luma(double r, double g, double b) const { return y_offset + y_scale * weighted(r, g, b); }
  double cb(double r, double g, double b) const { return 128.0 + c_scale * (b - weighted(r, g, b)) / (2.0 * (1.0 - kb)); }
  double cr(double r, double g, double b) const { return 128.0 + c_scale * (r - weighted(r, g, b)) / (2.0 * (1.0 - kr)); }
};
YuvEncoding yuv_encoding(YuvMatrix matrix, bool full_range);

// Packed RGB back to planar/semi-planar YUV (for drawing on YUV frames):
// yuv_encoding's values rounded to nearest, chroma that of the mean colour
// of each 2x2 block (odd sizes: the last row/column repeated).
void rgb_to_i420(const Image& rgb, std::uint8_t* y, int y_stride, std::uint8_t* u, int u_stride, std::uint8_t* v,
                 int v_stride, YuvMatrix matrix, bool full_range);
void rgb_to_nv12(const Image& rgb, std::uint8_t* y, int y_stride, std::uint8_t* uv, int uv_stride,
                 YuvMatrix matrix, bool full_range);

}  // namespace dinoclip
