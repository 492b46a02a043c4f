#include "vision/preprocess.h"

#include <ATen/ATen.h>

#include <string>

#include "core/error.h"
#include "vision/color_convert.h"
#include "vision/resample.h"

namespace dinoclip {
namespace {

using ChannelTable = std::array<float, 256>;

// Every uint8 value's normalised float, computed exactly as torchvision does
// it on a tensor (float32: divide by 255, subtract the mean, divide by std).
std::array<ChannelTable, 3> normalisation_tables(const ChannelStats& stats) {
  std::array<ChannelTable, 3> tables;
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) tables[c][v] = (float(v) / 255.0f - stats.mean[c]) / stats.std[c];
  }
  return tables;
}

void check_resolution(int resolution, const char* who) {
  if (resolution <= 0 || resolution > 16384) {
    throw Error(std::string(who) + ": resolution " + std::to_string(resolution) + " must be in 1..16384");
  }
}

}  // namespace

at::Tensor to_chw_float(const Image& rgb) {
  if (rgb.channels != 3 || rgb.width <= 0 || rgb.height <= 0) {
    throw Error("to_chw_float: expected a non-empty 3-channel RGB image, got " + std::to_string(rgb.width) + "x" +
                std::to_string(rgb.height) + "x" + std::to_string(rgb.channels));
  }
  at::Tensor out = at::empty({3, rgb.height, rgb.width}, at::kFloat);
  float* dst = out.data_ptr<float>();
  const std::size_t plane = std::size_t(rgb.width) * rgb.height;
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) dst[c * plane + i] = float(rgb.pixels[3 * i + c]) / 255.0f;
  }
  return out;
}

at::Tensor normalize_to_tensor(const ImageView& image, const ChannelStats& stats) {
  check_image_view(image, "normalize_to_tensor");
  const auto tables = normalisation_tables(stats);
  const RgbLayout layout = rgb_layout(image.format);
  const int offsets[3] = {layout.r, layout.g, layout.b};
  at::Tensor out = at::empty({1, 3, image.height, image.width}, at::kFloat);
  float* dst = out.data_ptr<float>();
  const std::size_t plane = std::size_t(image.width) * image.height;
  for (int c = 0; c < 3; ++c) {
    const ChannelTable& table = tables[c];
    for (int y = 0; y < image.height; ++y) {
      const std::uint8_t* in = image.data + std::ptrdiff_t(y) * image.stride + offsets[c];
      float* row = dst + c * plane + std::size_t(y) * image.width;
      for (int x = 0; x < image.width; ++x) row[x] = table[in[std::ptrdiff_t(x) * layout.bytes_per_pixel]];
    }
  }
  return out;
}

at::Tensor dino_input(const ImageView& image, int out_h, int out_w) {
  check_image_view(image, "dino_input");
  if (out_h <= 0 || out_w <= 0) {
    throw Error("dino_input: output size " + std::to_string(out_w) + "x" + std::to_string(out_h) + " must be positive");
  }
  if (image.width == out_w && image.height == out_h) return normalize_to_tensor(image, kImageNetStats);
  const Image resized = resize(image, out_w, out_h, ResampleFilter::kBilinear);
  return normalize_to_tensor(resized.view(), kImageNetStats);
}

Image clip_resize_and_crop(const ImageView& image, int resolution) {
  check_image_view(image, "clip_input");
  check_resolution(resolution, "clip_input");
  const Size2D size = shorter_side_size(image.width, image.height, resolution);
  return center_crop(resize(image, size.width, size.height, ResampleFilter::kBicubic), resolution, resolution);
}

at::Tensor clip_input(const ImageView& image, int resolution) {
  return normalize_to_tensor(clip_resize_and_crop(image, resolution).view(), kClipStats);
}

at::Tensor clip_input_full_frame(const ImageView& image, int resolution) {
  check_image_view(image, "clip_input_full_frame");
  check_resolution(resolution, "clip_input_full_frame");
  const Image resized = resize(image, resolution, resolution, ResampleFilter::kBicubic);
  return normalize_to_tensor(resized.view(), kClipStats);
}

}  // namespace dinoclip
