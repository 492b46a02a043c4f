// attnoverlay's drawings in place on a host I420 or NV12 frame (what decoders
// deliver), in Y'CbCr: the frame is never converted to RGB and back, and the
// bytes of pixels nothing is drawn on stay as they were.
//
// Blending is linear, so blending in Y'CbCr is blending in RGB and then
// converting (before rounding). With w a pixel's blend weight (overlay.h's:
// alpha rounded to 15 bits; masks: 0 on class 0, 1 on contours):
//  - luma:   Y' = Y + w (Yc - Y), Yc the luma of the pixel's overlay colour;
//  - chroma: each sample moves by the mean of its 2x2 block's steps,
//            C' = C + mean_i w_i (Cc_i - C) (at an odd frame edge the last
//            row / column counts twice, as rgb_to_i420 averages); with one
//            weight for all pixels that is C' = C + w (mean_i Cc_i - C).
// Colours become Y'CbCr as rgb_to_i420 computes it (color_convert.h's
// yuv_encoding, with the frame's matrix and range), once per colour-map entry,
// palette entry or grid cell; smooth PCA colours, which vary per pixel, in
// fixed point (within 0.01 level).
//
// Precision (tests/unit/vision/test_yuv_overlay_canvas.cpp): every byte
// within one level of those formulas in float, rounded. Against the RGB round
// trip the element used before (kStandard to RGB, HostOverlayCanvas,
// rgb_to_i420), drawn bytes differ by the round trip's own quantisation,
// a few levels (the test states the bound); undrawn bytes do not change at all.
//
// DeviceOverlay (device_overlay.h) draws the same bytes with tensors on any
// device; the fixed-point units both use are in ycc_fixed_point.h.
//
// Labels are drawn by TextRenderer on an RGB copy of the label's region
// (label_region, widened to whole chroma samples); only the pixels the label
// changed, and the chroma samples of their blocks, are written back.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "vision/color_convert.h"
#include "vision/overlay_canvas.h"

namespace dinoclip {

// A host 4:2:0 frame's planes (writable): chroma planes ceil(width / 2) x
// ceil(height / 2) samples.
struct YuvPlanes {
  std::uint8_t* y = nullptr;
  int y_stride = 0;
  std::uint8_t* u = nullptr;  // I420: U (Cb); NV12: the interleaved U, V plane
  int u_stride = 0;
  std::uint8_t* v = nullptr;  // I420: V (Cr); NV12: unused
  int v_stride = 0;
  bool nv12 = false;
  int width = 0, height = 0;
  YuvMatrix matrix = YuvMatrix::kBt601;
  bool full_range = false;
};

YuvPlanes i420_planes(std::uint8_t* y, int y_stride, std::uint8_t* u, int u_stride, std::uint8_t* v, int v_stride,
                      int width, int height, YuvMatrix matrix, bool full_range);
YuvPlanes nv12_planes(std::uint8_t* y, int y_stride, std::uint8_t* uv, int uv_stride, int width, int height,
                      YuvMatrix matrix, bool full_range);

// label_region widened to whole chroma samples (even corners, or the frame's
// own odd edge): the only bytes a label drawn on a 4:2:0 frame may change.
PixelRect label_chroma_region(const TextRenderer& renderer, const std::string& text, const TextStyle& style,
                              int width, int height);

class YuvOverlayCanvas final : public OverlayCanvas {
 public:
  // Throws dinoclip::Error on a missing plane, an empty frame or a stride
  // shorter than a row.
  explicit YuvOverlayCanvas(const YuvPlanes& frame);

  int width() const override { return frame_.width; }
  int height() const override { return frame_.height; }
  void head_strip(const at::Tensor& heads, Colormap cmap, float alpha) override;
  void rgb_grid(const at::Tensor& grid_rgb, float alpha, bool smooth) override;
  void mask(const at::Tensor& class_map, const Palette& palette, float alpha, bool contours) override;
  void text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) override;

 private:
  void smooth_grid(const Image& grid, float alpha);
  void nearest_grid(const Image& grid, float alpha);
  Image region_rgb(const PixelRect& region) const;
  void write_changed(const Image& before, const Image& after, const PixelRect& region);

  YuvPlanes frame_;
  YuvEncoding encoding_;
};

}  // namespace dinoclip
