#include "vision/frame_planes.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace dinoclip {
namespace {

const char* layout_name(FrameLayout layout) {
  switch (layout) {
    case FrameLayout::kPacked:
      return "packed";
    case FrameLayout::kI420:
      return "I420";
    case FrameLayout::kNV12:
      return "NV12";
  }
  return "?";
}

std::string shape_text(at::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? ", " : "") + std::to_string(sizes[i]);
  return text + "]";
}

// The plane shapes a layout promises for a width x height frame.
std::vector<std::vector<int64_t>> expected_shapes(const FramePlanes& frame) {
  const int64_t h = frame.height, w = frame.width;
  const int64_t ch = (h + 1) / 2, cw = (w + 1) / 2;
  switch (frame.layout) {
    case FrameLayout::kPacked:
      return {{h, w, bytes_per_pixel(frame.packed_format)}};
    case FrameLayout::kI420:
      return {{h, w}, {ch, cw}, {ch, cw}};
    case FrameLayout::kNV12:
      return {{h, w}, {ch, cw, 2}};
  }
  return {};
}

void fail(const char* who, const std::string& what) { throw Error(std::string(who) + ": " + what); }

// A strided uint8 view of host memory; no copy, nothing owned.
at::Tensor host_plane(const std::uint8_t* data, at::IntArrayRef sizes, at::IntArrayRef strides) {
  return at::from_blob(const_cast<std::uint8_t*>(data), sizes, strides, at::TensorOptions().dtype(at::kByte));
}

// The planes of every frame stacked: [B, ...] (one copy, on the frames' device).
at::Tensor stacked_plane(const std::vector<FramePlanes>& frames, size_t index) {
  std::vector<at::Tensor> planes;
  planes.reserve(frames.size());
  for (const FramePlanes& frame : frames) planes.push_back(frame.planes[index]);
  return at::stack(planes);
}

// [B, ch, cw] chroma -> [B, h, w], each sample repeated over its 2x2 block
// (nearest upsampling, as color_convert.h's I420 / NV12 paths).
at::Tensor upsampled_chroma(const at::Tensor& chroma, int64_t height, int64_t width) {
  const int64_t batch = chroma.size(0), ch = chroma.size(1), cw = chroma.size(2);
  return chroma.view({batch, ch, 1, cw, 1})
      .expand({batch, ch, 2, cw, 2})
      .reshape({batch, 2 * ch, 2 * cw})
      .narrow(1, 0, height)
      .narrow(2, 0, width);
}

// color_convert.h's kGStreamer term, on int32 tensors: the splatted sample
// (see splat()) times the gain (x 256), floored by 2^16, as the pmulhw of
// videoconvert's 8-bit path.
at::Tensor gst_term(const at::Tensor& splatted, int coefficient) {
  return at::div(splatted * coefficient, 65536, /*rounding_mode=*/"floor");
}

// 8-bit samples -> the 16-bit "splat" of (s - 128), as int32.
at::Tensor splat(const at::Tensor& samples) {
  const at::Tensor centred = samples.to(at::kInt) - 128;
  return centred * 256 + at::bitwise_and(centred, 255);
}

// [B, H, W] Y, U, V (U, V already upsampled) -> [B, 3, H, W] uint8 RGB, the
// kGStreamer arithmetic of color_convert.cpp, integer for integer.
at::Tensor yuv_to_rgb(const at::Tensor& y, const at::Tensor& u, const at::Tensor& v, YuvMatrix matrix,
                      bool full_range) {
  const YuvGains k = yuv_gains(matrix, full_range, YuvConversion::kGStreamer);
  const at::Tensor sy = splat(y), su = splat(u), sv = splat(v);
  const at::Tensor luma = gst_term(sy, k.y) + 128;
  const at::Tensor r = luma + gst_term(sv, k.r_v);
  const at::Tensor g = luma + gst_term(su, k.g_u) + gst_term(sv, k.g_v);
  const at::Tensor b = luma + gst_term(su, k.b_u);
  return at::stack({r, g, b}, 1).clamp_(0, 255).to(at::kByte);
}

at::Tensor packed_to_rgb(const std::vector<FramePlanes>& frames) {
  const RgbLayout layout = rgb_layout(frames.front().packed_format);
  const c10::Device device = frames.front().device();
  const at::Tensor channels =
      at::tensor(std::vector<int64_t>{layout.r, layout.g, layout.b}, at::TensorOptions().dtype(at::kLong)).to(device);
  // Each frame's R, G, B bytes gathered first, so padding and alpha are never copied twice.
  std::vector<at::Tensor> rgb;
  rgb.reserve(frames.size());
  for (const FramePlanes& frame : frames) rgb.push_back(frame.planes[0].index_select(2, channels).permute({2, 0, 1}));
  return at::stack(rgb);
}

}  // namespace

c10::Device FramePlanes::device() const {
  return planes.empty() || !planes.front().defined() ? c10::Device(c10::kCPU) : planes.front().device();
}

std::string FramePlanes::batch_key() const {
  std::string key = layout_name(layout);
  if (layout == FrameLayout::kPacked) {
    key += "/" + std::to_string(int(packed_format));
  } else {
    key += std::string("/") + (matrix == YuvMatrix::kBt709 ? "709" : "601") + (full_range ? "/full" : "/limited");
  }
  return key + "/" + std::to_string(width) + "x" + std::to_string(height) + "/" + device().str();
}

void check_frame_planes(const FramePlanes& frame, const char* who) {
  if (frame.width <= 0 || frame.height <= 0) {
    fail(who, "empty frame (" + std::to_string(frame.width) + "x" + std::to_string(frame.height) + ")");
  }
  const std::vector<std::vector<int64_t>> shapes = expected_shapes(frame);
  if (frame.planes.size() != shapes.size()) {
    fail(who, std::string("a ") + layout_name(frame.layout) + " frame has " + std::to_string(shapes.size()) +
                  " plane(s), got " + std::to_string(frame.planes.size()));
  }
  const c10::Device device = frame.device();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const at::Tensor& plane = frame.planes[i];
    const std::string name = "plane " + std::to_string(i);
    if (!plane.defined()) fail(who, name + " is missing");
    if (plane.scalar_type() != at::kByte) {
      fail(who, name + " must be uint8, got " + std::string(c10::toString(plane.scalar_type())));
    }
    if (plane.device() != device) {
      fail(who, name + " is on " + plane.device().str() + ", plane 0 on " + device.str() +
                    ": a frame's planes must share one device");
    }
    if (plane.sizes() != at::IntArrayRef(shapes[i])) {
      fail(who, name + " of a " + std::to_string(frame.width) + "x" + std::to_string(frame.height) + " " +
                    layout_name(frame.layout) + " frame must be " + shape_text(shapes[i]) + ", got " +
                    shape_text(plane.sizes()));
    }
    // Packed pixels and NV12's U,V pairs are read as bytes next to each other.
    if (plane.dim() == 3 && plane.stride(2) != 1) {
      fail(who, name + ": the bytes of a pixel must be adjacent (innermost stride 1, got " +
                    std::to_string(plane.stride(2)) + ")");
    }
  }
}

FramePlanes frame_planes_of(const ImageView& view) {
  check_image_view(view, "frame_planes_of");
  FramePlanes frame;
  frame.layout = FrameLayout::kPacked;
  frame.packed_format = view.format;
  frame.width = view.width;
  frame.height = view.height;
  const int bpp = bytes_per_pixel(view.format);
  frame.planes.push_back(host_plane(view.data, {view.height, view.width, bpp}, {int64_t(view.stride), bpp, 1}));
  return frame;
}

namespace {

void check_yuv_pointers(const std::uint8_t* y, int y_stride, const std::uint8_t* chroma, int chroma_stride,
                        int chroma_row_bytes, int width, int height, const char* who) {
  if (width <= 0 || height <= 0 || y == nullptr || chroma == nullptr) {
    fail(who, "empty frame or missing plane (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  }
  if (y_stride < width || chroma_stride < chroma_row_bytes) {
    fail(who, "plane stride too small for width " + std::to_string(width) + " (luma " + std::to_string(y_stride) +
                  ", chroma " + std::to_string(chroma_stride) + "; need at least " + std::to_string(width) + " and " +
                  std::to_string(chroma_row_bytes) + ")");
  }
}

}  // namespace

FramePlanes i420_frame_planes(const std::uint8_t* y, int y_stride, const std::uint8_t* u, int u_stride,
                              const std::uint8_t* v, int v_stride, int width, int height, YuvMatrix matrix,
                              bool full_range) {
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  check_yuv_pointers(y, y_stride, u, u_stride, cw, width, height, "i420_frame_planes");
  check_yuv_pointers(y, y_stride, v, v_stride, cw, width, height, "i420_frame_planes");
  FramePlanes frame;
  frame.layout = FrameLayout::kI420;
  frame.width = width;
  frame.height = height;
  frame.matrix = matrix;
  frame.full_range = full_range;
  frame.planes = {host_plane(y, {height, width}, {y_stride, 1}), host_plane(u, {ch, cw}, {u_stride, 1}),
                  host_plane(v, {ch, cw}, {v_stride, 1})};
  return frame;
}

FramePlanes nv12_frame_planes(const std::uint8_t* y, int y_stride, const std::uint8_t* uv, int uv_stride, int width,
                              int height, YuvMatrix matrix, bool full_range) {
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  check_yuv_pointers(y, y_stride, uv, uv_stride, 2 * cw, width, height, "nv12_frame_planes");
  FramePlanes frame;
  frame.layout = FrameLayout::kNV12;
  frame.width = width;
  frame.height = height;
  frame.matrix = matrix;
  frame.full_range = full_range;
  frame.planes = {host_plane(y, {height, width}, {y_stride, 1}), host_plane(uv, {ch, cw, 2}, {uv_stride, 2, 1})};
  return frame;
}

FramePlanes top_left_crop(const FramePlanes& frame, int width, int height) {
  if (width <= 0 || height <= 0 || width > frame.width || height > frame.height) {
    throw Error("top_left_crop: " + std::to_string(width) + "x" + std::to_string(height) + " is not inside the " +
                std::to_string(frame.width) + "x" + std::to_string(frame.height) + " frame");
  }
  FramePlanes cropped = frame;
  cropped.width = width;
  cropped.height = height;
  for (size_t i = 0; i < cropped.planes.size(); ++i) {
    const bool chroma = frame.layout != FrameLayout::kPacked && i > 0;
    at::Tensor& plane = cropped.planes[i];
    plane = plane.narrow(0, 0, chroma ? (height + 1) / 2 : height).narrow(1, 0, chroma ? (width + 1) / 2 : width);
  }
  return cropped;
}

at::Tensor frames_to_rgb(const std::vector<FramePlanes>& frames) {
  if (frames.empty()) throw Error("frames_to_rgb: no frames");
  const std::string key = frames.front().batch_key();
  for (const FramePlanes& frame : frames) {
    check_frame_planes(frame, "frames_to_rgb");
    if (frame.batch_key() != key) {
      throw Error(
          "frames_to_rgb: frames of one batch must share layout, format, size, colour matrix, range and "
          "device; got " +
          key + " and " + frame.batch_key());
    }
  }
  const FramePlanes& first = frames.front();
  if (first.layout == FrameLayout::kPacked) return packed_to_rgb(frames);
  const at::Tensor y = stacked_plane(frames, 0);
  at::Tensor u, v;
  if (first.layout == FrameLayout::kI420) {
    u = stacked_plane(frames, 1);
    v = stacked_plane(frames, 2);
  } else {
    const at::Tensor uv = stacked_plane(frames, 1);  // [B, ch, cw, 2]
    u = uv.select(3, 0);
    v = uv.select(3, 1);
  }
  return yuv_to_rgb(y, upsampled_chroma(u, first.height, first.width), upsampled_chroma(v, first.height, first.width),
                    first.matrix, first.full_range);
}

}  // namespace dinoclip
