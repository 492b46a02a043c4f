#include "common/frame_convert.h"

#include <string>

#include "core/error.h"
#include "vision/color_convert.h"
#include "vision/yuv_overlay_canvas.h"

namespace dinoclip::gst {

bool packed_pixel_format(GstVideoFormat format, PixelFormat* out) {
  switch (format) {
    case GST_VIDEO_FORMAT_RGB:
      *out = PixelFormat::kRGB;
      return true;
    case GST_VIDEO_FORMAT_BGR:
      *out = PixelFormat::kBGR;
      return true;
    case GST_VIDEO_FORMAT_RGBA:
      *out = PixelFormat::kRGBA;
      return true;
    case GST_VIDEO_FORMAT_BGRA:
      *out = PixelFormat::kBGRA;
      return true;
    case GST_VIDEO_FORMAT_RGBx:
      *out = PixelFormat::kRGBx;
      return true;
    case GST_VIDEO_FORMAT_BGRx:
      *out = PixelFormat::kBGRx;
      return true;
    default:
      return false;
  }
}

// BT.709 for HD colorimetry, BT.601 otherwise (what the caps say; GStreamer
// fills in its defaults when a source leaves it out).
YuvMatrix frame_yuv_matrix(const GstVideoInfo& info) {
  return info.colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709 ? YuvMatrix::kBt709 : YuvMatrix::kBt601;
}

bool frame_full_range(const GstVideoInfo& info) { return info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255; }

namespace {

const std::uint8_t* plane(const GstVideoFrame& frame, int index) {
  return static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, index));
}

int plane_stride(const GstVideoFrame& frame, int index) { return GST_VIDEO_FRAME_PLANE_STRIDE(&frame, index); }

std::string format_name(const GstVideoFrame& frame) {
  return gst_video_format_to_string(GST_VIDEO_FRAME_FORMAT(&frame));
}

}  // namespace

FrameImage frame_image(const GstVideoFrame& frame) {
  const int width = GST_VIDEO_FRAME_WIDTH(&frame);
  const int height = GST_VIDEO_FRAME_HEIGHT(&frame);
  FrameImage result;
  PixelFormat packed;
  if (packed_pixel_format(GST_VIDEO_FRAME_FORMAT(&frame), &packed)) {
    result.view = ImageView{plane(frame, 0), width, height, plane_stride(frame, 0), packed};
    return result;
  }
  switch (GST_VIDEO_FRAME_FORMAT(&frame)) {
    case GST_VIDEO_FORMAT_I420:
      result.converted = i420_to_rgb(plane(frame, 0), plane_stride(frame, 0), plane(frame, 1), plane_stride(frame, 1),
                                     plane(frame, 2), plane_stride(frame, 2), width, height,
                                     frame_yuv_matrix(frame.info), frame_full_range(frame.info));
      break;
    case GST_VIDEO_FORMAT_NV12:
      result.converted = nv12_to_rgb(plane(frame, 0), plane_stride(frame, 0), plane(frame, 1), plane_stride(frame, 1),
                                     width, height, frame_yuv_matrix(frame.info), frame_full_range(frame.info));
      break;
    default:
      throw Error("video format " + format_name(frame) +
                  " is not supported here: use RGB, BGR, RGBA, BGRA, RGBx, "
                  "BGRx, I420 or NV12 (insert videoconvert)");
  }
  result.view = result.converted.view();
  return result;
}

Image frame_rgb(const GstVideoFrame& frame) {
  FrameImage image = frame_image(frame);
  if (!image.converted.pixels.empty()) return std::move(image.converted);
  return to_rgb(image.view);
}

MutableImageView frame_mutable_view(GstVideoFrame& frame) {
  PixelFormat packed;
  if (!packed_pixel_format(GST_VIDEO_FRAME_FORMAT(&frame), &packed)) {
    throw Error("video format " + format_name(frame) + " cannot be drawn on: use a packed RGB-family format");
  }
  return MutableImageView{static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)),
                          GST_VIDEO_FRAME_WIDTH(&frame), GST_VIDEO_FRAME_HEIGHT(&frame),
                          GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0), packed};
}

}  // namespace dinoclip::gst

namespace dinoclip::gst {

bool is_planar_yuv(GstVideoFormat format) {
  return format == GST_VIDEO_FORMAT_I420 || format == GST_VIDEO_FORMAT_NV12;
}

YuvPlanes frame_yuv_planes(GstVideoFrame& frame) {
  auto data = [&](int i) { return static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, i)); };
  const int width = GST_VIDEO_FRAME_WIDTH(&frame), height = GST_VIDEO_FRAME_HEIGHT(&frame);
  const YuvMatrix matrix = frame_yuv_matrix(frame.info);
  const bool full_range = frame_full_range(frame.info);
  switch (GST_VIDEO_FRAME_FORMAT(&frame)) {
    case GST_VIDEO_FORMAT_I420:
      return i420_planes(data(0), plane_stride(frame, 0), data(1), plane_stride(frame, 1), data(2),
                         plane_stride(frame, 2), width, height, matrix, full_range);
    case GST_VIDEO_FORMAT_NV12:
      return nv12_planes(data(0), plane_stride(frame, 0), data(1), plane_stride(frame, 1), width, height, matrix,
                         full_range);
    default:
      throw Error("video format " + format_name(frame) + " is not I420 or NV12");
  }
}

}  // namespace dinoclip::gst
