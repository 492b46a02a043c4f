// Scoring a segmented video against per-frame ground-truth masks named by a
// pattern ("DAVIS/Annotations/480p/dog/%05d.png"), for dinoseg's ground-truth
// property: frames without a file are not scored; the IoUs of the frames that
// have one are kept for the summary at the end of the stream.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/frame_pattern.h"
#include "tasks/iou.h"

namespace dinoclip {

struct FrameIou {
  double mean = 0;                // mean_iou(prediction, truth)
  std::vector<double> per_class;  // indexed by class id 0..255, NaN where a class is in neither mask
};

class GroundTruthScorer {
 public:
  // Throws dinoclip::Error naming `pattern` when it is not a one-integer
  // pattern (FramePattern) or its folder does not exist (which would
  // otherwise only show as no IoU at all at the end).
  explicit GroundTruthScorer(const std::string& pattern);

  // Frame `frame`'s IoU for the [H, W] uint8 class map `mask`, recorded for
  // summary(); nullopt when the frame has no ground-truth file. Throws
  // dinoclip::Error when the file is unreadable or of another size.
  std::optional<FrameIou> score(int64_t frame, const at::Tensor& mask);

  IouSummary summary() const { return series_.summary(); }
  std::string path(int64_t frame) const { return pattern_.path(frame); }

 private:
  FramePattern pattern_;
  IouSeries series_;
};

}  // namespace dinoclip
