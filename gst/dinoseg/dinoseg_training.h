// dinoseg's training step: from the annotated frame's (or annotation-image's)
// DINO features and the annotation mask to a ready VideoSegmenter, with
// training progress on the bus, the 'dinoseg-trained' message and save-head.
// Training itself is lib/tasks (VideoSegmenter::from_annotation).
#pragma once

#include <gst/gst.h>

#include <cstdint>

#include "dinoseg/dinoseg_element.h"

namespace dinoclip::gst {

// The annotation must have the size of what it annotates (`of_what` says
// which: "the video", "annotation-image"). Throws dinoclip::Error.
void check_annotation_size(const DinosegState& state, int width, int height, const char* of_what);

// annotation-image: asks the upstream dinofeatures for the picture's features
// (a features query), then trains. Throws dinoclip::Error.
void train_on_annotation_image(GstDinoseg* self, DinosegState& state);

// The annotated stream frame `frame` arrived in `buffer`: trains on its
// features. Throws dinoclip::Error when its features are carried from another frame.
void train_on_annotated_frame(GstDinoseg* self, DinosegState& state, GstBuffer* buffer, int64_t frame);

}  // namespace dinoclip::gst
