// The previous lib/vision/overlay.cpp drawing code, kept verbatim (apart from
// the namespace and one qualified call) as the reference for the row-by-row implementation.
#include "overlay_reference.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "vision/color_convert.h"

namespace dinoclip::reference {
namespace {

std::uint8_t mix(std::uint8_t base, std::uint8_t over, float alpha) {
  return std::uint8_t(std::lround(base + alpha * (float(over) - float(base))));
}

void check_frame(const MutableImageView& frame) {
  if (!frame.data || frame.width <= 0 || frame.height <= 0) throw Error("overlay: empty frame");
  if (frame.format == PixelFormat::kGray) throw Error("overlay: cannot draw colours on a grey frame");
}

// Writes rgb over pixel x of `row` with `alpha`, in the frame's channel order.
inline void put(std::uint8_t* row, int x, const RgbLayout& layout, const std::uint8_t* rgb, float alpha) {
  std::uint8_t* p = row + x * layout.bytes_per_pixel;
  p[layout.r] = mix(p[layout.r], rgb[0], alpha);
  p[layout.g] = mix(p[layout.g], rgb[1], alpha);
  p[layout.b] = mix(p[layout.b], rgb[2], alpha);
}

at::Tensor normalise_each(const at::Tensor& maps) {  // [H, h, w] -> per-map [0, 1]
  at::Tensor flat = maps.to(at::kFloat).flatten(1);
  at::Tensor lo = std::get<0>(flat.min(1, true)), hi = std::get<0>(flat.max(1, true));
  return ((flat - lo) / (hi - lo).clamp_min(1e-12)).view(maps.sizes());
}

}  // namespace

void blend_heatmap(MutableImageView frame, const at::Tensor& heat, Colormap cmap, float alpha, float vmin,
                   float vmax) {
  check_frame(frame);
  if (alpha <= 0.0f) return;
  at::Tensor big = upsample_bilinear(heat, frame.height, frame.width);
  const float* v = big.data_ptr<float>();
  const auto& table = colormap_table(cmap);
  const RgbLayout layout = rgb_layout(frame.format);
  const float scale = vmax > vmin ? 256.0f / (vmax - vmin) : 0.0f;
  for (int y = 0; y < frame.height; ++y) {
    std::uint8_t* row = frame.data + y * frame.stride;
    const float* values = v + int64_t(y) * frame.width;
    for (int x = 0; x < frame.width; ++x) {
      float t = (values[x] - vmin) * scale;
      const int index = t > 0.0f ? std::min(255, int(t)) : 0;
      put(row, x, layout, table[index].data(), alpha);
    }
  }
}

void blend_rgb_grid(MutableImageView frame, const Image& grid_rgb, float alpha, bool smooth) {
  check_frame(frame);
  if (grid_rgb.channels != 3 || grid_rgb.width <= 0) throw Error("blend_rgb_grid: expected an RGB picture");
  const RgbLayout layout = rgb_layout(frame.format);
  at::Tensor channels[3];
  if (smooth) {
    for (int c = 0; c < 3; ++c) {
      at::Tensor plane = at::from_blob(const_cast<std::uint8_t*>(grid_rgb.pixels.data()),
                                       {grid_rgb.height, grid_rgb.width, 3}, at::kByte)
                             .select(2, c)
                             .to(at::kFloat);
      channels[c] = upsample_bilinear(plane, frame.height, frame.width).round_().clamp_(0, 255).to(at::kByte);
    }
  }
  for (int y = 0; y < frame.height; ++y) {
    std::uint8_t* row = frame.data + y * frame.stride;
    const int gy = std::min(grid_rgb.height - 1, int(int64_t(y) * grid_rgb.height / frame.height));
    for (int x = 0; x < frame.width; ++x) {
      std::uint8_t rgb[3];
      if (smooth) {
        for (int c = 0; c < 3; ++c) rgb[c] = channels[c].data_ptr<std::uint8_t>()[int64_t(y) * frame.width + x];
      } else {
        const int gx = std::min(grid_rgb.width - 1, int(int64_t(x) * grid_rgb.width / frame.width));
        for (int c = 0; c < 3; ++c) rgb[c] = grid_rgb.at(gx, gy, c);
      }
      put(row, x, layout, rgb, alpha);
    }
  }
}

void draw_head_strip(MutableImageView frame, const at::Tensor& heads, Colormap cmap, float alpha) {
  check_frame(frame);
  if (heads.dim() != 3 || heads.size(0) < 1) throw Error("draw_head_strip: expected [heads, h, w] maps");
  const int count = int(heads.size(0));
  at::Tensor maps = normalise_each(heads);
  for (int i = 0; i < count; ++i) {
    const int x0 = int(int64_t(frame.width) * i / count), x1 = int(int64_t(frame.width) * (i + 1) / count);
    if (x1 <= x0) continue;
    MutableImageView tile = frame;
    tile.data = frame.data + x0 * rgb_layout(frame.format).bytes_per_pixel;
    tile.width = x1 - x0;
    reference::blend_heatmap(tile, maps[i], cmap, alpha, 0.0f, 1.0f);  // qualified: ADL also finds the library one
  }
}

void blend_mask(MutableImageView frame, const at::Tensor& class_map, const Palette& palette, float alpha,
                bool contours) {
  check_frame(frame);
  if (class_map.dim() != 2) throw Error("blend_mask: expected a [height, width] class map");
  at::Tensor ids = class_map.to(at::kCPU, at::kLong).contiguous();
  const int mh = int(ids.size(0)), mw = int(ids.size(1));
  const int64_t* m = ids.data_ptr<int64_t>();
  const RgbLayout layout = rgb_layout(frame.format);
  std::vector<int> col(frame.width);
  for (int x = 0; x < frame.width; ++x) col[x] = std::min(mw - 1, int(int64_t(x) * mw / frame.width));
  auto class_at = [&](int x, int y) {
    const int my = std::min(mh - 1, int(int64_t(y) * mh / frame.height));
    return m[int64_t(my) * mw + col[x]];
  };
  for (int y = 0; y < frame.height; ++y) {
    std::uint8_t* row = frame.data + y * frame.stride;
    for (int x = 0; x < frame.width; ++x) {
      const int64_t k = class_at(x, y);
      if (k <= 0) continue;
      const auto& colour = palette[size_t(k) % palette.size()];
      const bool edge = contours && ((x > 0 && class_at(x - 1, y) != k) || (x + 1 < frame.width && class_at(x + 1, y) != k) ||
                                     (y > 0 && class_at(x, y - 1) != k) || (y + 1 < frame.height && class_at(x, y + 1) != k));
      put(row, x, layout, colour.data(), edge ? 1.0f : alpha);
    }
  }
}

}  // namespace dinoclip::reference
