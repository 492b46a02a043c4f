// The fixed-point units overlay colours take in Y'CbCr, shared by the two
// drawings that must give the same bytes: YuvOverlayCanvas (host planes) and
// DeviceOverlay (planes as tensors on any device).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "vision/color_convert.h"

namespace dinoclip {

// Overlay chroma is kept in 1/64 level: four samples of at most 255.5 then sum
// below 2^16, so a pixel's Cb (low 16 bits) and Cr (high 16 bits) travel in
// one uint32 and a 2x2 block's sums in one addition.
constexpr int kChromaFraction = 6;
constexpr std::uint32_t kChromaMax = (1u << 16) / 4 - 1;

// A weight of one in the blend weights' units (RowBlender::weight).
constexpr int kOpaque = 32768;

// yuv_encoding as integer multiply-adds on bytes (x 2^16), for colours that
// vary per pixel: within 3 * 255 * 2^-17 (< 0.01) level of the doubles.
// Luma = (y0 + gains[0] . rgb) >> 16, capped at 255; chroma (Cb: row 1, Cr:
// row 2) = (c0 + gains[c] . rgb) >> kChromaShift in 1/64 level, capped at
// kChromaMax. Every partial sum stays below 2^24, so float32 holds it exactly.
struct FixedEncoding {
  static constexpr int kLumaShift = 16;
  static constexpr int kChromaShift = 16 - kChromaFraction;
  int gains[3][3];  // [Y', Cb, Cr][R, G, B]
  int y0, c0;       // offsets, each with the 1/2 that makes the shift round

  explicit FixedEncoding(const YuvEncoding& e) {
    const double kOne = 65536.0 / 255.0;  // a byte's unit value x 2^16
    const double cb_gain = e.c_scale / (2.0 * (1.0 - e.kb)) * kOne, cr_gain = e.c_scale / (2.0 * (1.0 - e.kr)) * kOne;
    const double luma[3] = {e.kr, e.kg, e.kb};
    for (int c = 0; c < 3; ++c) {
      gains[0][c] = int(std::lround(e.y_scale * luma[c] * kOne));
      gains[1][c] = int(std::lround(cb_gain * ((c == 2) - luma[c])));
      gains[2][c] = int(std::lround(cr_gain * ((c == 0) - luma[c])));
    }
    y0 = int(std::lround(e.y_offset * 65536.0)) + (1 << (kLumaShift - 1));  // + 1/2: rounds
    c0 = int(std::lround(128.0 * 65536.0)) + (1 << (kChromaShift - 1));     // + 1/2 of 1/64
  }
};

// One colour table entry (colour map, palette, grid cell) in Y'CbCr from
// yuv_encoding's doubles: luma rounded to a byte, chroma in 1/64 level.
struct YccColour {
  std::uint8_t luma;
  std::uint32_t cb, cr;
};
inline YccColour ycc_colour(const YuvEncoding& e, const std::uint8_t* rgb) {
  const double r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
  const auto fixed = [](double c) {
    return std::uint32_t(std::clamp(std::lround(c * (1 << kChromaFraction)), 0L, long(kChromaMax)));
  };
  return {std::uint8_t(std::clamp(std::lround(e.luma(r, g, b)), 0L, 255L)), fixed(e.cb(r, g, b)), fixed(e.cr(r, g, b))};
}

}  // namespace dinoclip
