// attnoverlay's drawings on a frame's planes, in place, on any device: the
// CPU canvases (overlay.h for packed RGB, yuv_overlay_canvas.h for I420 /
// NV12: the references) rewritten as a few big ATen operations per frame, so
// that a frame in GPU memory is drawn on the GPU and never leaves it.
//
// Every drawing is the same steps on the whole frame: the overlay's colours
// for every pixel (upsampled heat maps through a colour map, PCA colours,
// palette colours), a weight w (alpha, per pixel for masks and contours), and
// one blend b + floor((c - b) * w + 1/2) with w = alpha rounded to 15 bits,
// which is what the CPU's fixed-point blend computes (exact in float32: every
// term has fewer than 24 significant bits).
//  - packed formats: the blend on the three colour bytes of every pixel.
//  - I420 / NV12: drawn in Y'CbCr as YuvOverlayCanvas draws, never through
//    RGB. Colours become Y'CbCr per table entry (colour map, palette, grid
//    cell: ycc_fixed_point.h's ycc_colour, its doubles evaluated in the same
//    order on tensors for cells on the device) or per pixel (smooth PCA:
//    FixedEncoding's integers, exact in float32); luma is blended per pixel;
//    chroma with one weight moves toward the rounded mean of its 2x2 block's
//    overlay chroma, with per-pixel weights (masks) by the rounded mean of the
//    block's steps (float64: exact); at an odd edge the last row / column
//    counts twice. A 1280x720 heat map on I420 / NV12 is about 40 kernels
//    (packed: 26; through RGB and back it was 90; bench_overlay --device
//    counts them).
//
// Precision against the CPU canvases on the same frame
// (tests/unit/vision/test_device_overlay.cpp): every byte of every plane
// equal (packed and I420 / NV12; masks with contours, PCA colours nearest
// and smooth, labels, heat maps and head strips), except that a heat-map
// pixel whose upsampled value lies within a few float ulps of a colour-map
// entry's edge may show the neighbouring entry (the upsampling uses
// GridUpsampler's taps and order of operations, so this happens only where a
// device's float rounding differs from the CPU's: on the CPU never, on a GPU
// where its input differs, e.g. a mean over heads summed in another order;
// tests/gpu allow 1 byte in 1000, each within a few levels, a colour-map
// step). Alpha and padding bytes, and pixels nothing is drawn on, are never
// changed.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <array>
#include <cstdint>
#include <string>

#include "vision/frame_planes.h"
#include "vision/overlay_canvas.h"

namespace dinoclip {

class DeviceOverlay final : public OverlayCanvas {
 public:
  // Draws on `frame` (packed RGB family, I420 or NV12; planes as
  // frame_planes.h describes) on `device`. A frame on another device is
  // copied there once, here, and back once by finish(). Throws
  // dinoclip::Error when the planes do not match their layout.
  DeviceOverlay(FramePlanes frame, const c10::Device& device);

  int width() const override { return width_; }
  int height() const override { return height_; }
  const c10::Device& device() const { return device_; }

  void head_strip(const at::Tensor& heads, Colormap cmap, float alpha) override;
  void rgb_grid(const at::Tensor& grid_rgb, float alpha, bool smooth) override;
  void mask(const at::Tensor& class_map, const Palette& palette, float alpha, bool contours) override;
  // The label is drawn on the CPU (TextRenderer; YUV frames: YuvOverlayCanvas)
  // on a copy of the box's neighbourhood (a few kilobytes), then copied back.
  void text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) override;

  // Writes the drawing into the frame given to the constructor when its planes
  // are on another device (copied back). Call once, after the last drawing; a
  // frame drawn on in place needs nothing, and costs nothing.
  void finish();

 private:
  bool is_yuv() const { return work_.layout != FrameLayout::kPacked; }
  // Blends every pixel toward `colours` [H, W, 3] float (packed: in canvas
  // byte order; YUV: luma byte, Cb, Cr in 1/64 level) with one weight, or
  // with `weight` [H, W] float (alpha rounded to 15 bits, per pixel).
  void blend(const at::Tensor& colours, float alpha);
  void blend(const at::Tensor& colours, const at::Tensor& weight);
  // One colour table entry as blend() takes it, and a name for that form
  // (tables cached per form).
  std::array<float, 3> table_entry(const std::uint8_t* rgb) const;
  std::string table_variant() const;
  // An RGB byte table [n, 3] (any device) as blend() takes its colours, [n, 3] float on the device.
  at::Tensor device_colours(const at::Tensor& rgb_table) const;
  // YUV frames: the chroma planes as [ch, cw, 2] (NV12: the plane itself;
  // I420: a copy), and such a tensor written back.
  at::Tensor chroma_bytes() const;
  void store_chroma(const at::Tensor& chroma);
  void yuv_text(const TextRenderer& renderer, const std::string& text, const TextStyle& style);

  FramePlanes target_;  // the frame as given (written by finish())
  FramePlanes work_;    // its planes on device_
  c10::Device device_;
  int width_, height_;
  // Packed frames: the three colour bytes of every pixel, [H, W, 3] uint8 on
  // device_, a view into work_'s plane, and which colour each byte holds.
  at::Tensor canvas_;
  std::array<int64_t, 3> channel_of_byte_{};  // canvas byte j holds R (0), G (1) or B (2)
  YuvEncoding encoding_{};                    // YUV frames: how colours become Y'CbCr
};

// The weight overlay.h's blend applies for `alpha`: alpha rounded to 15 bits,
// 0 for alpha <= 0 (and NaN), exactly 1 for alpha >= 1.
float blend_weight(float alpha);

}  // namespace dinoclip
