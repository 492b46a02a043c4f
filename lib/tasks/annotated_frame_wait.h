// dinoseg's wait for its annotated frame, as plain decisions (no GStreamer):
// frames before the annotated one are held until it arrives (at most
// max-held-frames of them), the annotated one is trained on, and a stream that
// goes past it without delivering it can no longer be segmented. The element
// keeps the held buffers; this says what to do with the next one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dinoclip {

class AnnotatedFrameWait {
 public:
  enum class Step {
    kHold,   // a frame before the annotated one: keep it until training is done
    kTrain,  // the annotated frame: train on it, then release the held frames
  };

  AnnotatedFrameWait(int64_t annotation_frame, size_t max_held)
      : annotation_frame_(annotation_frame), max_held_(max_held) {}

  // What to do with stream frame `frame` (numbered from 0). Throws
  // dinoclip::Error when the stream went past the annotated frame without it
  // (a seek past it, a dropped frame): nothing could ever be trained.
  Step next(int64_t frame) const;

  // Before holding one more frame while `held` are held. Throws
  // dinoclip::Error, saying what to change, when that would exceed max_held.
  void check_room(size_t held) const;

  int64_t annotation_frame() const { return annotation_frame_; }

 private:
  int64_t annotation_frame_;
  size_t max_held_;
};

}  // namespace dinoclip
