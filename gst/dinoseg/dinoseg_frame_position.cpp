#include "dinoseg/dinoseg_frame_position.h"

namespace dinoclip::gst {

FramePosition frame_position_of(GstBuffer* buffer, const GstSegment& segment) {
  FramePosition stamp;
  if (offset_is_frame_counter(GST_BUFFER_OFFSET(buffer), GST_BUFFER_OFFSET_END(buffer), GST_BUFFER_OFFSET_NONE)) {
    stamp.frame_offset = int64_t(GST_BUFFER_OFFSET(buffer));
  }
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (GST_CLOCK_TIME_IS_VALID(pts) && segment.format == GST_FORMAT_TIME) {
    const guint64 stream_time = gst_segment_to_stream_time(&segment, GST_FORMAT_TIME, pts);
    if (GST_CLOCK_TIME_IS_VALID(stream_time) && stream_time <= guint64(G_MAXINT64)) {
      stamp.stream_time_ns = int64_t(stream_time);
    }
  }
  return stamp;
}

}  // namespace dinoclip::gst
