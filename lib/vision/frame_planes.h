// A video frame's 8-bit planes as tensors, wherever the frame lives (host
// memory, a pinned staging buffer, a GPU's CUDA memory), so that the work on
// frames (model inputs, overlays) can run on the frame's own device and a
// whole batch of frames can be converted in one pass.
//
// The planes are strided views of the frame's memory (no copy): a GStreamer
// buffer mapped with GST_MAP_CUDA, a mapped system-memory frame, an Image.
// `keep_alive` owns whatever they point into, so a FramePlanes may travel to
// another thread (the model's worker) and be used there until dropped.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

#include "core/image.h"
#include "vision/color_convert.h"

namespace dinoclip {

enum class FrameLayout {
  kPacked,  // one plane [height, width, bytes_per_pixel(packed_format)]
  kI420,    // Y [height, width], U and V [ceil(height/2), ceil(width/2)]
  kNV12,    // Y [height, width], UV [ceil(height/2), ceil(width/2), 2] (U first)
};

struct FramePlanes {
  FrameLayout layout = FrameLayout::kPacked;
  PixelFormat packed_format = PixelFormat::kRGB;  // kPacked only
  int width = 0;
  int height = 0;
  // uint8, all on one device, shapes as FrameLayout says; any strides whose
  // innermost (pixel byte) stride is 1 for packed planes and for UV pairs.
  std::vector<at::Tensor> planes;
  // YUV layouts only: how Y'CbCr becomes RGB (as color_convert.h).
  YuvMatrix matrix = YuvMatrix::kBt601;
  bool full_range = false;
  // Owns the memory `planes` view (a mapped buffer, a staging block); may be null
  // when the tensors own their storage.
  std::shared_ptr<const void> keep_alive;

  c10::Device device() const;
  // Equal for frames that can be converted together in one batched pass:
  // layout, packed format, size, matrix, range and device.
  std::string batch_key() const;
};

// Throws dinoclip::Error "<who>: ..." saying what is wrong (plane count,
// shapes, dtype, devices, strides) when `frame` is not what its layout says.
void check_frame_planes(const FramePlanes& frame, const char* who);

// Host views of an ImageView (packed formats; no copy, no keep_alive: the view
// must outlive the result) and of I420 / NV12 planes given as pointers and strides.
FramePlanes frame_planes_of(const ImageView& view);
FramePlanes i420_frame_planes(const std::uint8_t* y, int y_stride, const std::uint8_t* u, int u_stride,
                              const std::uint8_t* v, int v_stride, int width, int height, YuvMatrix matrix,
                              bool full_range);
FramePlanes nv12_frame_planes(const std::uint8_t* y, int y_stride, const std::uint8_t* uv, int uv_stride, int width,
                              int height, YuvMatrix matrix, bool full_range);

// The top-left width x height of `frame` (views of the same planes, the same
// keep_alive): what converting the whole frame and cropping the RGB gives,
// since a 4:2:0 chroma sample covers the same 2x2 block either way. Throws
// dinoclip::Error when the crop is empty or larger than the frame.
FramePlanes top_left_crop(const FramePlanes& frame, int width, int height);

// [B, 3, height, width] uint8 RGB on the frames' device, in one batched pass
// (every frame must have the same batch_key(); throws dinoclip::Error
// otherwise). YUV frames use color_convert.h's YuvConversion::kGStreamer
// arithmetic (what the CPU path gives), within one level of it.
at::Tensor frames_to_rgb(const std::vector<FramePlanes>& frames);

}  // namespace dinoclip
