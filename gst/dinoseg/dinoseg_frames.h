// dinoseg, one frame once the segmenter is ready: its class map (from the
// segmenter, or carried with its features), the segmentation meta and ROIs,
// the IoU against the ground truth, then downstream. The maths is lib/tasks
// (VideoSegmenter, GroundTruthScorer); this moves metas and messages.
#pragma once

#include <gst/gst.h>

#include <optional>

#include "dinoseg/dinoseg_element.h"

namespace dinoclip::gst {

// The frame's DINO features from its meta (`carried`: dinofeatures reused an
// earlier frame's); nullptr when the frame has none (an async dinofeatures'
// frames before its first result, or no dinofeatures at all).
GstDinoclipFeatures* features_of(GstBuffer* buffer, bool* carried);

// features_of for a frame that must have features (`why`: what they are
// needed for, in the message). Throws dinoclip::Error naming the fix.
GstDinoclipFeatures* required_features_of(GstBuffer* buffer, const char* why, bool* carried = nullptr);

// The features as the segmenter takes them: where dinofeatures keeps them
// (device=auto, no copy; its GPU for a GPU dinofeatures), or on the fixed
// device. Throws dinoclip::Error when they cannot be read.
PatchGrid patch_grid(GstDinoclipFeatures* features, const DinosegState& state);

// device=auto and a loaded head: the head moves to `device`, where the
// features are, once (the first frame's); the segmenter then stays there.
void place_segmenter(DinosegState& state, c10::Device device);

// Segments `buffer` (stream frame `frame`) with `mask` when given (frames
// segmented together after training), else through the segmenter, and pushes
// it. A frame without features leaves as it came (no segmentation, no IoU).
GstFlowReturn segment_and_push(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame,
                               at::Tensor mask = at::Tensor());

// Pushes a frame without features on, untouched.
GstFlowReturn pass_through(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame);

// EOS with a ground truth: posts 'dinoseg-summary' (and warns when no frame
// had a ground-truth file).
void post_iou_summary(GstDinoseg* self, const DinosegState& state);

// EOS: warns when frames came but none had DINO features (no dinofeatures
// upstream), which would otherwise only show as no segmentation at all.
void warn_if_no_features(GstDinoseg* self, const DinosegState& state);

}  // namespace dinoclip::gst
