#include "vision/device_preprocess.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "vision/color_convert.h"
#include "vision/preprocess.h"
#include "vision/resample.h"

namespace dinoclip {
namespace {

// (x / 255 - mean) / std per channel, on x's device: [B, 3, H, W] float.
at::Tensor normalise(const at::Tensor& x255, const ChannelStats& stats) {
  const auto options = x255.options().dtype(at::kFloat);
  at::Tensor mean = at::tensor(std::vector<float>(stats.mean.begin(), stats.mean.end())).to(options).view({1, 3, 1, 1});
  at::Tensor std = at::tensor(std::vector<float>(stats.std.begin(), stats.std.end())).to(options).view({1, 3, 1, 1});
  return (x255 / 255.0f - mean) / std;
}

// Antialiased resize of [B, 3, H, W] float (0..255), clamped to the uint8
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

void check_dino_size(int out_h, int out_w) {
  if (out_h <= 0 || out_w <= 0) {
    throw Error("dino_input: output size " + std::to_string(out_w) + "x" + std::to_string(out_h) + " must be positive");
  }
}

// [B, 3, H, W] uint8 RGB -> DINO inputs: bilinear antialiased resize, ImageNet normalisation.
at::Tensor dino_input_from_rgb(const at::Tensor& rgb, int out_h, int out_w) {
  return normalise(resize_aa(rgb.to(at::kFloat), out_h, out_w, ResampleFilter::kBilinear), kImageNetStats);
}

// [B, 3, H, W] uint8 RGB -> CLIP inputs: shorter side to `resolution` and a
// centre crop, or the whole frame squashed; bicubic antialiased; CLIP normalisation.
at::Tensor clip_input_from_rgb(const at::Tensor& rgb, int resolution, ClipCrop crop) {
  at::Tensor x = rgb.to(at::kFloat);
  if (crop == ClipCrop::kFullFrame) {
    return normalise(resize_aa(x, resolution, resolution, ResampleFilter::kBicubic), kClipStats);
  }
  const Size2D size = shorter_side_size(int(x.size(3)), int(x.size(2)), resolution);
  x = resize_aa(x, size.height, size.width, ResampleFilter::kBicubic);
  x = x.narrow(2, crop_offset(size.height, resolution), resolution)
          .narrow(3, crop_offset(size.width, resolution), resolution);
  return normalise(x, kClipStats);
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
  check_dino_size(out_h, out_w);
  return dino_input_from_rgb(upload_rgb(image, device).unsqueeze(0), out_h, out_w);
}

at::Tensor clip_input_on_device(const ImageView& image, int resolution, const c10::Device& device) {
  check_clip_resolution(resolution, "clip_input");
  check_image_view(image, "clip_input");
  return clip_input_from_rgb(upload_rgb(image, device).unsqueeze(0), resolution, ClipCrop::kCenter);
}

at::Tensor clip_input_full_frame_on_device(const ImageView& image, int resolution, const c10::Device& device) {
  check_clip_resolution(resolution, "clip_input_full_frame");
  return clip_input_from_rgb(upload_rgb(image, device).unsqueeze(0), resolution, ClipCrop::kFullFrame);
}

at::Tensor dino_inputs_from_frames(const std::vector<FramePlanes>& frames, int out_h, int out_w) {
  check_dino_size(out_h, out_w);
  return dino_input_from_rgb(frames_to_rgb(frames), out_h, out_w);
}

at::Tensor clip_inputs_from_frames(const std::vector<FramePlanes>& frames, int resolution, ClipCrop crop) {
  check_clip_resolution(resolution, crop == ClipCrop::kCenter ? "clip_input" : "clip_input_full_frame");
  return clip_input_from_rgb(frames_to_rgb(frames), resolution, crop);
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
