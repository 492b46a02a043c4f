// Which decoded video frames to keep when indexing: one every N seconds (by
// presentation timestamp) or every Nth frame.
#pragma once

#include <cstdint>
#include <string>

namespace dinoclip {

struct SamplingInterval {
  enum class Unit { kTime, kFrames };
  Unit unit = Unit::kTime;
  int64_t amount = 1000000000;  // nanoseconds (kTime) or frames (kFrames); > 0

  // "1s", "2.5s", "500ms", "10f" (every 10th frame). Throws dinoclip::Error
  // on anything else, saying what is accepted.
  static SamplingInterval parse(const std::string& text);

  // Back in the parse() syntax: "1s", "0.5s", "10f".
  std::string describe() const;
};

// Feeds on frames in presentation order and says which to keep. By time, it
// keeps the first frame, then the first frame at or after each multiple of
// the interval from it (a frame rate below the sampling rate keeps every
// frame once). By frames, it keeps frames 0, N, 2N, ...
class FrameSampler {
 public:
  explicit FrameSampler(SamplingInterval every);

  // frame_number counts decoded frames from 0; pts_ns is -1 when the frame
  // has no timestamp, which time sampling cannot use: dinoclip::Error then.
  bool keep(int64_t frame_number, int64_t pts_ns);

 private:
  SamplingInterval every_;
  int64_t next_pts_ = -1;  // the next time to keep a frame at; -1 before the first
};

}  // namespace dinoclip
