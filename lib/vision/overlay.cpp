#include "vision/overlay.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "vision/color_convert.h"
#include "vision/grid_upsample.h"
#include "vision/mask_rows.h"
#include "vision/row_chunks.h"
#include "vision/row_blend.h"

namespace dinoclip {
namespace {

void check_frame(const MutableImageView& frame, const char* who) {
  if (!frame.data || frame.width <= 0 || frame.height <= 0) throw Error(std::string(who) + ": empty frame");
  if (frame.format == PixelFormat::kGray) throw Error(std::string(who) + ": cannot draw colours on a grey frame");
  if (frame.stride < std::ptrdiff_t(frame.width) * bytes_per_pixel(frame.format)) {
    throw Error(std::string(who) + ": row stride " + std::to_string(frame.stride) + " is smaller than width " +
                std::to_string(frame.width) + " x " + std::to_string(bytes_per_pixel(frame.format)) +
                " bytes per pixel");
  }
}

// One thread's row buffers, grown to the widest frame it has drawn and reused
// by later rows and frames: no allocation per row or per frame.
struct RowScratch {
  std::vector<float> values[3];
  std::vector<std::uint8_t> bytes;
  std::vector<std::uint8_t> colours;  // a row in the frame's layout, plus the spare byte of 32-bit stores

  static RowScratch& of_this_thread(int width, int bytes_per_pixel) {
    thread_local RowScratch scratch;
    const std::size_t n = std::size_t(width);
    for (auto& v : scratch.values)
      if (v.size() < n) v.resize(n);
    if (scratch.bytes.size() < n) scratch.bytes.resize(n);
    if (scratch.colours.size() < n * bytes_per_pixel + 4) scratch.colours.resize(n * bytes_per_pixel + 4);
    return scratch;
  }
};

std::uint8_t* frame_row(const MutableImageView& frame, int y) { return frame.data + std::ptrdiff_t(y) * frame.stride; }

// colours[x] = packed[keys[x]], one 32-bit store per pixel.
template <int kBpp, typename Key>
void gather_colours(const Key* keys, int n, const std::uint32_t* packed, std::uint8_t* colours) {
  for (int x = 0; x < n; ++x) std::memcpy(colours + std::ptrdiff_t(x) * kBpp, &packed[keys[x]], 4);
}

template <typename Key>
void gather_colours(int bpp, const Key* keys, int n, const std::uint32_t* packed, std::uint8_t* colours) {
  if (bpp == 3) {
    gather_colours<3>(keys, n, packed, colours);
  } else {
    gather_colours<4>(keys, n, packed, colours);
  }
}

std::array<std::uint32_t, 256> packed_colormap(Colormap cmap, const RgbLayout& layout) {
  const auto& table = colormap_table(cmap);
  std::array<std::uint32_t, 256> packed{};
  for (int i = 0; i < 256; ++i) packed[i] = pack_layout_colour(layout, table[i].data());
  return packed;
}

// maps [n, h, w]: map i upsampled over columns [W * i / n, W * (i + 1) / n)
// (a tile narrower than one pixel is skipped), colour-mapped from [vmin,
// vmax] and blended, all tiles of a row in one pass over it.
void blend_heat_tiles(MutableImageView frame, const at::Tensor& maps, Colormap cmap, float alpha, float vmin,
                      float vmax) {
  const at::Tensor grids = maps.to(at::kCPU, at::kFloat).contiguous();
  const TiledUpsampler tiles(grids.data_ptr<float>(), int(grids.size(0)), int(grids.size(1)), int(grids.size(2)),
                             frame.height, frame.width);
  const RgbLayout layout = rgb_layout(frame.format);
  const auto colours = packed_colormap(cmap, layout);
  const RowBlender blender(alpha, layout);
  const float scale = vmax > vmin ? 256.0f / (vmax - vmin) : 0.0f;
  for_each_row_chunk(frame.width, frame.height, [&](int begin, int end) {
    RowScratch& s = RowScratch::of_this_thread(frame.width, layout.bytes_per_pixel);
    for (int y = begin; y < end; ++y) {
      tiles.row(y, s.values[0].data());
      colormap_indices(s.values[0].data(), frame.width, vmin, scale, s.bytes.data());
      gather_colours(layout.bytes_per_pixel, s.bytes.data(), frame.width, colours.data(), s.colours.data());
      blender.blend(frame_row(frame, y), s.colours.data(), frame.width);
    }
  });
}

}  // namespace

at::Tensor normalise_each_map(const at::Tensor& maps) {
  at::Tensor flat = maps.to(at::kFloat).flatten(1);
  at::Tensor lo = std::get<0>(flat.min(1, true)), hi = std::get<0>(flat.max(1, true));
  return ((flat - lo) / (hi - lo).clamp_min(1e-12)).view(maps.sizes());
}

at::Tensor upsample_bilinear(const at::Tensor& grid, int out_h, int out_w) {
  if (grid.dim() != 2) throw Error("upsample_bilinear: expected a [height, width] grid");
  at::Tensor x = grid.to(at::kCPU, at::kFloat).view({1, 1, grid.size(0), grid.size(1)});
  return at::upsample_bilinear2d(x, {out_h, out_w}, /*align_corners=*/false)[0][0].contiguous();
}

void blend_heatmap(MutableImageView frame, const at::Tensor& heat, Colormap cmap, float alpha, float vmin,
                   float vmax) {
  check_frame(frame, "blend_heatmap");
  if (heat.dim() != 2 || heat.numel() == 0) throw Error("blend_heatmap: expected a non-empty [height, width] map");
  if (!(alpha > 0.0f)) return;
  blend_heat_tiles(frame, heat.unsqueeze(0), cmap, alpha, vmin, vmax);
}

void blend_rgb_grid(MutableImageView frame, const Image& grid_rgb, float alpha, bool smooth) {
  check_frame(frame, "blend_rgb_grid");
  if (grid_rgb.channels != 3 || grid_rgb.width <= 0 || grid_rgb.height <= 0 ||
      grid_rgb.pixels.size() < std::size_t(grid_rgb.width) * grid_rgb.height * 3) {
    throw Error("blend_rgb_grid: expected a non-empty RGB picture");
  }
  if (!(alpha > 0.0f)) return;
  const RgbLayout layout = rgb_layout(frame.format);
  const int bpp = layout.bytes_per_pixel;
  const RowBlender blender(alpha, layout);
  if (smooth) {
    // Each channel upsampled as a float plane (as upsample_bilinear), rounded to bytes.
    const std::vector<GridUpsampler> upsamplers =
        rgb_upsamplers(grid_rgb.pixels.data(), grid_rgb.height, grid_rgb.width, frame.height, frame.width);
    const int channel_byte[3] = {layout.r, layout.g, layout.b};
    for_each_row_chunk(frame.width, frame.height, [&](int begin, int end) {
      RowScratch& s = RowScratch::of_this_thread(frame.width, bpp);
      for (int y = begin; y < end; ++y) {
        for (int c = 0; c < 3; ++c) {
          upsamplers[c].row(y, s.values[c].data());
          round_to_bytes(s.values[c].data(), frame.width, s.bytes.data());
          std::uint8_t* out = s.colours.data() + channel_byte[c];
          for (int x = 0; x < frame.width; ++x) out[std::ptrdiff_t(x) * bpp] = s.bytes[x];
        }
        blender.blend(frame_row(frame, y), s.colours.data(), frame.width);
      }
    });
    return;
  }
  // Nearest: frame column x shows grid column x * w / W; rows the same.
  std::vector<std::uint32_t> cells(std::size_t(grid_rgb.width) * grid_rgb.height);
  for (std::size_t i = 0; i < cells.size(); ++i) cells[i] = pack_layout_colour(layout, &grid_rgb.pixels[i * 3]);
  std::vector<int> column(frame.width);
  for (int x = 0; x < frame.width; ++x) {
    column[x] = std::min(grid_rgb.width - 1, int(std::int64_t(x) * grid_rgb.width / frame.width));
  }
  for_each_row_chunk(frame.width, frame.height, [&](int begin, int end) {
    RowScratch& s = RowScratch::of_this_thread(frame.width, bpp);
    int drawn_row = -1;  // the grid row s.colours holds
    for (int y = begin; y < end; ++y) {
      const int gy = std::min(grid_rgb.height - 1, int(std::int64_t(y) * grid_rgb.height / frame.height));
      if (gy != drawn_row) {
        gather_colours(bpp, column.data(), frame.width, cells.data() + std::size_t(gy) * grid_rgb.width,
                       s.colours.data());
        drawn_row = gy;
      }
      blender.blend(frame_row(frame, y), s.colours.data(), frame.width);
    }
  });
}

void draw_head_strip(MutableImageView frame, const at::Tensor& heads, Colormap cmap, float alpha) {
  check_frame(frame, "draw_head_strip");
  if (heads.dim() != 3 || heads.size(0) < 1 || heads.numel() == 0) {
    throw Error("draw_head_strip: expected non-empty [heads, h, w] maps");
  }
  if (!(alpha > 0.0f)) return;
  blend_heat_tiles(frame, normalise_each_map(heads), cmap, alpha, 0.0f, 1.0f);
}

Palette davis_palette(int n) {
  Palette palette(size_t(std::max(1, n)));
  for (int i = 0; i < int(palette.size()); ++i) {
    int r = 0, g = 0, b = 0, id = i;
    for (int bit = 7; bit >= 0 && id; --bit, id >>= 3) {
      r |= (id & 1) << bit;
      g |= ((id >> 1) & 1) << bit;
      b |= ((id >> 2) & 1) << bit;
    }
    palette[i] = {std::uint8_t(r), std::uint8_t(g), std::uint8_t(b)};
  }
  return palette;
}

void blend_mask(MutableImageView frame, const at::Tensor& class_map, const Palette& palette, float alpha,
                bool contours) {
  check_frame(frame, "blend_mask");
  const StretchedMask mask(class_map, frame.width, frame.height, "blend_mask");
  if (palette.empty()) throw Error("blend_mask: empty palette");
  const RgbLayout layout = rgb_layout(frame.format);
  const int bpp = layout.bytes_per_pixel;
  const RowBlender blender(alpha, layout);
  std::vector<std::uint32_t> colours(palette.size());
  for (std::size_t i = 0; i < palette.size(); ++i) colours[i] = pack_layout_colour(layout, palette[i].data());
  const std::size_t palette_size = palette.size();
  const auto colour_of = [&](std::int64_t k) { return palette[std::size_t(k) % palette_size].data(); };
  for_each_row_chunk(frame.width, frame.height, [&](int begin, int end) {
    RowScratch& s = RowScratch::of_this_thread(frame.width, bpp);
    std::uint8_t* over = s.colours.data();  // the runs' colours, kept while rows show one mask row
    MaskRowWalker walker(mask);
    for (int y = begin; y < end; ++y) {
      std::uint8_t* row = frame_row(frame, y);
      if (walker.seek(y)) {
        for (const auto& [x0, x1] : walker.runs()) {
          const std::uint32_t packed = colours[std::size_t(walker.classes()[x0]) % palette_size];
          for (int i = x0; i < x1; ++i) std::memcpy(over + std::ptrdiff_t(i) * bpp, &packed, 4);
        }
      }
      for (const auto& [x0, x1] : walker.runs()) {
        blender.blend(row + std::ptrdiff_t(x0) * bpp, over + std::ptrdiff_t(x0) * bpp, x1 - x0);
      }
      if (!contours) continue;
      for (int x : walker.contour_pixels()) blender.put_opaque(row, x, colour_of(walker.classes()[x]));
    }
  });
}

Image hstack(const std::vector<Image>& images, int gap) {
  if (images.empty()) throw Error("hstack: no pictures");
  int width = gap * int(images.size() - 1);
  for (const auto& im : images) {
    if (im.height != images[0].height || im.channels != 3) throw Error("hstack: pictures differ in height or kind");
    width += im.width;
  }
  Image out(width, images[0].height, 3);
  std::fill(out.pixels.begin(), out.pixels.end(), 255);
  int x0 = 0;
  for (const auto& im : images) {
    for (int y = 0; y < im.height; ++y) std::copy(im.row(y), im.row(y) + im.width * 3, out.row(y) + x0 * 3);
    x0 += im.width + gap;
  }
  return out;
}

Image heads_row_image(const at::Tensor& heads, int scale, Colormap cmap) {
  if (heads.dim() != 3 || scale < 1) throw Error("heads_row_image: expected [heads, h, w] maps and scale >= 1");
  at::Tensor maps = normalise_each_map(heads);
  std::vector<Image> tiles;
  for (int64_t i = 0; i < maps.size(0); ++i) {
    at::Tensor big = maps[i].repeat_interleave(scale, 0).repeat_interleave(scale, 1);
    tiles.push_back(colorize(big, cmap, 0.0f, 1.0f));
  }
  return hstack(tiles, /*gap=*/4);
}

}  // namespace dinoclip
