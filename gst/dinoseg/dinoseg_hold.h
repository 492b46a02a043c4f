// dinoseg's hold / release state machine, until the segmenter is ready:
//   waiting:  frames before annotation-frame are held (at most max-held-frames),
//             with the serialized events between them, in arrival order;
//   trained:  the annotated frame arrives -> train on it (dinoseg_training),
//             segment the held frames together (propagation walks back in
//             time from the annotated frame), release them and their events
//             in order, then the annotated frame;
//   segmenting: every later frame goes straight to segment_and_push.
// A stream that skips the annotated frame, or ends before it, is an error, and
// so is a frame without DINO features while waiting (no dinofeatures, or an
// async one: its frames never carry their own features, so none can be
// trained on). Every held frame and event is pushed or freed exactly once.
// The decisions are lib/tasks AnnotatedFrameWait; this holds the GStreamer objects.
#pragma once

#include <gst/gst.h>

#include <cstdint>

#include "dinoseg/dinoseg_element.h"

namespace dinoclip::gst {

// A frame while no segmenter exists: held, or (the annotated one) trained on
// and released with everything held. Throws dinoclip::Error.
GstFlowReturn wait_for_annotated_frame(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame);

// A serialized event while frames are held keeps its place among them: true
// when it was taken.
bool hold_event(DinosegState& state, GstEvent* event);

}  // namespace dinoclip::gst
