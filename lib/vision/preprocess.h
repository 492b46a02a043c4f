// Model inputs from pictures and video frames, matching the Python references
// float for float: torchvision's ToTensor + Normalize after a Pillow resize.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>

#include "core/image.h"

namespace dinoclip {

// Per-channel normalisation constants, RGB order.
struct ChannelStats {
  std::array<float, 3> mean;
  std::array<float, 3> std;
};

// ImageNet statistics (DINO, torchvision models).
constexpr ChannelStats kImageNetStats{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
// OpenAI CLIP's statistics (clip._transform).
constexpr ChannelStats kClipStats{{0.48145466f, 0.4578275f, 0.40821073f}, {0.26862954f, 0.26130258f, 0.27577711f}};

// [3, H, W] float32 = u8 / 255 (torchvision ToTensor) of a 3-channel RGB image.
at::Tensor to_chw_float(const Image& rgb);

// [1, 3, H, W] float32 = (u8 / 255 - mean) / std, in float32 and that order
// (ToTensor then Normalize), read from any packed format (alpha dropped).
at::Tensor normalize_to_tensor(const ImageView& image, const ChannelStats& stats);

// DINO: Pillow BILINEAR resize to out_w x out_h when the size differs
// (torchvision Resize((h, w)) on a PIL image), then ImageNet normalisation.
at::Tensor dino_input(const ImageView& image, int out_h, int out_w);

// CLIP (clip._transform): shorter side -> resolution with Pillow BICUBIC
// (longer side truncated), CenterCrop(resolution), CLIP normalisation.
// -> [1, 3, resolution, resolution].
at::Tensor clip_input(const ImageView& image, int resolution);

// CLIP on the whole frame: squash-resize to resolution x resolution (BICUBIC,
// no crop), so nothing outside a centre square is lost.
at::Tensor clip_input_full_frame(const ImageView& image, int resolution);

// The uint8 picture clip_input() normalises (resize + centre crop), for tests and overlays.
Image clip_resize_and_crop(const ImageView& image, int resolution);

}  // namespace dinoclip
