// What dinoseg holds between READY->PAUSED and PAUSED->READY, and how
// READY->PAUSED builds it from the settings: every check that can fail before
// the first frame fails there, with what to change.
//
// Who may touch a DinosegState (the lock story):
//   - it is created in READY->PAUSED before the pads are activated, and
//     destroyed in PAUSED->READY after GstElement's change_state deactivated
//     them; deactivating a pad takes its stream lock, so no streaming thread
//     is inside dinoseg any more and none can enter (the pads refuse data);
//   - in between, only code under the sink pad's STREAM LOCK touches it: the
//     chain function and serialized events (CAPS, SEGMENT, FLUSH_STOP, EOS,
//     custom serialized events). That lock is the state's lock;
//   - non-serialized events (FLUSH_START above all, which an application's
//     seek sends from its own thread while frames stream) never touch it:
//     the event function forwards them before it looks at the state, and
//     FLUSH_STOP (serialized) does the flush's work: drop what is held and
//     forget the last result;
//   - other threads (property setters, queries, the application) read only
//     DinosegPrivate's atomics and settings (under settings_lock).
// A flushing seek during training waits for the training step to finish
// (the streaming thread is busy in it); nothing else can block a flush.
#pragma once

#include <gst/dinoclip/dinoclip-meta.h>
#include <gst/gst.h>

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceGuard.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "core/image.h"
#include "dinoseg/dinoseg_frame_position.h"
#include "dinoseg/dinoseg_properties.h"
#include "tasks/annotated_frame_wait.h"
#include "tasks/frame_numbering.h"
#include "tasks/ground_truth.h"
#include "tasks/video_segmenter.h"

namespace dinoclip::gst {

// Owns a buffer reference until it is pushed or held, so that an exception
// on the way never leaks it.
struct BufferUnref {
  void operator()(GstBuffer* buffer) const { gst_buffer_unref(buffer); }
};
using BufferPtr = std::unique_ptr<GstBuffer, BufferUnref>;

struct MiniObjectUnref {
  void operator()(GstMiniObject* object) const { gst_mini_object_unref(object); }
};
using MiniObjectPtr = std::unique_ptr<GstMiniObject, MiniObjectUnref>;

// A reference to a features payload: while dinoseg holds it, the payload
// cannot be freed, so its address cannot name another frame's features.
struct FeaturesUnref {
  void operator()(GstDinoclipFeatures* features) const { gst_dinoclip_features_unref(features); }
};
using FeaturesRef = std::unique_ptr<GstDinoclipFeatures, FeaturesUnref>;

// Something held back while waiting for the annotated frame, in arrival
// order. It owns its reference: whatever happens (an error while releasing,
// a flush, a stop), each held object is pushed or freed exactly once.
struct HeldObject {
  enum class Kind {
    kFrame,  // a frame (with DINO features): segmented at release
    kEvent,  // a serialized event
  };
  MiniObjectPtr object;
  Kind kind = Kind::kEvent;
  int64_t frame = -1;  // the stream frame number of a frame
};

struct DinosegState {
  DinosegSettings settings;  // snapshot at READY->PAUSED
  VideoSegmenterConfig config;
  // device=cpu / cuda[:N]: features are copied there. nullopt (device=auto):
  // dinoseg runs where the features are (dinofeatures' device), no copies.
  std::optional<c10::Device> fixed_device;
  std::optional<Image> annotation;  // the mask, when training from one
  AnnotatedFrameWait wait{0, 0};
  std::optional<GroundTruthScorer> ground_truth;
  std::optional<VideoSegmenter> segmenter;  // set once trained (or loaded)
  gint width = 0, height = 0;               // from the caps
  GstSegment segment;                       // the latest SEGMENT event's, for stream times
  FrameNumbering numbering;                 // frame numbers from offsets or timestamps (docs/elements/dinoseg.md)
  int64_t frames_received = 0;              // buffers since READY->PAUSED, for messages
  int64_t frames_without_features = 0;      // of those, passed on unsegmented (no features meta)
  int64_t current_frame = -1;               // the number of the buffer being handled
  std::deque<HeldObject> held;
  FeaturesRef last_features;  // the last segmented frame's features (a reference), to recognise carried ones
  GstDinoclipSegmentation* last_segmentation = nullptr;
  at::Tensor last_mask;  // last_segmentation's class map, to score carried frames

  DinosegState() { gst_segment_init(&segment, GST_FORMAT_TIME); }
  DinosegState(const DinosegState&) = delete;
  DinosegState& operator=(const DinosegState&) = delete;
  ~DinosegState() {
    drop_held();
    forget_last();
  }

  void drop_held() { held.clear(); }
  void forget_last() {
    if (last_segmentation) gst_dinoclip_segmentation_unref(last_segmentation);
    last_segmentation = nullptr;
    last_features.reset();
    last_mask = at::Tensor();
  }
  bool holding() const { return !segmenter && !held.empty(); }
};

// CUDA work runs with the features' GPU as the current device, so nothing
// lands on GPU 0 (a context, a workspace) when the features are on another
// one. Does nothing for the CPU.
class CudaDeviceGuard {
 public:
  explicit CudaDeviceGuard(c10::Device device) {
    if (device.is_cuda()) guard_.reset_device(device);
  }

 private:
  c10::OptionalDeviceGuard guard_;
};

// READY->PAUSED: checks the settings together, reads the annotation or loads
// the head, parses the ground-truth pattern. Throws dinoclip::Error saying
// what to change.
std::unique_ptr<DinosegState> prepare_dinoseg_state(const DinosegSettings& settings);

}  // namespace dinoclip::gst
