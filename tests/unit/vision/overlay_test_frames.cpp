#include "overlay_test_frames.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdlib>

#include "vision/color_convert.h"
#include "vision/device_overlay.h"

namespace dinoclip::testing {

const FrameKind kKinds[8] = {
    {FrameLayout::kPacked, PixelFormat::kRGB, "RGB"},   {FrameLayout::kPacked, PixelFormat::kBGR, "BGR"},
    {FrameLayout::kPacked, PixelFormat::kRGBA, "RGBA"}, {FrameLayout::kPacked, PixelFormat::kBGRA, "BGRA"},
    {FrameLayout::kPacked, PixelFormat::kRGBx, "RGBx"}, {FrameLayout::kPacked, PixelFormat::kBGRx, "BGRx"},
    {FrameLayout::kI420, PixelFormat::kRGB, "I420"},    {FrameLayout::kNV12, PixelFormat::kRGB, "NV12"},
};

TestFrame::TestFrame(const FrameKind& k, int w, int h, int padding, std::uint64_t seed)
    : kind(k), width(w), height(h) {
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  switch (k.layout) {
    case FrameLayout::kPacked:
      strides = {w * bytes_per_pixel(k.packed_format) + padding};
      rows = {h};
      break;
    case FrameLayout::kI420:
      strides = {w + padding, cw + padding, cw + padding};
      rows = {h, ch, ch};
      break;
    case FrameLayout::kNV12:
      strides = {w + padding, 2 * cw + padding};
      rows = {h, ch};
      break;
  }
  at::Generator gen = at::detail::createCPUGenerator(seed);
  for (size_t i = 0; i < strides.size(); ++i) {
    const at::Tensor random = at::randint(0, 256, {int64_t(strides[i]) * rows[i]}, gen, at::kByte);
    bytes.emplace_back(random.data_ptr<std::uint8_t>(), random.data_ptr<std::uint8_t>() + random.numel());
  }
  matrix = seed % 2 ? YuvMatrix::kBt709 : YuvMatrix::kBt601;
  full_range = seed % 3 == 0;
}

FramePlanes TestFrame::planes() {
  FramePlanes f;
  f.layout = kind.layout;
  f.packed_format = kind.packed_format;
  f.width = width;
  f.height = height;
  f.matrix = matrix;
  f.full_range = full_range;
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  const auto view = [&](int i, std::vector<int64_t> sizes, std::vector<int64_t> strides_) {
    return at::from_blob(bytes[i].data(), sizes, strides_, at::kByte);
  };
  switch (kind.layout) {
    case FrameLayout::kPacked: {
      const int bpp = bytes_per_pixel(kind.packed_format);
      f.planes = {view(0, {height, width, bpp}, {strides[0], bpp, 1})};
      break;
    }
    case FrameLayout::kI420:
      f.planes = {view(0, {height, width}, {strides[0], 1}), view(1, {ch, cw}, {strides[1], 1}),
                  view(2, {ch, cw}, {strides[2], 1})};
      break;
    case FrameLayout::kNV12:
      f.planes = {view(0, {height, width}, {strides[0], 1}), view(1, {ch, cw, 2}, {strides[1], 2, 1})};
      break;
  }
  return f;
}

void TestFrame::draw_on_cpu(const std::function<void(OverlayCanvas&)>& draw) {
  if (kind.layout == FrameLayout::kPacked) {
    HostOverlayCanvas canvas(MutableImageView{bytes[0].data(), width, height, strides[0], kind.packed_format});
    draw(canvas);
    return;
  }
  Image rgb = kind.layout == FrameLayout::kI420
                  ? i420_to_rgb(bytes[0].data(), strides[0], bytes[1].data(), strides[1], bytes[2].data(),
                                strides[2], width, height, matrix, full_range, YuvConversion::kStandard)
                  : nv12_to_rgb(bytes[0].data(), strides[0], bytes[1].data(), strides[1], width, height, matrix,
                                full_range, YuvConversion::kStandard);
  HostOverlayCanvas canvas(MutableImageView{rgb.pixels.data(), width, height, std::ptrdiff_t(width) * 3,
                                            PixelFormat::kRGB});
  draw(canvas);
  if (kind.layout == FrameLayout::kI420) {
    rgb_to_i420(rgb, bytes[0].data(), strides[0], bytes[1].data(), strides[1], bytes[2].data(), strides[2], matrix,
                full_range);
  } else {
    rgb_to_nv12(rgb, bytes[0].data(), strides[0], bytes[1].data(), strides[1], matrix, full_range);
  }
}

YuvPlanes TestFrame::yuv_planes() {
  if (kind.layout == FrameLayout::kI420) {
    return i420_planes(bytes[0].data(), strides[0], bytes[1].data(), strides[1], bytes[2].data(), strides[2], width,
                       height, matrix, full_range);
  }
  return nv12_planes(bytes[0].data(), strides[0], bytes[1].data(), strides[1], width, height, matrix, full_range);
}

void TestFrame::draw_in_ycbcr(const std::function<void(OverlayCanvas&)>& draw) {
  YuvOverlayCanvas canvas(yuv_planes());
  draw(canvas);
}

void TestFrame::draw_reference(const std::function<void(OverlayCanvas&)>& draw) {
  if (kind.layout == FrameLayout::kPacked) {
    draw_on_cpu(draw);
  } else {
    draw_in_ycbcr(draw);
  }
}

void TestFrame::draw_on_device(const std::function<void(OverlayCanvas&)>& draw, const c10::Device& device) {
  DeviceOverlay canvas(planes(), device);
  draw(canvas);
  canvas.finish();
}

at::Tensor random_maps(int n, int h, int w, std::uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::rand({n, h, w}, gen) * 3.0f - 1.0f;
}

at::Tensor random_grid(int h, int w, std::uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::randint(0, 256, {h, w, 3}, gen, at::kByte);
}

Difference difference(const TestFrame& a, const TestFrame& b) {
  Difference d;
  for (size_t i = 0; i < a.bytes.size(); ++i) {
    for (size_t k = 0; k < a.bytes[i].size(); ++k) {
      const int delta = std::abs(int(a.bytes[i][k]) - int(b.bytes[i][k]));
      d.worst = std::max(d.worst, delta);
      d.differing += delta != 0;
      ++d.total;
    }
  }
  return d;
}

}  // namespace dinoclip::testing
