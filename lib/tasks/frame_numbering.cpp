#include "tasks/frame_numbering.h"

#include <limits>

namespace dinoclip {

void FrameNumbering::set_framerate(int num, int den) {
  fps_num_ = num > 0 && den > 0 ? num : 0;
  fps_den_ = num > 0 && den > 0 ? den : 1;
}

int64_t FrameNumbering::number(const FramePosition& stamp) {
  int64_t frame = next_;
  if (stamp.frame_offset && *stamp.frame_offset >= 0) {
    frame = *stamp.frame_offset;
  } else if (stamp.stream_time_ns && *stamp.stream_time_ns >= 0 && has_framerate()) {
    // t * num / (den * 1e9), rounded: 128-bit so hours of 8K-fps video do not overflow.
    const __int128 scaled = __int128(*stamp.stream_time_ns) * fps_num_;
    const __int128 unit = __int128(fps_den_) * 1000000000;
    const __int128 rounded = (scaled + unit / 2) / unit;
    frame = rounded > std::numeric_limits<int64_t>::max() - 1 ? std::numeric_limits<int64_t>::max() - 1
                                                              : int64_t(rounded);
  }
  next_ = frame + 1;
  return frame;
}

bool offset_is_frame_counter(uint64_t offset, uint64_t offset_end, uint64_t none) {
  return offset != none && offset_end != none && offset_end == offset + 1 &&
         offset <= uint64_t(std::numeric_limits<int64_t>::max());
}

}  // namespace dinoclip
