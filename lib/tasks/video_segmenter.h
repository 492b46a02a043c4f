// One-shot video segmentation as a stream consumer sees it: set up once from
// an annotated frame (or a saved head), then one class map per frame. Hides
// which method runs: a trained head (SegHead) or DINO's label propagation.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <vector>

#include "core/image.h"
#include "tasks/propagation.h"
#include "tasks/seg_head.h"

namespace dinoclip {

enum class SegMethod {
  kHead,         // a head trained on the annotated frame's patches, applied to each frame alone
  kPropagation,  // labels carried from the annotated and the last few frames by feature affinity
};

const char* seg_method_name(SegMethod method);  // "head", "propagation"

struct VideoSegmenterConfig {
  SegMethod method = SegMethod::kHead;
  SegHeadConfig head;
  LabelPropagator::Config propagation;
  // Classes: 0 = the annotation's largest id + 1. Larger values reserve ids
  // the annotation does not use; an annotation id >= num_classes is an error.
  int num_classes = 0;
};

// A frame's patch features and grid, as dinofeatures gives them.
struct PatchGrid {
  at::Tensor features;  // [grid_h * grid_w, D]
  int grid_h = 0;
  int grid_w = 0;
};

class VideoSegmenter {
 public:
  // From the annotated frame's features and its frame-size mask (1-channel
  // class ids). The head is trained here (`progress` is called as it goes);
  // propagation takes the frame as its reference. Throws dinoclip::Error on a
  // mask with one class, an id >= config.num_classes, more than 256 classes,
  // or features that do not match the grid.
  static VideoSegmenter from_annotation(const PatchGrid& annotated, const Image& mask,
                                        const VideoSegmenterConfig& config,
                                        const ProgressCallback& progress = nullptr);

  // From a saved head (SegHead::load): method head, nothing to train.
  static VideoSegmenter from_head(SegHead head);

  // The next frame's [out_h, out_w] uint8 class map (CPU). Frames must come
  // in stream order after the annotated one: propagation carries labels from
  // the previous frames.
  at::Tensor segment(const PatchGrid& frame, int out_h, int out_w);

  // Class maps for frames that came BEFORE the annotated one, given in stream
  // order (oldest first), returned in the same order. Propagation walks them
  // backwards from the annotated frame (the nearest frames first, as time
  // runs the other way), then starts forwards again from the annotation
  // alone, so frames after it see no context from before it.
  std::vector<at::Tensor> segment_preceding(const std::vector<PatchGrid>& frames, int out_h, int out_w);

  SegMethod method() const { return method_; }
  int num_classes() const { return num_classes_; }
  // The trained or loaded head; nullopt for propagation.
  const std::optional<SegHead>& head() const { return head_; }

 private:
  VideoSegmenter() = default;
  void restart_propagation();

  SegMethod method_ = SegMethod::kHead;
  int num_classes_ = 0;
  std::optional<SegHead> head_;
  std::unique_ptr<LabelPropagator> propagator_;
  PatchGrid reference_;
  at::Tensor reference_labels_;
};

}  // namespace dinoclip
