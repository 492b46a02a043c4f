#include "app/sample_image.h"

#include <gst/video/video.h>

#include "core/error.h"
#include "common/frame_convert.h"

namespace dinoclip::gstapp {

bool copy_sample_rgb(GstSample* sample, Image* out) {
  GstCaps* caps = gst_sample_get_caps(sample);
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstVideoInfo info;
  GstVideoFrame mapped;
  if (!caps || !buffer || !gst_video_info_from_caps(&info, caps) ||
      !gst_video_frame_map(&mapped, &info, buffer, GST_MAP_READ)) {
    return false;
  }
  bool copied = true;
  try {
    *out = gst::frame_rgb(mapped);
  } catch (const Error&) {
    copied = false;  // a format frame_convert does not read
  }
  gst_video_frame_unmap(&mapped);
  return copied;
}

}  // namespace dinoclip::gstapp
