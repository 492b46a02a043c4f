#include "common/frame_planes_map.h"

#include <memory>
#include <string>

#include "common/frame_convert.h"
#include "core/error.h"
#include "runtime/frame_upload.h"

namespace dinoclip::gst {
namespace {

// A GstVideoFrame mapping (and, through it, a reference on its buffer:
// gst_video_frame_map takes one) released with the last FramePlanes using it.
struct MappedFrame {
  GstVideoFrame frame;
  bool mapped = false;
  ~MappedFrame() {
    if (mapped) gst_video_frame_unmap(&frame);
  }
};

const std::uint8_t* plane_data(const GstVideoFrame& frame, int index) {
  return static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, index));
}

int plane_stride(const GstVideoFrame& frame, int index) { return GST_VIDEO_FRAME_PLANE_STRIDE(&frame, index); }

}  // namespace

FramePlanes mapped_frame_planes(const GstVideoFrame& frame) {
  const int width = GST_VIDEO_FRAME_WIDTH(&frame), height = GST_VIDEO_FRAME_HEIGHT(&frame);
  PixelFormat packed;
  if (packed_pixel_format(GST_VIDEO_FRAME_FORMAT(&frame), &packed)) {
    return frame_planes_of(ImageView{plane_data(frame, 0), width, height, plane_stride(frame, 0), packed});
  }
  switch (GST_VIDEO_FRAME_FORMAT(&frame)) {
    case GST_VIDEO_FORMAT_I420:
      return i420_frame_planes(plane_data(frame, 0), plane_stride(frame, 0), plane_data(frame, 1),
                               plane_stride(frame, 1), plane_data(frame, 2), plane_stride(frame, 2), width, height,
                               frame_yuv_matrix(frame.info), frame_full_range(frame.info));
    case GST_VIDEO_FORMAT_NV12:
      return nv12_frame_planes(plane_data(frame, 0), plane_stride(frame, 0), plane_data(frame, 1),
                               plane_stride(frame, 1), width, height, frame_yuv_matrix(frame.info),
                               frame_full_range(frame.info));
    default:
      throw Error(std::string("video format ") + gst_video_format_to_string(GST_VIDEO_FRAME_FORMAT(&frame)) +
                  " is not supported here: use RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420 or NV12 (insert videoconvert)");
  }
}

FramePlanes map_frame_planes(GstBuffer* buffer, const GstVideoInfo& info, GstMapFlags flags) {
  auto mapped = std::make_shared<MappedFrame>();
  mapped->mapped = gst_video_frame_map(&mapped->frame, &info, buffer, flags);
  if (!mapped->mapped) {
    throw Error("could not map a " + std::to_string(GST_VIDEO_INFO_WIDTH(&info)) + "x" +
                std::to_string(GST_VIDEO_INFO_HEIGHT(&info)) + " " + GST_VIDEO_INFO_NAME(&info) + " video frame for " +
                ((flags & GST_MAP_WRITE) ? "writing" : "reading"));
  }
  FramePlanes planes = mapped_frame_planes(mapped->frame);
  planes.keep_alive = std::move(mapped);
  return planes;
}

FramePlanes frame_planes_for_device(GstBuffer* buffer, const GstVideoInfo& info, const c10::Device& device) {
  FramePlanes mapped = map_frame_planes(buffer, info, GST_MAP_READ);
  return runtime::staged_for_device(mapped, device);
}

}  // namespace dinoclip::gst
