#include "dinoseg/dinoseg_hold.h"

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "dinoseg/dinoseg_frames.h"
#include "dinoseg/dinoseg_training.h"

#define GST_CAT_DEFAULT dino_seg_debug

namespace dinoclip::gst {
namespace {

GstFlowReturn hold(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame) {
  // Fail now, not at the annotated frame, when there are no features: no
  // dinofeatures, or an async one (whose frames are all carried, so no stream
  // frame can be trained on).
  const std::string which = "frame " + std::to_string(frame) + " (held until the annotated frame)";
  required_features_of(buffer.get(), which.c_str());
  state.wait.check_room(state.held.size());
  GST_LOG_OBJECT(self, "holding frame %" G_GINT64_FORMAT " until frame %u is annotated", frame,
                 state.settings.annotation_frame);
  state.held.push_back(HeldObject{MiniObjectPtr(GST_MINI_OBJECT(buffer.release())), HeldObject::Kind::kFrame, frame});
  return GST_FLOW_OK;
}

// After training: the held frames segmented together, then everything held
// leaves in arrival order, then the annotated frame. Each held object is
// taken out of the queue before it is pushed, so an error (an exception or a
// flow error) frees exactly the ones not pushed yet, when the queue goes.
GstFlowReturn release_held(GstDinoseg* self, DinosegState& state, BufferPtr annotated, int64_t frame) {
  std::deque<HeldObject> held;
  held.swap(state.held);
  std::vector<PatchGrid> preceding;
  for (const HeldObject& h : held) {
    if (h.kind == HeldObject::Kind::kFrame) {
      preceding.push_back(patch_grid(features_of(GST_BUFFER(h.object.get()), nullptr), state));
    }
  }
  std::vector<at::Tensor> masks = state.segmenter->segment_preceding(preceding, state.height, state.width);
  size_t next_mask = 0;
  while (!held.empty()) {
    HeldObject h = std::move(held.front());
    held.pop_front();
    GstFlowReturn ret = GST_FLOW_OK;
    switch (h.kind) {
      case HeldObject::Kind::kEvent:
        gst_pad_push_event(self->srcpad, GST_EVENT(h.object.release()));
        break;
      case HeldObject::Kind::kFrame:
        ret = segment_and_push(self, state, BufferPtr(GST_BUFFER(h.object.release())), h.frame,
                               masks[next_mask++]);
        break;
    }
    if (ret != GST_FLOW_OK) return ret;  // `held` frees the rest
  }
  return segment_and_push(self, state, std::move(annotated), frame);
}

}  // namespace

GstFlowReturn wait_for_annotated_frame(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame) {
  if (state.wait.next(frame) == AnnotatedFrameWait::Step::kHold) return hold(self, state, std::move(buffer), frame);
  train_on_annotated_frame(self, state, buffer.get(), frame);
  return release_held(self, state, std::move(buffer), frame);
}

bool hold_event(DinosegState& state, GstEvent* event) {
  if (!GST_EVENT_IS_SERIALIZED(event) || GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP || !state.holding()) {
    return false;
  }
  state.held.push_back(HeldObject{MiniObjectPtr(GST_MINI_OBJECT(event)), HeldObject::Kind::kEvent, -1});
  return true;
}

}  // namespace dinoclip::gst
