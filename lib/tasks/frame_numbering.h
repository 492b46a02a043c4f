// Which frame of the video a buffer is, from what its source says about it:
// the frame counter some sources set, else its position in the media times the
// frame rate, else its arrival order. Used by dinoseg so that a seek, frames a
// decoder drops, or carried features never shift the annotated frame or the
// ground-truth file a frame is scored against (docs/elements/dinoseg.md).
#pragma once

#include <cstdint>
#include <optional>

namespace dinoclip {

// What a buffer says about its place in the video (no GStreamer types: the
// element fills it from GST_BUFFER_OFFSET, the segment and the PTS).
struct FramePosition {
  // The source's frame counter (videotestsrc, videorate, v4l2src set
  // GST_BUFFER_OFFSET to it); unset when the offset is not a frame number.
  std::optional<int64_t> frame_offset;
  // Position in the media, nanoseconds (the PTS as stream time); unset without a timestamp.
  std::optional<int64_t> stream_time_ns;
};

class FrameNumbering {
 public:
  // Frames per second as num/den; 0/1 (variable or unknown) disables numbering by time.
  void set_framerate(int num, int den);
  bool has_framerate() const { return fps_num_ > 0 && fps_den_ > 0; }

  // The frame number of the next buffer, in this order of preference:
  //  1. frame_offset, when set;
  //  2. stream time x frame rate, rounded to the nearest frame, when both are known;
  //  3. the previous number + 1 (0 for the first buffer).
  // Numbers may jump (dropped frames) or go back (a seek); they are never negative.
  int64_t number(const FramePosition& stamp);

  // The number the next buffer gets when it carries neither offset nor time.
  int64_t next_by_arrival() const { return next_; }

 private:
  int fps_num_ = 0, fps_den_ = 1;
  int64_t next_ = 0;
};

// Whether a GStreamer-style OFFSET/OFFSET_END pair is a frame counter (one frame
// per buffer) rather than a byte position (filesrc, multifilesrc): OFFSET_END
// must be OFFSET + 1. `none` is the "not set" value (GST_BUFFER_OFFSET_NONE).
bool offset_is_frame_counter(uint64_t offset, uint64_t offset_end, uint64_t none);

}  // namespace dinoclip
