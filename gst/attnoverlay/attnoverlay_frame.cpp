#include "attnoverlay/attnoverlay_frame.h"

#include <ATen/ATen.h>

#include <string>

#include "common/frame_convert.h"
#include "core/error.h"

namespace dinoclip::gst {
namespace {

at::Tensor plane_view(GstVideoFrame& frame, int index, at::IntArrayRef sizes, at::IntArrayRef strides) {
  return at::from_blob(GST_VIDEO_FRAME_PLANE_DATA(&frame, index), sizes, strides, at::kByte);
}

}  // namespace

FramePlanes mapped_frame_planes(GstVideoFrame& frame) {
  FramePlanes planes;
  const int64_t width = GST_VIDEO_FRAME_WIDTH(&frame), height = GST_VIDEO_FRAME_HEIGHT(&frame);
  const int64_t chroma_w = (width + 1) / 2, chroma_h = (height + 1) / 2;
  const auto stride = [&](int i) { return int64_t(GST_VIDEO_FRAME_PLANE_STRIDE(&frame, i)); };
  planes.width = int(width);
  planes.height = int(height);
  // As frame_convert's YUV path reads the caps: BT.709 when they say so, else BT.601.
  planes.matrix = frame.info.colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709 ? YuvMatrix::kBt709 : YuvMatrix::kBt601;
  planes.full_range = frame.info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  if (packed_pixel_format(GST_VIDEO_FRAME_FORMAT(&frame), &planes.packed_format)) {
    const int64_t bpp = bytes_per_pixel(planes.packed_format);
    planes.layout = FrameLayout::kPacked;
    planes.planes = {plane_view(frame, 0, {height, width, bpp}, {stride(0), bpp, 1})};
    return planes;
  }
  switch (GST_VIDEO_FRAME_FORMAT(&frame)) {
    case GST_VIDEO_FORMAT_I420:
      planes.layout = FrameLayout::kI420;
      planes.planes = {plane_view(frame, 0, {height, width}, {stride(0), 1}),
                       plane_view(frame, 1, {chroma_h, chroma_w}, {stride(1), 1}),
                       plane_view(frame, 2, {chroma_h, chroma_w}, {stride(2), 1})};
      return planes;
    case GST_VIDEO_FORMAT_NV12:
      planes.layout = FrameLayout::kNV12;
      planes.planes = {plane_view(frame, 0, {height, width}, {stride(0), 1}),
                       plane_view(frame, 1, {chroma_h, chroma_w, 2}, {stride(1), 2, 1})};
      return planes;
    default:
      throw Error(std::string("attnoverlay cannot draw on ") +
                  gst_video_format_to_string(GST_VIDEO_FRAME_FORMAT(&frame)) + " frames");
  }
}

}  // namespace dinoclip::gst
