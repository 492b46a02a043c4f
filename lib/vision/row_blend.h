// Alpha blending of a row of overlay colours onto a frame row, in place, in
// fixed point, 16 bytes at a time (SSE2), for every packed layout the
// overlays draw on (RGB, BGR, RGBA, BGRA, RGBx, BGRx).
//
// Precision: each colour byte becomes b + floor(d * a + 1/2) with d = c - b
// and a = alpha rounded to 15 bits (a | 2^-16 |off), i.e. within one level
// of round(b + alpha * (c - b)), and equal to it except where that value
// lies within 255 * 2^-16 of a half. alpha >= 1 copies the colour.
#pragma once

#include <cstdint>

#include "vision/color_convert.h"

namespace dinoclip {

// rgb placed at the layout's red, green and blue bytes of one pixel (other
// bytes 0), as the 4 bytes a single 32-bit store writes: a 3-byte layout
// writes one byte into the next pixel, so rows of colours get one spare byte.
std::uint32_t pack_layout_colour(const RgbLayout& layout, const std::uint8_t* rgb);

class RowBlender {
 public:
  // alpha is clamped to [0, 1].
  RowBlender(float alpha, const RgbLayout& layout);

  // frame[i] += floor((colour[i] - frame[i]) * a + 1/2) on the red, green and
  // blue bytes of `pixels` pixels; alpha and padding bytes keep their value.
  // `colour` has the frame's layout.
  void blend(std::uint8_t* frame, const std::uint8_t* colour, int pixels) const;

  // The same for one byte (the reference of the vector code, and its tail).
  std::uint8_t blend_byte(std::uint8_t base, std::uint8_t over) const;

  // Writes rgb at full opacity over pixel x of `frame` (contours).
  void put_opaque(std::uint8_t* frame, int x, const std::uint8_t* rgb) const;

  int bytes_per_pixel() const { return layout_.bytes_per_pixel; }
  // The weight blend() applies, in 1/32768 units: 32768 when opaque.
  int weight() const { return opaque_ ? 32768 : weight_; }

 private:
  RgbLayout layout_;
  bool opaque_;             // alpha >= 1: the colour bytes are copied
  std::int16_t weight_;     // alpha in 1/32768 units, < 32768
  std::int16_t lanes_[16];  // weight_ per byte of 16 (0 on alpha/padding bytes)
  std::uint8_t mask_[16];   // 0xff per colour byte of 16
};

}  // namespace dinoclip
