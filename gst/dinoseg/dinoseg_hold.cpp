#include "dinoseg/dinoseg_hold.h"

#include <deque>
#include <utility>
#include <vector>

#include "dinoseg/dinoseg_frames.h"
#include "dinoseg/dinoseg_training.h"

#define GST_CAT_DEFAULT dino_seg_debug

namespace dinoclip::gst {
namespace {

GstFlowReturn hold(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame) {
  features_of(buffer.get(), nullptr);  // fail now, not at the annotated frame, when dinofeatures is missing
  state.wait.check_room(state.held.size());
  GST_LOG_OBJECT(self, "holding frame %" G_GINT64_FORMAT " until frame %u is annotated", frame,
                 state.settings.annotation_frame);
  state.held.push_back(HeldObject{GST_MINI_OBJECT(buffer.release()), frame});
  return GST_FLOW_OK;
}

// After training: the held frames segmented together, then everything held
// leaves in arrival order, then the annotated frame.
GstFlowReturn release_held(GstDinoseg* self, DinosegState& state, BufferPtr annotated, int64_t frame) {
  std::vector<PatchGrid> preceding;
  for (const HeldObject& h : state.held) {
    if (h.frame >= 0) preceding.push_back(patch_grid(features_of(GST_BUFFER(h.object), nullptr), state.device));
  }
  std::vector<at::Tensor> masks = state.segmenter->segment_preceding(preceding, state.height, state.width);
  std::deque<HeldObject> held;
  held.swap(state.held);
  size_t next_mask = 0;
  GstFlowReturn ret = GST_FLOW_OK;
  for (const HeldObject& h : held) {
    if (ret != GST_FLOW_OK) {
      gst_mini_object_unref(h.object);
    } else if (h.frame < 0) {
      gst_pad_push_event(self->srcpad, GST_EVENT(h.object));
    } else {
      ret = segment_and_push(self, state, BufferPtr(GST_BUFFER(h.object)), h.frame, masks[next_mask++]);
    }
  }
  if (ret != GST_FLOW_OK) return ret;
  return segment_and_push(self, state, std::move(annotated), frame);
}

}  // namespace

GstFlowReturn wait_for_annotated_frame(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame) {
  if (state.wait.next(frame) == AnnotatedFrameWait::Step::kHold) return hold(self, state, std::move(buffer), frame);
  train_on_annotated_frame(self, state, buffer.get(), frame);
  return release_held(self, state, std::move(buffer), frame);
}

bool hold_event(DinosegState& state, GstEvent* event) {
  if (!state.holding() || !GST_EVENT_IS_SERIALIZED(event) || GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    return false;
  }
  state.held.push_back(HeldObject{GST_MINI_OBJECT(event), -1});
  return true;
}

}  // namespace dinoclip::gst
