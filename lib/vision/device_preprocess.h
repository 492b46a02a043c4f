// Model inputs computed on the model's device: the frame goes up once as
// uint8, and the colour channels, the antialiased resize and the
// normalisation run there ("fast"). The CPU path in preprocess.h resizes with
// the PIL-exact resampler ("exact"); the two differ by rounding only (the
// fast path keeps the resized values in float instead of rounding them to
// uint8 as Pillow does): tests/gpu/test_device_preprocess.cpp states the
// measured difference.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "core/image.h"
#include "vision/frame_planes.h"

namespace dinoclip {

enum class ClipCrop {
  kCenter,     // CLIP's own preprocessing: shorter side to the resolution, centre square
  kFullFrame,  // the whole frame squashed to a square: nothing at the sides is lost
};

enum class ScaleMethod {
  kExact,  // PIL-exact uint8 resampling on the CPU (matches the Python references)
  kFast,   // antialiased float resize on the model's device
};

// "exact" | "fast"; anything else throws dinoclip::Error listing both.
ScaleMethod parse_scale_method(const std::string& text);
const char* scale_method_name(ScaleMethod method);
// exact on the CPU (where it is the reference and cheap), fast on a GPU
// (where it saves the CPU resize and uploads the smaller uint8 frame).
ScaleMethod default_scale_method(const c10::Device& device);

// [3, H, W] uint8 on `device`: the view's R, G, B planes (alpha/padding
// dropped, grey repeated), copied to the device once.
at::Tensor upload_rgb(const ImageView& image, const c10::Device& device);

// As dino_input(): antialiased bilinear resize to out_w x out_h (skipped when
// the size already matches), ImageNet normalisation; [1, 3, out_h, out_w]
// float32 on `device`.
at::Tensor dino_input_on_device(const ImageView& image, int out_h, int out_w, const c10::Device& device);

// As clip_input(): shorter side -> resolution (antialiased bicubic), centre
// crop, CLIP normalisation; [1, 3, resolution, resolution] float32 on `device`.
at::Tensor clip_input_on_device(const ImageView& image, int resolution, const c10::Device& device);

// As clip_input_full_frame(): the whole frame squashed to resolution x
// resolution (antialiased bicubic), CLIP normalisation, on `device`.
at::Tensor clip_input_full_frame_on_device(const ImageView& image, int resolution, const c10::Device& device);

// One entry point for either method: exact runs preprocess.h's function of the
// same name on the CPU and moves the result to `device`; fast uploads the
// frame as uint8 and does everything else on `device`.
at::Tensor dino_input(const ImageView& image, int out_h, int out_w, ScaleMethod method, const c10::Device& device);
at::Tensor clip_input(const ImageView& image, int resolution, ScaleMethod method, const c10::Device& device);
at::Tensor clip_input_full_frame(const ImageView& image, int resolution, ScaleMethod method,
                                 const c10::Device& device);

// A whole batch in one pass, on the frames' device (frames as frames_to_rgb
// takes them: one batch_key()): RGB, then the same resize and normalisation as
// the single-image functions above, [B, 3, h, w] float32. Frames already
// converted to RGB on the CPU give the same numbers as dino_input_on_device /
// clip_input_on_device / clip_input_full_frame_on_device (YUV frames: within
// one 8-bit level before the resize, as frames_to_rgb states).
at::Tensor dino_inputs_from_frames(const std::vector<FramePlanes>& frames, int out_h, int out_w);
at::Tensor clip_inputs_from_frames(const std::vector<FramePlanes>& frames, int resolution, ClipCrop crop);

}  // namespace dinoclip
