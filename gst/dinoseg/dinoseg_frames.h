// dinoseg, one frame once the segmenter is ready: its class map (from the
// segmenter, or carried with its features), the segmentation meta and ROIs,
// the IoU against the ground truth, then downstream. The maths is lib/tasks
// (VideoSegmenter, GroundTruthScorer); this moves metas and messages.
#pragma once

#include <gst/gst.h>

#include "dinoseg/dinoseg_element.h"

namespace dinoclip::gst {

// The frame's DINO features from its meta (`carried`: dinofeatures reused an
// earlier frame's). Throws dinoclip::Error naming the missing dinofeatures.
GstDinoFeatures* features_of(GstBuffer* buffer, bool* carried);

// The features as the segmenter takes them, on `device`.
PatchGrid patch_grid(GstDinoFeatures* features, c10::Device device);

// Segments `buffer` (stream frame `frame`) with `mask` when given (frames
// segmented together after training), else through the segmenter, and pushes it.
GstFlowReturn segment_and_push(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame,
                               at::Tensor mask = at::Tensor());

// EOS with a ground truth: posts 'dinoseg-summary' (and warns when no frame
// had a ground-truth file).
void post_iou_summary(GstDinoseg* self, const DinosegState& state);

}  // namespace dinoclip::gst
