#include "vision/device_overlay.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "vision/color_convert.h"
#include "vision/grid_upsample.h"
#include "vision/ycc_fixed_point.h"
#include "vision/yuv_overlay_canvas.h"

namespace dinoclip {
namespace {

std::string shape_text(at::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? ", " : "") + std::to_string(sizes[i]);
  return text + "]";
}

void fail(const std::string& what) { throw Error("device overlay: " + what); }

void expect_plane(const at::Tensor& plane, std::vector<int64_t> sizes, const char* name, const c10::Device& device) {
  if (!plane.defined()) fail(std::string("the ") + name + " plane is missing");
  if (plane.scalar_type() != at::kByte) fail(std::string("the ") + name + " plane is not uint8");
  if (plane.device() != device) fail(std::string("the ") + name + " plane is on another device than the first");
  if (plane.sizes() != at::IntArrayRef(sizes)) {
    fail(std::string("the ") + name + " plane is " + shape_text(plane.sizes()) + ", expected " + shape_text(sizes));
  }
  if (plane.dim() == 3 && plane.stride(2) != 1) fail(std::string("the ") + name + " plane's bytes are not adjacent");
}

// What FramePlanes promises for its layout (frame_planes.h), checked here.
void check_planes(const FramePlanes& frame) {
  if (frame.width <= 0 || frame.height <= 0) {
    fail("empty frame (" + std::to_string(frame.width) + "x" + std::to_string(frame.height) + ")");
  }
  const int64_t h = frame.height, w = frame.width, ch = (h + 1) / 2, cw = (w + 1) / 2;
  const size_t expected_planes = frame.layout == FrameLayout::kPacked ? 1 : frame.layout == FrameLayout::kNV12 ? 2 : 3;
  if (frame.planes.size() != expected_planes) {
    fail(std::to_string(frame.planes.size()) + " planes where the layout has " + std::to_string(expected_planes));
  }
  if (!frame.planes[0].defined()) fail("the first plane is missing");
  const c10::Device device = frame.planes[0].device();
  switch (frame.layout) {
    case FrameLayout::kPacked:
      if (frame.packed_format == PixelFormat::kGray) fail("cannot draw colours on a grey frame");
      expect_plane(frame.planes[0], {h, w, bytes_per_pixel(frame.packed_format)}, "packed", device);
      break;
    case FrameLayout::kI420:
      expect_plane(frame.planes[0], {h, w}, "Y", device);
      expect_plane(frame.planes[1], {ch, cw}, "U", device);
      expect_plane(frame.planes[2], {ch, cw}, "V", device);
      break;
    case FrameLayout::kNV12:
      expect_plane(frame.planes[0], {h, w}, "Y", device);
      expect_plane(frame.planes[1], {ch, cw, 2}, "UV", device);
      break;
  }
}

// Host floats gathered for one upload (upsampling taps, nearest-neighbour
// indices, palettes, small class maps): one small copy to the device per
// drawing. To a GPU it goes from pinned memory without waiting, so the
// frame's kernels queue up behind it instead of the CPU waiting for them
// (a plain copy from pageable memory synchronises the stream).
class HostFloats {
 public:
  // Appends `values`; returns where they start.
  template <typename T>
  int64_t add(const std::vector<T>& values) {
    const int64_t at = int64_t(data_.size());
    for (const T& v : values) data_.push_back(float(v));  // indices and class ids are exact below 2^24
    return at;
  }
  int64_t add(const at::Tensor& values) {
    const at::Tensor floats = values.to(at::kFloat).contiguous();
    const int64_t at = int64_t(data_.size());
    data_.insert(data_.end(), floats.data_ptr<float>(), floats.data_ptr<float>() + floats.numel());
    return at;
  }
  at::Tensor upload(const c10::Device& device) const {
    const bool to_gpu = !device.is_cpu();
    at::Tensor host = at::empty({int64_t(data_.size())}, at::TensorOptions().dtype(at::kFloat).pinned_memory(to_gpu));
    std::memcpy(host.data_ptr<float>(), data_.data(), data_.size() * sizeof(float));
    return to_gpu ? host.to(device, /*non_blocking=*/true) : host;
  }

 private:
  std::vector<float> data_;
};

// A small table `make` builds on the host, on `device`: made once per key and
// device, then kept (never freed: GPU tensors must not be destroyed after the
// CUDA runtime at exit).
template <typename Make>
at::Tensor kept_table(const std::string& key, const c10::Device& device, const Make& make) {
  static std::mutex lock;
  static auto* tables = new std::map<std::pair<std::string, std::string>, at::Tensor>;
  const std::pair<std::string, std::string> where{key, device.str()};
  std::lock_guard<std::mutex> guard(lock);
  auto found = tables->find(where);
  if (found != tables->end()) return found->second;
  return tables->emplace(where, make().to(device)).first->second;
}

// A colour map's table [256, 3] as float32 on `device`, each entry as
// `entry` writes it (`variant` names how: byte order, or Y'CbCr and its encoding).
template <typename Entry>
at::Tensor device_colormap(Colormap cmap, const c10::Device& device, const std::string& variant, const Entry& entry) {
  return kept_table(std::string(colormap_name(cmap)) + " " + variant, device, [&] {
    const auto& table = colormap_table(cmap);
    at::Tensor host = at::empty({256, 3}, at::kFloat);
    float* values = host.data_ptr<float>();
    for (int i = 0; i < 256; ++i) {
      const std::array<float, 3> colour = entry(table[i].data());
      std::copy(colour.begin(), colour.end(), values + 3 * i);
    }
    return host;
  });
}

// Frame coordinate i of `out` shows source cell min(in - 1, i * in / out) (overlay.h's nearest).
std::vector<int64_t> nearest_cells(int in, int out) {
  std::vector<int64_t> cells(out);
  for (int i = 0; i < out; ++i) cells[i] = std::min(in - 1, int(int64_t(i) * in / out));
  return cells;
}

// GridUpsampler's separable bilinear upsampling on tensors, with its taps and
// order of operations (a * w0 + b * w1 across, then the same down).
// grids [n, gh, gw] float on the device. tiled: grid i covers columns
// [W i / n, W (i + 1) / n) of one output [1, H, W] (draw_head_strip's tiles;
// a tile narrower than a pixel is left out); otherwise each grid covers the
// frame: [n, H, W].
at::Tensor upsample_grids(const at::Tensor& grids, int out_h, int out_w, bool tiled) {
  const int n = int(grids.size(0)), gh = int(grids.size(1)), gw = int(grids.size(2));
  std::vector<int> index0, index1;
  std::vector<float> weight0, weight1;
  const int tiles = tiled ? n : 1;
  for (int i = 0; i < tiles; ++i) {
    const int x0 = int(int64_t(out_w) * i / tiles), x1 = int(int64_t(out_w) * (i + 1) / tiles);
    if (x1 <= x0) continue;
    const LinearTaps taps = linear_taps(gw, x1 - x0);
    for (int x = 0; x < x1 - x0; ++x) {
      index0.push_back(i * gw + taps.index0[x]);
      index1.push_back(i * gw + taps.index1[x]);
    }
    weight0.insert(weight0.end(), taps.weight0.begin(), taps.weight0.end());
    weight1.insert(weight1.end(), taps.weight1.begin(), taps.weight1.end());
  }
  const LinearTaps down = linear_taps(gh, out_h);
  HostFloats host;
  const int64_t c0 = host.add(index0), c1 = host.add(index1), r0 = host.add(down.index0), r1 = host.add(down.index1);
  const int64_t cw0 = host.add(weight0), cw1 = host.add(weight1), rw0 = host.add(down.weight0),
                rw1 = host.add(down.weight1);
  const at::Tensor taps = host.upload(grids.device());
  const at::Tensor indices = taps.narrow(0, 0, cw0).to(at::kLong);  // c0 c1 r0 r1, one cast
  const auto index = [&](int64_t at, int64_t count) { return indices.narrow(0, at, count); };
  const auto weight = [&](int64_t at, int64_t count) { return taps.narrow(0, at, count); };
  // Tiled: the grids side by side along x, [1, gh, n * gw], so that one gather per tap serves every tile.
  const at::Tensor source = tiled ? grids.permute({1, 0, 2}).reshape({1, gh, n * gw}) : grids;
  const at::Tensor across = source.index_select(2, index(c0, out_w)) * weight(cw0, out_w) +
                            source.index_select(2, index(c1, out_w)) * weight(cw1, out_w);  // [m, gh, W]
  return across.index_select(1, index(r0, out_h)) * weight(rw0, out_h).view({out_h, 1}) +
         across.index_select(1, index(r1, out_h)) * weight(rw1, out_h).view({out_h, 1});
}

// Per chroma sample, the sum of its 2x2 block of per-pixel values [H, W, ...]
// (at an odd frame edge the last row / column counts twice, as rgb_to_i420
// averages): [ceil(H / 2), ceil(W / 2), ...].
at::Tensor block_sums(at::Tensor values) {
  const int64_t h = values.size(0), w = values.size(1);
  if (w % 2) values = at::cat({values, values.narrow(1, w - 1, 1)}, 1);
  if (h % 2) values = at::cat({values, values.narrow(0, h - 1, 1)}, 0);
  std::vector<int64_t> blocks = {(h + 1) / 2, 2, (w + 1) / 2, 2};
  for (int64_t d = 2; d < values.dim(); ++d) blocks.push_back(values.size(d));
  return values.reshape(blocks).sum({1, 3});
}

// bytes += floor((colours - bytes) * weight + 1/2) (exact in float32: every
// term has fewer than 24 significant bits); weight a double or a tensor that
// broadcasts against colours.
template <typename Weight>
void blend_bytes(const at::Tensor& bytes, const at::Tensor& colours, const Weight& weight) {
  at::Tensor base = bytes.to(at::kFloat);
  const at::Tensor step = (colours - base).mul_(weight).add_(0.5).floor_();
  bytes.copy_(base.add_(step));
}

// ycc_colour (ycc_fixed_point.h) on a table of RGB bytes [n, 3] where it lies:
// the same double expressions in the same order, so the same roundings.
// [n, 3] float: luma byte, Cb and Cr in 1/64 level. Luma and chroma share
// the steps (x y_scale or c_scale, / 1 or 2 (1 - k), + offset, x 1 or 64:
// the ones and the powers of two change nothing); the divisors are device
// tensors, as CUDA turns a division by a host scalar into a multiplication
// by its reciprocal (another rounding).
at::Tensor ycc_colours(const at::Tensor& rgb, const YuvEncoding& e, const std::string& variant) {
  enum { kScale, kDivisor, kOffset, kUnit, kMax, kByte };
  const at::Tensor constants = kept_table("ycc constants " + variant, rgb.device(), [&] {
    const double fraction = double(1 << kChromaFraction), max = double(kChromaMax);
    return at::tensor({e.y_scale, e.c_scale, e.c_scale, 1.0, 2.0 * (1.0 - e.kb), 2.0 * (1.0 - e.kr), e.y_offset, 128.0,
                       128.0, 1.0, fraction, fraction, 255.0, max, max, 255.0, 255.0, 255.0},
                      at::kDouble)
        .view({6, 3});
  });
  const at::Tensor unit = rgb.to(at::kDouble) / constants[kByte];
  const at::Tensor r = unit.select(1, 0), g = unit.select(1, 1), b = unit.select(1, 2);
  const at::Tensor weighted = (r * e.kr + g * e.kg) + b * e.kb;
  const at::Tensor levels = at::stack({weighted, b - weighted, r - weighted}, 1)
                                .mul_(constants[kScale])
                                .div_(constants[kDivisor])
                                .add_(constants[kOffset])
                                .mul_(constants[kUnit]);
  return at::minimum(levels.add_(0.5).floor_().clamp_min_(0.0), constants[kMax]).to(at::kFloat);
}

// FixedEncoding on byte-valued RGB planes [3, H, W] float: [H, W, 3] float,
// luma byte, Cb and Cr in 1/64 level (YuvOverlayCanvas's smooth colours).
// Integers below 2^24 throughout, so float32 sums them exactly in any order.
at::Tensor fixed_ycc(const at::Tensor& rgb_planes, const YuvEncoding& encoding) {
  const FixedEncoding e(encoding);
  HostFloats host;
  std::vector<float> constants;
  for (const auto& row : e.gains) constants.insert(constants.end(), row, row + 3);
  constants.insert(constants.end(), {float(e.y0), float(e.c0), float(e.c0)});
  constants.insert(constants.end(), {float(1 << FixedEncoding::kLumaShift), float(1 << FixedEncoding::kChromaShift),
                                     float(1 << FixedEncoding::kChromaShift)});
  constants.insert(constants.end(), {255.0f, float(kChromaMax), float(kChromaMax)});
  host.add(constants);
  const at::Tensor block = host.upload(rgb_planes.device());
  const at::Tensor gains = block.narrow(0, 0, 9).view({3, 3}), offsets = block.narrow(0, 9, 3),
                   units = block.narrow(0, 12, 3), caps = block.narrow(0, 15, 3);
  const at::Tensor sums = (rgb_planes.permute({1, 2, 0}).unsqueeze(2) * gains).sum(3).add_(offsets);  // [H, W, 3]
  return at::minimum(sums.div_(units).floor_(), caps);
}

// Packed byte j's colour channel (R 0, G 1, B 2).
std::array<int64_t, 3> channel_of_bytes(PixelFormat format) {
  const RgbLayout layout = rgb_layout(format);
  std::array<int64_t, 3> channel{};
  channel[layout.r] = 0;
  channel[layout.g] = 1;
  channel[layout.b] = 2;
  return channel;
}

bool is_rgb_order(const std::array<int64_t, 3>& channel) { return channel[0] == 0 && channel[1] == 1; }

}  // namespace

float blend_weight(float alpha) {
  if (!(alpha > 0.0f)) return 0.0f;
  if (alpha >= 1.0f) return 1.0f;
  return float(std::min(32767L, std::lround(double(alpha) * 32768.0))) / 32768.0f;  // RowBlender's weight
}

DeviceOverlay::DeviceOverlay(FramePlanes frame, const c10::Device& device)
    : target_(std::move(frame)), device_(device), width_(target_.width), height_(target_.height) {
  check_planes(target_);
  work_ = target_;
  if (target_.planes[0].device() != device_) {
    for (at::Tensor& plane : work_.planes) plane = plane.to(device_);  // one upload per plane
  }
  if (is_yuv()) {
    encoding_ = yuv_encoding(work_.matrix, work_.full_range);
  } else {
    canvas_ = work_.planes[0].narrow(2, 0, 3);  // every packed layout keeps its colour in bytes 0-2
    channel_of_byte_ = channel_of_bytes(work_.packed_format);
  }
}

std::string DeviceOverlay::table_variant() const {
  if (!is_yuv()) {
    return "rgb" + std::to_string(channel_of_byte_[0]) + std::to_string(channel_of_byte_[1]) +
           std::to_string(channel_of_byte_[2]);
  }
  return std::string("ycc") + (work_.matrix == YuvMatrix::kBt709 ? "709" : "601") +
         (work_.full_range ? "full" : "limited");
}

std::array<float, 3> DeviceOverlay::table_entry(const std::uint8_t* rgb) const {
  if (is_yuv()) {
    const YccColour c = ycc_colour(encoding_, rgb);
    return {float(c.luma), float(c.cb), float(c.cr)};
  }
  return {float(rgb[channel_of_byte_[0]]), float(rgb[channel_of_byte_[1]]), float(rgb[channel_of_byte_[2]])};
}

at::Tensor DeviceOverlay::device_colours(const at::Tensor& rgb_table) const {
  if (is_yuv()) return ycc_colours(rgb_table.to(device_), encoding_, table_variant());
  const at::Tensor table = rgb_table.to(device_, at::kFloat);
  if (is_rgb_order(channel_of_byte_)) return table;
  return at::stack({table.select(1, channel_of_byte_[0]), table.select(1, channel_of_byte_[1]),
                    table.select(1, channel_of_byte_[2])},
                   1);
}

at::Tensor DeviceOverlay::chroma_bytes() const {
  if (work_.layout == FrameLayout::kNV12) return work_.planes[1];
  return at::stack({work_.planes[1], work_.planes[2]}, 2);
}

void DeviceOverlay::store_chroma(const at::Tensor& chroma) {
  if (work_.layout == FrameLayout::kNV12) {
    if (!chroma.is_same(work_.planes[1])) work_.planes[1].copy_(chroma);
    return;
  }
  work_.planes[1].copy_(chroma.select(2, 0));
  work_.planes[2].copy_(chroma.select(2, 1));
}

void DeviceOverlay::blend(const at::Tensor& colours, float alpha) {
  const double weight = blend_weight(alpha);
  if (!is_yuv()) {
    blend_bytes(canvas_, colours, weight);
    return;
  }
  blend_bytes(work_.planes[0], colours.select(2, 0), weight);
  // Each chroma sample toward its block's mean overlay chroma, rounded half up to a byte.
  const double quarter_units = double(1 << (kChromaFraction + 2));
  const at::Tensor targets =
      block_sums(colours.narrow(2, 1, 2)).add_(quarter_units / 2).div_(quarter_units).floor_().clamp_max_(255.0);
  const at::Tensor chroma = chroma_bytes();
  blend_bytes(chroma, targets, weight);
  store_chroma(chroma);
}

void DeviceOverlay::blend(const at::Tensor& colours, const at::Tensor& weight) {
  if (!is_yuv()) {
    blend_bytes(canvas_, colours, weight.unsqueeze(2));
    return;
  }
  blend_bytes(work_.planes[0], colours.select(2, 0), weight);
  // Each chroma sample C moves by the mean of its block's steps w_i (c_i - C):
  // C + floor((sum_i w_i (c_i - 64 C) + 2^22) / 2^23) with w in 1/32768 and c
  // in 1/64 level, as YuvOverlayCanvas's integers; float64 holds every term exactly.
  const at::Tensor w = weight.to(at::kDouble).mul_(double(kOpaque));
  const at::Tensor weighted_chroma = block_sums(colours.narrow(2, 1, 2).to(at::kDouble).mul_(w.unsqueeze(2)));
  const at::Tensor weights = block_sums(w).unsqueeze(2);
  const at::Tensor chroma = chroma_bytes();
  const at::Tensor base = chroma.to(at::kDouble);
  const double unit = double(kOpaque) * double(1 << (kChromaFraction + 2));
  const at::Tensor steps =
      weighted_chroma.sub_(base * double(1 << kChromaFraction) * weights).add_(unit / 2).div_(unit).floor_();
  chroma.copy_(base.add_(steps).clamp_(0.0, 255.0));
  store_chroma(chroma);
}

void DeviceOverlay::head_strip(const at::Tensor& heads, Colormap cmap, float alpha) {
  if (heads.dim() != 3 || heads.size(0) < 1 || heads.numel() == 0) {
    throw Error("draw_head_strip: expected non-empty [heads, h, w] maps");
  }
  if (!(alpha > 0.0f)) return;
  const at::Tensor maps = normalise_each_map(heads.to(device_));
  const at::Tensor values = upsample_grids(maps, height_, width_, /*tiled=*/true)[0];
  // overlay.cpp's quantise: int(v * 256) clamped to [0, 255], NaN to 0.
  const at::Tensor index = at::nan_to_num(values * 256.0f, 0.0, 255.0, 0.0).clamp_(0.0, 255.0).to(at::kLong);
  const at::Tensor table =
      device_colormap(cmap, device_, table_variant(), [&](const std::uint8_t* rgb) { return table_entry(rgb); });
  blend(table.index_select(0, index.flatten()).view({height_, width_, 3}), alpha);
}

void DeviceOverlay::rgb_grid(const at::Tensor& grid_rgb, float alpha, bool smooth) {
  if (grid_rgb.dim() != 3 || grid_rgb.size(2) != 3 || grid_rgb.size(0) < 1 || grid_rgb.size(1) < 1) {
    throw Error("blend_rgb_grid: expected a non-empty RGB picture");
  }
  if (!(alpha > 0.0f)) return;
  const int gh = int(grid_rgb.size(0)), gw = int(grid_rgb.size(1));
  if (smooth) {
    // Each channel upsampled as a float plane, rounded half to even, clamped
    // (overlay.cpp's round_to_bytes); YUV frames: then FixedEncoding per pixel.
    const at::Tensor cells =
        is_yuv() ? grid_rgb.to(device_, at::kFloat) : device_colours(grid_rgb.reshape({gh * gw, 3})).view({gh, gw, 3});
    const at::Tensor bytes =
        upsample_grids(cells.permute({2, 0, 1}).contiguous(), height_, width_, false).round_().clamp_(0.0, 255.0);
    blend(is_yuv() ? fixed_ycc(bytes, encoding_) : bytes.permute({1, 2, 0}), alpha);
    return;
  }
  const at::Tensor cells = device_colours(grid_rgb.reshape({gh * gw, 3})).view({gh, gw, 3});
  HostFloats host;
  const int64_t rows = host.add(nearest_cells(gh, height_)), columns = host.add(nearest_cells(gw, width_));
  const at::Tensor indices = host.upload(device_).to(at::kLong);
  blend(cells.index_select(0, indices.narrow(0, rows, height_)).index_select(1, indices.narrow(0, columns, width_)),
        alpha);
}

void DeviceOverlay::mask(const at::Tensor& class_map, const Palette& palette, float alpha, bool contours) {
  if (class_map.dim() != 2 || class_map.numel() == 0) {
    throw Error("blend_mask: expected a non-empty [height, width] class map");
  }
  if (palette.empty()) throw Error("blend_mask: empty palette");
  const int mh = int(class_map.size(0)), mw = int(class_map.size(1));
  HostFloats host;
  const int64_t rows = host.add(nearest_cells(mh, height_)), columns = host.add(nearest_cells(mw, width_));
  std::vector<float> colours;
  for (const auto& rgb : palette) {
    const std::array<float, 3> entry = table_entry(rgb.data());
    colours.insert(colours.end(), entry.begin(), entry.end());
  }
  const int64_t table_at = host.add(colours);
  // A uint8 class map on the host (the segmentation meta's) travels in the same upload.
  const bool map_on_host = class_map.is_cpu() && class_map.scalar_type() == at::kByte && !device_.is_cpu();
  const int64_t map_at = map_on_host ? host.add(class_map.flatten()) : 0;
  const at::Tensor block = host.upload(device_);
  const at::Tensor indices = block.narrow(0, 0, table_at).to(at::kLong);
  const at::Tensor table = block.narrow(0, table_at, int64_t(colours.size())).view({-1, 3});
  const at::Tensor classes = map_on_host ? block.narrow(0, map_at, int64_t(mh) * mw).view({mh, mw}) : class_map;
  // Nearest: frame pixel (x, y) shows class (x * mw / W, y * mh / H).
  const at::Tensor ids = classes.to(device_, at::kLong)
                             .index_select(0, indices.narrow(0, rows, height_))
                             .index_select(1, indices.narrow(0, columns, width_));  // [H, W]
  const at::Tensor drawn = ids > 0;  // class 0 (and below) is never touched
  const at::Tensor over =
      table.index_select(0, ids.clamp_min(0).remainder(int64_t(palette.size())).flatten()).view({height_, width_, 3});
  at::Tensor weight = drawn.to(at::kFloat).mul_(double(blend_weight(alpha)));
  if (contours) {
    // A drawn pixel whose left, right, upper or lower neighbour shows another class is a border, drawn opaque.
    at::Tensor border = at::zeros_like(drawn);
    for (int dim : {0, 1}) {
      const int64_t n = ids.size(dim);
      if (n < 2) continue;
      const at::Tensor differs = ids.narrow(dim, 1, n - 1) != ids.narrow(dim, 0, n - 1);
      border.narrow(dim, 1, n - 1).bitwise_or_(differs);
      border.narrow(dim, 0, n - 1).bitwise_or_(differs);
    }
    weight.masked_fill_(border.bitwise_and_(drawn), 1.0);
  }
  blend(over, weight);
}

void DeviceOverlay::text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) {
  if (text.empty() || style.pixel_height <= 0) return;
  if (is_yuv()) {
    yuv_text(renderer, text, style);
    return;
  }
  const PixelRect r = label_region(renderer, text, style, width_, height_);
  if (r.empty()) return;
  const int x0 = r.x0, y0 = r.y0, x1 = r.x1, y1 = r.y1;
  const at::Tensor region = canvas_.narrow(0, y0, y1 - y0).narrow(1, x0, x1 - x0);
  at::Tensor host = region.to(at::kCPU).contiguous();
  const PixelFormat order = is_rgb_order(channel_of_byte_) ? PixelFormat::kRGB : PixelFormat::kBGR;
  renderer.draw(MutableImageView{host.data_ptr<std::uint8_t>(), x1 - x0, y1 - y0, std::ptrdiff_t(x1 - x0) * 3, order},
                text, style.x - x0, style.y - y0, style.pixel_height, style.colour, style.background,
                style.background_alpha);
  region.copy_(host);
}

// YuvOverlayCanvas draws the label on a host copy of the planes under its
// region (whole chroma samples), which is then copied back: the same bytes
// as on the whole frame, since the label touches nothing outside its region.
void DeviceOverlay::yuv_text(const TextRenderer& renderer, const std::string& text, const TextStyle& style) {
  const PixelRect r = label_chroma_region(renderer, text, style, width_, height_);
  if (r.empty()) return;
  const int w = r.x1 - r.x0, h = r.y1 - r.y0, cw = (r.x1 + 1) / 2 - r.x0 / 2, ch = (r.y1 + 1) / 2 - r.y0 / 2;
  std::vector<at::Tensor> regions, host;
  for (size_t i = 0; i < work_.planes.size(); ++i) {
    const at::Tensor& plane = work_.planes[i];
    regions.push_back(i == 0 ? plane.narrow(0, r.y0, h).narrow(1, r.x0, w)
                             : plane.narrow(0, r.y0 / 2, ch).narrow(1, r.x0 / 2, cw));
    host.push_back(regions.back().to(at::kCPU).contiguous());
  }
  const auto bytes = [&](size_t i) { return host[i].data_ptr<std::uint8_t>(); };
  const auto stride = [&](size_t i) { return int(host[i].stride(0)); };
  const YuvPlanes planes = work_.layout == FrameLayout::kNV12
                               ? nv12_planes(bytes(0), stride(0), bytes(1), stride(1), w, h, work_.matrix,
                                             work_.full_range)
                               : i420_planes(bytes(0), stride(0), bytes(1), stride(1), bytes(2), stride(2), w, h,
                                             work_.matrix, work_.full_range);
  TextStyle shifted = style;
  shifted.x -= r.x0;
  shifted.y -= r.y0;
  YuvOverlayCanvas(planes).text(renderer, text, shifted);
  for (size_t i = 0; i < regions.size(); ++i) {
    if (!host[i].is_same(regions[i])) regions[i].copy_(host[i]);
  }
}

void DeviceOverlay::finish() {
  if (target_.planes[0].device() != device_) {
    for (size_t i = 0; i < target_.planes.size(); ++i) target_.planes[i].copy_(work_.planes[i]);  // one download each
  }
}

}  // namespace dinoclip
