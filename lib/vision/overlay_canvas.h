// Where attnoverlay's drawings go, one interface for both places a frame can
// be drawn on: a packed frame in host memory, drawn row by row on the CPU
// (HostOverlayCanvas: overlay.h, the reference), or a frame's planes drawn
// with a few big tensor operations on any device (DeviceOverlay in
// device_overlay.h). The same calls give the same pixels, within the bound
// device_overlay.h states.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

#include "core/image.h"
#include "vision/colormap.h"
#include "vision/overlay.h"
#include "vision/text_render.h"

namespace dinoclip {

// A label box: TextRenderer::draw's arguments after the text.
struct TextStyle {
  int x = 0, y = 0;  // top-left corner of the box
  int pixel_height = 12;
  std::array<std::uint8_t, 3> colour{255, 255, 255};
  std::array<std::uint8_t, 3> background{0, 0, 0};
  float background_alpha = 0.6f;
};

// A rectangle of frame pixels: columns [x0, x1), rows [y0, y1).
struct PixelRect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

// The pixels a label may touch: its box and a margin of one text height
// around it (glyphs may overhang the box), clipped to a width x height frame.
PixelRect label_region(const TextRenderer& renderer, const std::string& text, const TextStyle& style, int width,
                       int height);

class OverlayCanvas {
 public:
  virtual ~OverlayCanvas() = default;
  virtual int width() const = 0;
  virtual int height() const = 0;

  // draw_head_strip: heads [H, h, w] (any device), each min-max normalised,
  // side by side in H equal tiles across the frame.
  virtual void head_strip(const at::Tensor& heads, Colormap cmap, float alpha) = 0;
  // blend_rgb_grid: grid [h, w, 3] uint8 RGB (any device) stretched over the frame.
  virtual void rgb_grid(const at::Tensor& grid_rgb, float alpha, bool smooth) = 0;
  // blend_mask: class_map [mh, mw] integer ids (any device).
  virtual void mask(const at::Tensor& class_map, const Palette& palette, float alpha, bool contours) = 0;
  // TextRenderer::draw on the frame.
  virtual void text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) = 0;
};

// A packed frame in host memory; each call is one overlay.h function.
class HostOverlayCanvas final : public OverlayCanvas {
 public:
  explicit HostOverlayCanvas(MutableImageView frame) : frame_(frame) {}
  int width() const override { return frame_.width; }
  int height() const override { return frame_.height; }
  void head_strip(const at::Tensor& heads, Colormap cmap, float alpha) override;
  void rgb_grid(const at::Tensor& grid_rgb, float alpha, bool smooth) override;
  void mask(const at::Tensor& class_map, const Palette& palette, float alpha, bool contours) override;
  void text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) override;

 private:
  MutableImageView frame_;
};

// [h, w, 3] uint8 (any device) as a host Image, and back: PCA colour grids.
Image rgb_grid_image(const at::Tensor& grid_rgb);

}  // namespace dinoclip
