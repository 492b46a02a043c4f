#include "tasks/video_segmenter.h"

#include <ATen/ATen.h>

#include <string>

#include "core/error.h"
#include "tasks/label_grid.h"

namespace dinoclip {
namespace {

constexpr int kMaxClasses = 256;  // class maps are uint8

// The annotation's class count, after the checks a user's mask needs.
int annotation_classes(const Image& mask, int requested) {
  check_mask(mask, "the annotation");
  const int present_max = count_classes(mask);
  const int classes = requested > 0 ? requested : present_max;
  if (classes > kMaxClasses) {
    throw Error("the annotation needs " + std::to_string(classes) + " classes; at most " +
                std::to_string(kMaxClasses) + " are supported");
  }
  if (requested > 0) check_mask(mask, mask.width, mask.height, requested, "the annotation");
  if (present_max < 2) {
    throw Error("the annotation has a single class (every pixel is 0); annotate at least one object");
  }
  return classes;
}

void check_grid(const PatchGrid& grid, const char* what) {
  if (!grid.features.defined() || grid.features.dim() != 2 || grid.grid_h <= 0 || grid.grid_w <= 0 ||
      grid.features.size(0) != int64_t(grid.grid_h) * grid.grid_w) {
    throw Error(std::string(what) + ": patch features must be [grid_h * grid_w, D] for a " +
                std::to_string(grid.grid_w) + "x" + std::to_string(grid.grid_h) + " grid");
  }
}

}  // namespace

const char* seg_method_name(SegMethod method) {
  return method == SegMethod::kHead ? "head" : "propagation";
}

VideoSegmenter VideoSegmenter::from_annotation(const PatchGrid& annotated, const Image& mask,
                                               const VideoSegmenterConfig& config, const ProgressCallback& progress) {
  check_grid(annotated, "the annotated frame");
  VideoSegmenter segmenter;
  segmenter.method_ = config.method;
  segmenter.num_classes_ = annotation_classes(mask, config.num_classes);
  const int classes = segmenter.num_classes_;
  if (config.method == SegMethod::kHead) {
    const at::Tensor targets = config.head.labels == LabelMode::kSoft
                                   ? soft_patch_labels(mask, annotated.grid_h, annotated.grid_w, classes)
                                   : majority_patch_labels(mask, annotated.grid_h, annotated.grid_w, classes);
    segmenter.head_ = SegHead::train(annotated.features, targets.to(annotated.features.device()), config.head,
                                     progress);
    return segmenter;
  }
  segmenter.propagator_ = std::make_unique<LabelPropagator>(config.propagation);
  // A copy: the caller's features may be a view of a buffer that goes away.
  segmenter.reference_ = PatchGrid{annotated.features.clone(), annotated.grid_h, annotated.grid_w};
  segmenter.reference_labels_ = soft_patch_labels(mask, annotated.grid_h, annotated.grid_w, classes)
                                    .to(annotated.features.device());
  segmenter.restart_propagation();
  return segmenter;
}

VideoSegmenter VideoSegmenter::from_head(SegHead head) {
  VideoSegmenter segmenter;
  segmenter.method_ = SegMethod::kHead;
  segmenter.num_classes_ = head.num_classes();
  segmenter.head_ = std::move(head);
  return segmenter;
}

void VideoSegmenter::restart_propagation() {
  propagator_->set_reference(reference_.features, reference_labels_, reference_.grid_h, reference_.grid_w);
}

at::Tensor VideoSegmenter::segment(const PatchGrid& frame, int out_h, int out_w) {
  check_grid(frame, "frame");
  if (method_ == SegMethod::kHead) return head_->predict_mask(frame.features, frame.grid_h, frame.grid_w, out_h, out_w);
  if (frame.grid_h != propagator_->grid_h() || frame.grid_w != propagator_->grid_w()) {
    throw Error("propagation needs every frame on the annotated frame's patch grid (" +
                std::to_string(propagator_->grid_w()) + "x" + std::to_string(propagator_->grid_h()) + "), got " +
                std::to_string(frame.grid_w) + "x" + std::to_string(frame.grid_h) +
                ": keep dinofeatures' input-size fixed");
  }
  return propagator_->predict_mask(propagator_->propagate(frame.features), out_h, out_w);
}

std::vector<at::Tensor> VideoSegmenter::segment_preceding(const std::vector<PatchGrid>& frames, int out_h,
                                                          int out_w) {
  std::vector<at::Tensor> masks(frames.size());
  if (method_ == SegMethod::kHead) {
    for (size_t i = 0; i < frames.size(); ++i) masks[i] = segment(frames[i], out_h, out_w);
    return masks;
  }
  restart_propagation();
  for (size_t i = frames.size(); i-- > 0;) masks[i] = segment(frames[i], out_h, out_w);
  restart_propagation();
  return masks;
}

}  // namespace dinoclip
