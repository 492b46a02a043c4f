// attnoverlay's drawings on a frame's planes, in place, on any device: the
// CPU-only overlays of overlay.h (the reference) rewritten as a few big ATen
// operations per frame, so that a frame in GPU memory is drawn on the GPU and
// never leaves it.
//
// Every drawing is the same three steps on the whole frame: the overlay's
// colours for every pixel (upsampled heat maps through a colour map, PCA
// colours, palette colours), a weight (alpha, per pixel for masks and
// contours), and one blend b + floor((c - b) * a + 1/2) with a = alpha
// rounded to 15 bits, which is what overlay.h's fixed-point blend computes
// (exact in float32: every term has fewer than 24 significant bits).
//
// Precision against overlay.h on the same frame (tests/unit/vision/test_device_overlay.cpp):
//  - packed formats: equal, byte for byte, for masks (with contours), PCA
//    colours (nearest and smooth) and labels; heat maps and head strips too,
//    except that a pixel whose upsampled value lies within a few float ulps
//    of a colour-map entry's edge may show the neighbouring entry (the
//    upsampling uses GridUpsampler's taps and order of operations, so this
//    happens only where a device's float rounding differs from the CPU's: on
//    the CPU never, on a GPU where its input differs, e.g. a mean over heads
//    summed in another order; tests/gpu allow 1 byte in 1000);
//  - I420 / NV12: drawn on an RGB copy and converted back with the CPU
//    path's arithmetic (YuvConversion::kStandard in, rgb_to_i420/nv12 out, in
//    float64): equal except where a float64 value sits within ~1e-13 of a
//    rounding edge, and within one level there.
// Alpha and padding bytes are never written.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <array>
#include <string>

#include "vision/frame_planes.h"
#include "vision/overlay_canvas.h"

namespace dinoclip {

class DeviceOverlay final : public OverlayCanvas {
 public:
  // Draws on `frame` (packed RGB family, I420 or NV12; planes as
  // frame_planes.h describes) on `device`. A frame on another device is
  // copied there once, here, and back once by finish(); I420/NV12 are
  // converted to RGB here and back by finish(). Throws dinoclip::Error when
  // the planes do not match their layout.
  DeviceOverlay(FramePlanes frame, const c10::Device& device);

  int width() const override { return width_; }
  int height() const override { return height_; }
  const c10::Device& device() const { return device_; }

  void head_strip(const at::Tensor& heads, Colormap cmap, float alpha) override;
  void rgb_grid(const at::Tensor& grid_rgb, float alpha, bool smooth) override;
  void mask(const at::Tensor& class_map, const Palette& palette, float alpha, bool contours) override;
  // The label is drawn by TextRenderer on the CPU, on a copy of the box's
  // neighbourhood (a few kilobytes), then copied back.
  void text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) override;

  // Writes the drawing into the frame given to the constructor: YUV planes
  // converted back (every pixel, as the CPU path writes its RGB copy back),
  // planes on another device copied back. Call once, after the last drawing,
  // and only when something was drawn (as the CPU path converts back only
  // then); a packed frame drawn on in place needs nothing, and costs nothing.
  void finish();

 private:
  // canvas += floor((colours - canvas) * weight + 1/2); colours [H, W, 3]
  // float in canvas byte order, weight a float scalar tensor or [H, W, 1].
  void blend(const at::Tensor& colours, const at::Tensor& weight);
  void blend(const at::Tensor& colours, float alpha);
  // An RGB table [n, 3] as float32 on the device, its columns in canvas byte order.
  at::Tensor device_colours(const at::Tensor& rgb_table) const;

  FramePlanes target_;  // the frame as given (written by finish())
  FramePlanes work_;    // its planes on device_
  c10::Device device_;
  int width_, height_;
  // The three colour bytes of every pixel, [H, W, 3] uint8 on device_: a view
  // into work_'s packed plane, or the RGB copy of a YUV frame.
  at::Tensor canvas_;
  std::array<int64_t, 3> channel_of_byte_;  // canvas byte j holds R (0), G (1) or B (2)
};

// The weight overlay.h's blend applies for `alpha`: alpha rounded to 15 bits,
// 0 for alpha <= 0 (and NaN), exactly 1 for alpha >= 1.
float blend_weight(float alpha);

}  // namespace dinoclip
