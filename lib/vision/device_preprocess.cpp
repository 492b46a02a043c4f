#include "vision/device_preprocess.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "vision/color_convert.h"
#include "vision/preprocess.h"
#include "vision/resample.h"

namespace dinoclip {
namespace {

// (x / 255 - mean) / std per channel, on x's device: [1, 3, H, W] float.
at::Tensor normalise(const at::Tensor& x255, const ChannelStats& stats) {
  const auto options = x255.options().dtype(at::kFloat);
  at::Tensor mean = at::tensor(std::vector<float>(stats.mean.begin(), stats.mean.end())).to(options).view({1, 3, 1, 1});
  at::Tensor std = at::tensor(std::vector<float>(stats.std.begin(), stats.std.end())).to(options).view({1, 3, 1, 1});
  return (x255 / 255.0f - mean) / std;
}

// Antialiased resize of [1, 3, H, W] float (0..255), clamped to the uint8
// range as Pillow's output is (bicubic overshoots).
at::Tensor resize_aa(const at::Tensor& x, int out_h, int out_w, ResampleFilter filter) {
  if (x.size(2) == out_h && x.size(3) == out_w) return x;
  at::Tensor out = filter == ResampleFilter::kBicubic
                       ? at::_upsample_bicubic2d_aa(x, {out_h, out_w}, /*align_corners=*/false)
                       : at::_upsample_bilinear2d_aa(x, {out_h, out_w}, /*align_corners=*/false);
  return out.clamp_(0.0, 255.0);
}

// torchvision CenterCrop's offset: round((size - crop) / 2), half to even.
int64_t crop_offset(int64_t size, int64_t crop) { return int64_t(std::nearbyint(double(size - crop) / 2.0)); }

void check_clip_resolution(int resolution, const char* what) {
  if (resolution <= 0 || resolution > 16384) {
    throw Error(std::string(what) + ": resolution " + std::to_string(resolution) + " must be in 1..16384");
  }
}

}  // namespace

ScaleMethod parse_scale_method(const std::string& text) {
  if (text == "exact") return ScaleMethod::kExact;
  if (text == "fast") return ScaleMethod::kFast;
  throw Error("unknown scale method '" + text + "': use exact (PIL-exact, CPU) or fast (resize on the model's device)");
}

const char* scale_method_name(ScaleMethod method) { return method == ScaleMethod::kFast ? "fast" : "exact"; }

ScaleMethod default_scale_method(const c10::Device& device) {
  return device.is_cpu() ? ScaleMethod::kExact : ScaleMethod::kFast;
}

at::Tensor upload_rgb(const ImageView& image, const c10::Device& device) {
  check_image_view(image, "upload_rgb");
  const RgbLayout layout = rgb_layout(image.format);
  // The mapped frame as [H, W, bytes per pixel], strided like the frame;
  // .to() copies it (so nothing outlives the caller's mapping).
  at::Tensor hwc = at::from_blob(const_cast<std::uint8_t*>(image.data), {image.height, image.width, layout.bytes_per_pixel},
                                 {image.stride, layout.bytes_per_pixel, 1}, at::kByte);
  at::Tensor on_device = device.is_cpu() ? hwc.clone() : hwc.to(device);
  at::Tensor index = at::tensor(std::vector<int64_t>{layout.r, layout.g, layout.b}).to(device);
  return on_device.index_select(2, index).permute({2, 0, 1}).contiguous();
}

at::Tensor dino_input_on_device(const ImageView& image, int out_h, int out_w, const c10::Device& device) {
  if (out_h <= 0 || out_w <= 0) {
    throw Error("dino_input: output size " + std::to_string(out_w) + "x" + std::to_string(out_h) + " must be positive");
  }
  at::Tensor x = upload_rgb(image, device).unsqueeze(0).to(at::kFloat);
  return normalise(resize_aa(x, out_h, out_w, ResampleFilter::kBilinear), kImageNetStats);
}

at::Tensor clip_input_on_device(const ImageView& image, int resolution, const c10::Device& device) {
  check_clip_resolution(resolution, "clip_input");
  check_image_view(image, "clip_input");
  const Size2D size = shorter_side_size(image.width, image.height, resolution);
  at::Tensor x = upload_rgb(image, device).unsqueeze(0).to(at::kFloat);
  x = resize_aa(x, size.height, size.width, ResampleFilter::kBicubic);
  x = x.narrow(2, crop_offset(size.height, resolution), resolution)
          .narrow(3, crop_offset(size.width, resolution), resolution);
  return normalise(x, kClipStats);
}

at::Tensor clip_input_full_frame_on_device(const ImageView& image, int resolution, const c10::Device& device) {
  check_clip_resolution(resolution, "clip_input_full_frame");
  at::Tensor x = upload_rgb(image, device).unsqueeze(0).to(at::kFloat);
  return normalise(resize_aa(x, resolution, resolution, ResampleFilter::kBicubic), kClipStats);
}

at::Tensor dino_input(const ImageView& image, int out_h, int out_w, ScaleMethod method, const c10::Device& device) {
  if (method == ScaleMethod::kFast) return dino_input_on_device(image, out_h, out_w, device);
  return dino_input(image, out_h, out_w).to(device);
}

at::Tensor clip_input(const ImageView& image, int resolution, ScaleMethod method, const c10::Device& device) {
  if (method == ScaleMethod::kFast) return clip_input_on_device(image, resolution, device);
  return clip_input(image, resolution).to(device);
}

at::Tensor clip_input_full_frame(const ImageView& image, int resolution, ScaleMethod method,
                                 const c10::Device& device) {
  if (method == ScaleMethod::kFast) return clip_input_full_frame_on_device(image, resolution, device);
  return clip_input_full_frame(image, resolution).to(device);
}

}  // namespace dinoclip
