#include "tasks/annotated_frame_wait.h"

#include <string>

#include "core/error.h"

namespace dinoclip {

AnnotatedFrameWait::Step AnnotatedFrameWait::next(int64_t frame) const {
  if (frame < annotation_frame_) return Step::kHold;
  if (frame > annotation_frame_) {
    throw Error("annotation-frame " + std::to_string(annotation_frame_) +
                " never arrived: the stream went on to "
                "frame " +
                std::to_string(frame) +
                " (a seek past it, or a frame the decoder dropped), so there "
                "is no frame to learn the mask on: annotate a frame the stream delivers");
  }
  return Step::kTrain;
}

void AnnotatedFrameWait::check_room(size_t held) const {
  if (held < max_held_) return;
  throw Error("annotation-frame " + std::to_string(annotation_frame_) +
              " is more than max-held-frames=" + std::to_string(max_held_) +
              " frames into the stream, and frames before it are held in memory: "
              "raise max-held-frames, or annotate an earlier frame");
}

}  // namespace dinoclip
