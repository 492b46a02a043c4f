// Intersection over union of class masks, the DAVIS region measure (J).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/image.h"

namespace dinoclip {

// [num_classes] IoU of class c = |pred == c AND truth == c| / |pred == c OR truth == c|.
// A class in neither mask has no IoU: NaN (skip it with std::isnan).
// Throws dinoclip::Error if the masks differ in size, are not 1-channel, or
// hold an id >= num_classes (the message names the id).
std::vector<double> per_class_iou(const Image& pred, const Image& truth, int num_classes);

struct MeanIouOptions {
  // Background (class 0) counts like any class by default, as in the notebook's
  // mean IoU (so a mask that finds the object but floods the background scores
  // low). DAVIS's J averages objects only: set this for that measure.
  bool exclude_background = false;
};

// Mean of per_class_iou over the classes present in the ground truth OR the
// prediction (a class predicted but absent from the truth counts with IoU 0;
// a class in neither is skipped). num_classes is taken from the masks' largest
// id. NaN if no class remains (only possible with exclude_background and two
// all-background masks).
double mean_iou(const Image& pred, const Image& truth, const MeanIouOptions& options = {});

// A video's per-frame IoUs summarised as the notebook reports them: the mean
// over all evaluated frames, and the first and last evaluated frames' values.
struct IouSummary {
  int64_t frames = 0;   // frames evaluated (NaN IoUs are not counted)
  double mean = 0;      // NaN when no frame was evaluated
  double first = 0;     // IoU of the lowest frame number added, NaN if none
  double last = 0;      // IoU of the highest frame number added, NaN if none
  int64_t first_frame = -1;
  int64_t last_frame = -1;
};

class IouSeries {
 public:
  // Frames may come in any order; a NaN IoU (nothing to measure) is ignored.
  // A frame added again (a seek played it twice) replaces its earlier IoU, so
  // the summary is over distinct frames.
  void add(int64_t frame, double iou);
  IouSummary summary() const;
  void clear() { *this = IouSeries(); }

 private:
  std::map<int64_t, double> by_frame_;
};

}  // namespace dinoclip
