#include "vision/overlay_canvas.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"

namespace dinoclip {

Image rgb_grid_image(const at::Tensor& grid_rgb) {
  if (grid_rgb.dim() != 3 || grid_rgb.size(2) != 3 || grid_rgb.numel() == 0) {
    throw Error("rgb grid: expected a non-empty [height, width, 3] picture");
  }
  const at::Tensor bytes = grid_rgb.to(at::kCPU, at::kByte).contiguous();
  Image out(int(bytes.size(1)), int(bytes.size(0)), 3);
  std::copy(bytes.data_ptr<std::uint8_t>(), bytes.data_ptr<std::uint8_t>() + bytes.numel(), out.pixels.begin());
  return out;
}

PixelRect label_region(const TextRenderer& renderer, const std::string& text, const TextStyle& style, int width,
                       int height) {
  const auto box = renderer.box_size(text, style.pixel_height);
  const int margin = style.pixel_height;
  return {std::clamp(style.x - margin, 0, width), std::clamp(style.y - margin, 0, height),
          std::clamp(style.x + box[0] + margin, 0, width), std::clamp(style.y + box[1] + margin, 0, height)};
}

void HostOverlayCanvas::head_strip(const at::Tensor& heads, Colormap cmap, float alpha) {
  draw_head_strip(frame_, heads, cmap, alpha);
}

void HostOverlayCanvas::rgb_grid(const at::Tensor& grid_rgb, float alpha, bool smooth) {
  blend_rgb_grid(frame_, rgb_grid_image(grid_rgb), alpha, smooth);
}

void HostOverlayCanvas::mask(const at::Tensor& class_map, const Palette& palette, float alpha, bool contours) {
  blend_mask(frame_, class_map, palette, alpha, contours);
}

void HostOverlayCanvas::text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) {
  renderer.draw(frame_, text, style.x, style.y, style.pixel_height, style.colour, style.background,
                style.background_alpha);
}

}  // namespace dinoclip
