#include "vision/yuv_overlay_canvas.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "vision/grid_upsample.h"
#include "vision/mask_rows.h"
#include "vision/row_blend.h"
#include "vision/row_chunks.h"
#include "vision/ycc_fixed_point.h"

namespace dinoclip {
namespace {

struct YccTable {
  std::vector<std::uint8_t> luma;
  std::vector<std::uint32_t> chroma;  // Cb | Cr << 16, in 1/64 level

  void add(const YuvEncoding& e, const std::uint8_t* rgb) {
    const YccColour c = ycc_colour(e, rgb);
    luma.push_back(c.luma);
    chroma.push_back(c.cb | c.cr << 16);
  }
};

// FixedEncoding applied to rows of bytes.
void convert_fixed(const FixedEncoding& e, const std::uint8_t* r, const std::uint8_t* g, const std::uint8_t* b, int n,
                   std::uint8_t* luma, std::uint32_t* chroma) {
  constexpr int kShift = FixedEncoding::kChromaShift;
  // Locals: byte stores may alias the encoding, which the loop would then reload.
  const int yr = e.gains[0][0], yg = e.gains[0][1], yb = e.gains[0][2], y0 = e.y0, c0 = e.c0;
  const int cbr = e.gains[1][0], cbg = e.gains[1][1], cbb = e.gains[1][2];
  const int crr = e.gains[2][0], crg = e.gains[2][1], crb = e.gains[2][2];
  for (int x = 0; x < n; ++x) {
    const int y = (y0 + yr * r[x] + yg * g[x] + yb * b[x]) >> FixedEncoding::kLumaShift;
    const int cb = (c0 + cbr * r[x] + cbg * g[x] + cbb * b[x]) >> kShift;
    const int cr = (c0 + crr * r[x] + crg * g[x] + crb * b[x]) >> kShift;
    luma[x] = std::uint8_t(std::min(255, y));
    chroma[x] = std::uint32_t(std::min(int(kChromaMax), cb)) | std::uint32_t(std::min(int(kChromaMax), cr)) << 16;
  }
}

// luma[x], chroma[x] = the table entries keys[x] names. A function of its
// own: its pointers are locals, which byte stores cannot alias.
template <typename Key>
void gather(const Key* keys, int n, const std::uint8_t* table_luma, const std::uint32_t* table_chroma,
            std::uint8_t* luma, std::uint32_t* chroma) {
  for (int x = 0; x < n; ++x) {
    luma[x] = table_luma[keys[x]];
    chroma[x] = table_chroma[keys[x]];
  }
}

int chroma_width(const YuvPlanes& f) { return (f.width + 1) / 2; }
int rows_in_pair(const YuvPlanes& f, int j) { return std::min(2, f.height - 2 * j); }
std::uint8_t* luma_row(const YuvPlanes& f, int y) { return f.y + std::ptrdiff_t(y) * f.y_stride; }

// Chroma row j's Cb and Cr samples: pointers and the step between samples.
struct ChromaRow {
  std::uint8_t *cb, *cr;
  int step;
};
ChromaRow chroma_row(const YuvPlanes& f, int j) {
  std::uint8_t* u = f.u + std::ptrdiff_t(j) * f.u_stride;
  if (f.nv12) return {u, u + 1, 2};
  return {u, f.v + std::ptrdiff_t(j) * f.v_stride, 1};
}

// One thread's buffers for a pair of frame rows (one chroma row), grown to
// the widest frame it has drawn: no allocation per row or per frame.
struct PairScratch {
  std::vector<float> values[3];
  std::vector<std::uint8_t> bytes[3];    // colour-map indices, or a row's R, G, B
  std::vector<std::uint8_t> luma[2];     // each row's overlay luma
  std::vector<std::uint32_t> chroma[2];  // and chroma
  std::vector<std::uint16_t> weight[2];  // and blend weights (masks)
  std::vector<std::uint8_t> targets;     // a chroma row's targets: Cb, Cr as the frame interleaves them, or Cb then Cr

  static PairScratch& of_this_thread(int width) {
    thread_local PairScratch scratch;
    const std::size_t n = std::size_t(width) + 1;
    for (auto& v : scratch.values) v.resize(std::max(v.size(), n));
    for (auto& v : scratch.bytes) v.resize(std::max(v.size(), n));
    for (auto& v : scratch.luma) v.resize(std::max(v.size(), n));
    for (auto& v : scratch.chroma) v.resize(std::max(v.size(), n));
    for (auto& v : scratch.weight) v.resize(std::max(v.size(), n));
    scratch.targets.resize(std::max(scratch.targets.size(), 2 * n));
    return scratch;
  }
};

// The rounded mean of four chroma values in 1/64 level, given their sum.
std::uint8_t mean_of_four(std::uint32_t sum) {
  return std::uint8_t(std::min<std::uint32_t>(255, (sum + (1u << (kChromaFraction + 1))) >> (kChromaFraction + 2)));
}

// Each sample's target (cb[x2 * kStep], cr[x2 * kStep]): the mean overlay
// chroma of its block, whose two frame rows' chroma are top and bottom.
template <int kStep>
void chroma_means(const std::uint32_t* top, const std::uint32_t* bottom, int width, std::uint8_t* cb,
                  std::uint8_t* cr) {
  const auto store = [&](int x2, std::uint32_t sum) {
    cb[x2 * kStep] = mean_of_four(sum & 0xffff);
    cr[x2 * kStep] = mean_of_four(sum >> 16);
  };
  const int pairs = width / 2;  // whole blocks; an odd width's last column counts twice
  for (int x2 = 0; x2 < pairs; ++x2) store(x2, top[2 * x2] + top[2 * x2 + 1] + bottom[2 * x2] + bottom[2 * x2 + 1]);
  if (width % 2) store(pairs, 2 * (top[width - 1] + bottom[width - 1]));
}

// A chroma row's targets (the mean overlay chroma of each block, from the
// block's two frame rows' chroma top and bottom), as the frame lays them out:
// Cb, Cr interleaved (NV12), or all Cb then all Cr (I420).
void chroma_targets(const YuvPlanes& f, const std::uint32_t* top, const std::uint32_t* bottom,
                    std::uint8_t* targets) {
  if (f.nv12) {
    chroma_means<2>(top, bottom, f.width, targets, targets + 1);
  } else {
    chroma_means<1>(top, bottom, f.width, targets, targets + chroma_width(f));
  }
}

// Chroma row j blended toward its targets.
void blend_chroma(const YuvPlanes& f, int j, const RowBlender& blender, const std::uint8_t* targets) {
  const int cw = chroma_width(f);
  const ChromaRow row = chroma_row(f, j);
  if (f.nv12) {
    blender.blend(row.cb, targets, 2 * cw);
  } else {
    blender.blend(row.cb, targets, cw);
    blender.blend(row.cr, targets + cw, cw);
  }
}

// Every pixel blended with `blender`'s weight toward its overlay colour, which
// colours(y, scratch, luma, chroma) writes for frame row y. Rows with equal
// row_key(y) have equal colours (nearest grids: the grid row): a pair of rows
// showing what the previous pair showed reuses its colours and chroma targets.
template <typename Colours, typename RowKey>
void blend_everywhere(const YuvPlanes& f, float alpha, const Colours& colours, const RowKey& row_key) {
  const RowBlender blender(alpha, rgb_layout(PixelFormat::kGray));  // one byte per sample
  for_each_row_chunk(2 * f.width, (f.height + 1) / 2, [&](int begin, int end) {
    PairScratch& s = PairScratch::of_this_thread(f.width);
    int held[2] = {-1, -1};  // the row keys s.luma / s.chroma hold
    int held_rows = 0;       // the rows s.targets was computed from
    for (int j = begin; j < end; ++j) {
      const int rows = rows_in_pair(f, j);
      bool same = rows == held_rows;
      for (int r = 0; r < rows; ++r) {
        const int key = row_key(2 * j + r);
        if (key != held[r]) {
          colours(2 * j + r, s, s.luma[r].data(), s.chroma[r].data());
          held[r] = key;
          same = false;
        }
        blender.blend(luma_row(f, 2 * j + r), s.luma[r].data(), f.width);
      }
      if (!same) chroma_targets(f, s.chroma[0].data(), s.chroma[rows - 1].data(), s.targets.data());
      held_rows = rows;
      blend_chroma(f, j, blender, s.targets.data());
    }
  });
}

// Colours that differ on every row.
int every_row(int y) { return y; }

// One chroma sample moved by the mean of its four pixels' steps
// w_i (c_i - sample), w in 1/32768, c in 1/64 level (one 16-bit half of
// the packed chroma, at `shift`), rounded half up.
std::uint8_t weighted_step(std::uint8_t sample, const int* w, const std::uint32_t* c, int shift) {
  constexpr int kBits = 15 + kChromaFraction + 2;  // weight, chroma fraction, mean of four
  const std::int64_t base = std::int64_t(sample) << kChromaFraction;
  std::int64_t sum = 0;
  for (int i = 0; i < 4; ++i) sum += std::int64_t(w[i]) * (std::int64_t((c[i] >> shift) & 0xffff) - base);
  const std::int64_t moved = sample + ((sum + (std::int64_t(1) << (kBits - 1))) >> kBits);
  return std::uint8_t(std::clamp<std::int64_t>(moved, 0, 255));
}

// Chroma row j with a weight per pixel (top / bottom: the block's two frame
// rows); blocks whose four weights are 0 are not touched.
void blend_chroma_weighted(const YuvPlanes& f, int j, const std::uint16_t* top_w, const std::uint32_t* top_c,
                           const std::uint16_t* bottom_w, const std::uint32_t* bottom_c) {
  const ChromaRow row = chroma_row(f, j);
  const int cw = chroma_width(f), last = f.width - 1;
  for (int x2 = 0; x2 < cw; ++x2) {
    const int a = 2 * x2, b = std::min(2 * x2 + 1, last);
    const int w[4] = {top_w[a], top_w[b], bottom_w[a], bottom_w[b]};
    if ((w[0] | w[1] | w[2] | w[3]) == 0) continue;
    const std::uint32_t c[4] = {top_c[a], top_c[b], bottom_c[a], bottom_c[b]};
    std::uint8_t& cb = row.cb[x2 * row.step];
    std::uint8_t& cr = row.cr[x2 * row.step];
    cb = weighted_step(cb, w, c, 0);
    cr = weighted_step(cr, w, c, 16);
  }
}

void check_planes(const YuvPlanes& f) {
  const std::string size = std::to_string(f.width) + "x" + std::to_string(f.height);
  if (f.width <= 0 || f.height <= 0 || !f.y || !f.u || (!f.nv12 && !f.v)) {
    throw Error("drawing on " + std::string(f.nv12 ? "NV12" : "I420") + ": empty frame or missing plane (" + size +
                ")");
  }
  const int chroma_bytes = f.nv12 ? 2 * chroma_width(f) : chroma_width(f);
  if (f.y_stride < f.width || f.u_stride < chroma_bytes || (!f.nv12 && f.v_stride < chroma_bytes)) {
    throw Error("drawing on a " + size + " frame: plane stride too small (luma " + std::to_string(f.y_stride) +
                ", chroma " + std::to_string(f.u_stride) + "; need at least " + std::to_string(f.width) + " and " +
                std::to_string(chroma_bytes) + ")");
  }
}

}  // namespace

YuvPlanes i420_planes(std::uint8_t* y, int y_stride, std::uint8_t* u, int u_stride, std::uint8_t* v, int v_stride,
                      int width, int height, YuvMatrix matrix, bool full_range) {
  return {y, y_stride, u, u_stride, v, v_stride, /*nv12=*/false, width, height, matrix, full_range};
}

YuvPlanes nv12_planes(std::uint8_t* y, int y_stride, std::uint8_t* uv, int uv_stride, int width, int height,
                      YuvMatrix matrix, bool full_range) {
  return {y, y_stride, uv, uv_stride, nullptr, 0, /*nv12=*/true, width, height, matrix, full_range};
}

PixelRect label_chroma_region(const TextRenderer& renderer, const std::string& text, const TextStyle& style,
                              int width, int height) {
  PixelRect region = label_region(renderer, text, style, width, height);
  if (region.empty()) return region;
  // Whole chroma samples: even corners (or the frame's own odd edge).
  region.x0 -= region.x0 % 2;
  region.y0 -= region.y0 % 2;
  region.x1 = std::min(width, region.x1 + region.x1 % 2);
  region.y1 = std::min(height, region.y1 + region.y1 % 2);
  return region;
}

YuvOverlayCanvas::YuvOverlayCanvas(const YuvPlanes& frame)
    : frame_(frame), encoding_(yuv_encoding(frame.matrix, frame.full_range)) {
  check_planes(frame_);
}

void YuvOverlayCanvas::head_strip(const at::Tensor& heads, Colormap cmap, float alpha) {
  if (heads.dim() != 3 || heads.size(0) < 1 || heads.numel() == 0) {
    throw Error("draw_head_strip: expected non-empty [heads, h, w] maps");
  }
  if (!(alpha > 0.0f)) return;
  const at::Tensor grids = normalise_each_map(heads).to(at::kCPU, at::kFloat).contiguous();
  const TiledUpsampler tiles(grids.data_ptr<float>(), int(grids.size(0)), int(grids.size(1)), int(grids.size(2)),
                             frame_.height, frame_.width);
  YccTable table;
  for (const auto& rgb : colormap_table(cmap)) table.add(encoding_, rgb.data());
  blend_everywhere(frame_, alpha, [&](int y, PairScratch& s, std::uint8_t* luma, std::uint32_t* chroma) {
    tiles.row(y, s.values[0].data());
    colormap_indices(s.values[0].data(), width(), /*vmin=*/0.0f, /*scale=*/256.0f, s.bytes[0].data());
    gather(s.bytes[0].data(), width(), table.luma.data(), table.chroma.data(), luma, chroma);
  }, every_row);
}

void YuvOverlayCanvas::rgb_grid(const at::Tensor& grid_rgb, float alpha, bool smooth) {
  const Image grid = rgb_grid_image(grid_rgb);
  if (!(alpha > 0.0f)) return;
  if (smooth) {
    smooth_grid(grid, alpha);
  } else {
    nearest_grid(grid, alpha);
  }
}

// Each channel upsampled and rounded to bytes as blend_rgb_grid does, then
// converted per pixel.
void YuvOverlayCanvas::smooth_grid(const Image& grid, float alpha) {
  const std::vector<GridUpsampler> upsamplers =
      rgb_upsamplers(grid.pixels.data(), grid.height, grid.width, frame_.height, frame_.width);
  const FixedEncoding encode(encoding_);
  const int width = frame_.width;
  blend_everywhere(frame_, alpha, [&](int y, PairScratch& s, std::uint8_t* luma, std::uint32_t* chroma) {
    for (int c = 0; c < 3; ++c) {
      upsamplers[c].row(y, s.values[c].data());
      round_to_bytes(s.values[c].data(), width, s.bytes[c].data());
    }
    convert_fixed(encode, s.bytes[0].data(), s.bytes[1].data(), s.bytes[2].data(), width, luma, chroma);
  }, every_row);
}

// Nearest: frame pixel (x, y) shows cell (x * w / W, y * h / H).
void YuvOverlayCanvas::nearest_grid(const Image& grid, float alpha) {
  YccTable cells;
  for (std::size_t i = 0; i < grid.pixels.size(); i += 3) cells.add(encoding_, &grid.pixels[i]);
  const int width = frame_.width, height = frame_.height, gw = grid.width, gh = grid.height;
  std::vector<int> column(width);
  for (int x = 0; x < width; ++x) column[x] = std::min(gw - 1, int(std::int64_t(x) * gw / width));
  const auto grid_row = [=](int y) { return std::min(gh - 1, int(std::int64_t(y) * gh / height)); };
  blend_everywhere(frame_, alpha, [&](int y, PairScratch&, std::uint8_t* luma, std::uint32_t* chroma) {
    const std::size_t first = std::size_t(grid_row(y)) * gw;
    gather(column.data(), width, cells.luma.data() + first, cells.chroma.data() + first, luma, chroma);
  }, grid_row);
}

// Luma: runs of one class blended, contours written (as blend_mask); chroma:
// every block with a drawn pixel moved by the mean of its pixels' steps.
void YuvOverlayCanvas::mask(const at::Tensor& class_map, const Palette& palette, float alpha, bool contours) {
  const StretchedMask mask(class_map, frame_.width, frame_.height, "blend_mask");
  if (palette.empty()) throw Error("blend_mask: empty palette");
  YccTable colours;
  for (const auto& rgb : palette) colours.add(encoding_, rgb.data());
  const RowBlender blender(alpha, rgb_layout(PixelFormat::kGray));
  const std::uint16_t weight = std::uint16_t(blender.weight());
  const int width = frame_.width;
  const auto colour_of = [&](std::int64_t k) { return std::size_t(k) % palette.size(); };
  for_each_row_chunk(2 * width, (frame_.height + 1) / 2, [&](int begin, int end) {
    PairScratch& s = PairScratch::of_this_thread(width);
    MaskRowWalker walker(mask);
    for (int j = begin; j < end; ++j) {
      const int rows = rows_in_pair(frame_, j);
      for (int r = 0; r < rows; ++r) {
        std::uint8_t* row = luma_row(frame_, 2 * j + r);
        std::uint8_t* luma = s.luma[r].data();
        std::uint16_t* w = s.weight[r].data();
        std::uint32_t* chroma = s.chroma[r].data();
        walker.seek(2 * j + r);
        std::fill(w, w + width, std::uint16_t(0));
        for (const auto& [x0, x1] : walker.runs()) {
          const std::size_t k = colour_of(walker.classes()[x0]);
          std::fill(luma + x0, luma + x1, colours.luma[k]);
          std::fill(chroma + x0, chroma + x1, colours.chroma[k]);
          std::fill(w + x0, w + x1, weight);
          blender.blend(row + x0, luma + x0, x1 - x0);
        }
        if (!contours) continue;
        for (int x : walker.contour_pixels()) {
          row[x] = colours.luma[colour_of(walker.classes()[x])];
          w[x] = kOpaque;
        }
      }
      blend_chroma_weighted(frame_, j, s.weight[0].data(), s.chroma[0].data(), s.weight[rows - 1].data(),
                            s.chroma[rows - 1].data());
    }
  });
}

void YuvOverlayCanvas::text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) {
  if (text.empty() || style.pixel_height <= 0) return;
  const PixelRect region = label_chroma_region(renderer, text, style, frame_.width, frame_.height);
  if (region.empty()) return;
  Image rgb = region_rgb(region);
  const Image before = rgb;
  renderer.draw(MutableImageView{rgb.pixels.data(), rgb.width, rgb.height, std::ptrdiff_t(rgb.width) * 3,
                                 PixelFormat::kRGB},
                text, style.x - region.x0, style.y - region.y0, style.pixel_height, style.colour, style.background,
                style.background_alpha);
  write_changed(before, rgb, region);
}

// The region (even x0, y0) as RGB, with the textbook matrix (kStandard), the
// inverse of rgb_to_i420's.
Image YuvOverlayCanvas::region_rgb(const PixelRect& region) const {
  const int w = region.x1 - region.x0, h = region.y1 - region.y0;
  const std::ptrdiff_t cx = region.x0 / 2, cy = region.y0 / 2;
  const std::uint8_t* y = frame_.y + std::ptrdiff_t(region.y0) * frame_.y_stride + region.x0;
  if (frame_.nv12) {
    return nv12_to_rgb(y, frame_.y_stride, frame_.u + cy * frame_.u_stride + 2 * cx, frame_.u_stride, w, h,
                       frame_.matrix, frame_.full_range, YuvConversion::kStandard);
  }
  return i420_to_rgb(y, frame_.y_stride, frame_.u + cy * frame_.u_stride + cx, frame_.u_stride,
                     frame_.v + cy * frame_.v_stride + cx, frame_.v_stride, w, h, frame_.matrix, frame_.full_range,
                     YuvConversion::kStandard);
}

// The pixels where `after` differs from `before` written back as luma, and the
// chroma samples of their 2x2 blocks (from the block's mean colour).
void YuvOverlayCanvas::write_changed(const Image& before, const Image& after, const PixelRect& region) {
  const int w = after.width, h = after.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  std::vector<std::uint8_t> y(std::size_t(w) * h), u(std::size_t(cw) * ch), v(u.size()), changed(u.size(), 0);
  rgb_to_i420(after, y.data(), w, u.data(), cw, v.data(), cw, frame_.matrix, frame_.full_range);
  for (int py = 0; py < h; ++py) {
    std::uint8_t* out = luma_row(frame_, region.y0 + py) + region.x0;
    for (int px = 0; px < w; ++px) {
      if (std::memcmp(&before.pixels[(std::size_t(py) * w + px) * 3], &after.pixels[(std::size_t(py) * w + px) * 3],
                      3) == 0) {
        continue;
      }
      out[px] = y[std::size_t(py) * w + px];
      changed[std::size_t(py / 2) * cw + px / 2] = 1;
    }
  }
  for (int j = 0; j < ch; ++j) {
    const ChromaRow row = chroma_row(frame_, region.y0 / 2 + j);
    for (int x2 = 0; x2 < cw; ++x2) {
      const std::size_t i = std::size_t(j) * cw + x2;
      if (!changed[i]) continue;
      row.cb[(region.x0 / 2 + x2) * row.step] = u[i];
      row.cr[(region.x0 / 2 + x2) * row.step] = v[i];
    }
  }
}

}  // namespace dinoclip
