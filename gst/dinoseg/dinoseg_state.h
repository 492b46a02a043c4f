// What dinoseg holds between READY->PAUSED and PAUSED->READY (streaming thread
// only), and how READY->PAUSED builds it from the settings: every check that
// can fail before the first frame fails there, with what to change.
#pragma once

#include <gst/dinoclip/dinoclip-meta.h>
#include <gst/gst.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "core/image.h"
#include "dinoseg/dinoseg_properties.h"
#include "dinoseg/dinoseg_frame_position.h"
#include "tasks/annotated_frame_wait.h"
#include "tasks/frame_numbering.h"
#include "tasks/ground_truth.h"
#include "tasks/video_segmenter.h"

namespace dinoclip::gst {

// A buffer (with its stream frame number) or a serialized event held back
// while waiting for the annotated frame, in arrival order.
struct HeldObject {
  GstMiniObject* object;
  int64_t frame;  // -1 for events
};

// Owns a buffer reference until it is pushed or held, so that an exception
// on the way never leaks it.
struct BufferUnref {
  void operator()(GstBuffer* buffer) const { gst_buffer_unref(buffer); }
};
using BufferPtr = std::unique_ptr<GstBuffer, BufferUnref>;

struct DinosegState {
  DinosegSettings settings;  // snapshot at READY->PAUSED
  VideoSegmenterConfig config;
  c10::Device device = c10::Device(c10::kCPU);
  std::optional<Image> annotation;  // the mask, when training from one
  AnnotatedFrameWait wait{0, 0};
  std::optional<GroundTruthScorer> ground_truth;
  std::optional<VideoSegmenter> segmenter;  // set once trained (or loaded)
  gint width = 0, height = 0;               // from the caps
  GstSegment segment;                       // the latest SEGMENT event's, for stream times
  FrameNumbering numbering;                 // frame numbers from offsets or timestamps (docs/elements/dinoseg.md)
  int64_t frames_received = 0;              // buffers since READY->PAUSED, for messages
  int64_t current_frame = -1;               // the number of the buffer being handled
  std::deque<HeldObject> held;
  GstDinoFeatures* last_features = nullptr;  // to recognise carried features
  GstDinoSegmentation* last_segmentation = nullptr;
  at::Tensor last_mask;  // last_segmentation's class map, to score carried frames

  DinosegState() { gst_segment_init(&segment, GST_FORMAT_TIME); }
  DinosegState(const DinosegState&) = delete;
  DinosegState& operator=(const DinosegState&) = delete;
  ~DinosegState() {
    drop_held();
    forget_last();
  }

  void drop_held() {
    for (const HeldObject& h : held) gst_mini_object_unref(h.object);
    held.clear();
  }
  void forget_last() {
    if (last_segmentation) gst_dino_segmentation_unref(last_segmentation);
    last_segmentation = nullptr;
    last_features = nullptr;
    last_mask = at::Tensor();
  }
  bool holding() const { return !segmenter && !held.empty(); }
};

// READY->PAUSED: checks the settings together, reads the annotation or loads
// the head, parses the ground-truth pattern. Throws dinoclip::Error saying
// what to change.
std::unique_ptr<DinosegState> prepare_dinoseg_state(const DinosegSettings& settings);

}  // namespace dinoclip::gst
