// What dinoseg's own files (dinoseg_*.cpp) see of the element: its instance
// struct, its private data and its debug category. Not for other elements.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "dinoseg/dinoseg_properties.h"
#include "dinoseg/dinoseg_state.h"
#include "dinoseg/gstdinoseg.h"

GST_DEBUG_CATEGORY_EXTERN(dino_seg_debug);

namespace dinoclip::gst {

struct DinosegPrivate {
  std::mutex settings_lock;
  DinosegSettings settings;
  // Set with the settings' snapshot at READY->PAUSED (under settings_lock),
  // cleared at PAUSED->READY: property changes are refused while it is set.
  std::atomic<bool> settings_fixed{false};
  // Between READY->PAUSED and PAUSED->READY; guarded by the sink pad's stream
  // lock, never touched by FLUSH_START (the whole story: dinoseg_state.h).
  std::unique_ptr<DinosegState> state;
  // For the read-only properties, from any thread.
  std::atomic<bool> trained{false};
  std::atomic<double> train_accuracy{0.0};
  std::atomic<guint64> frames_segmented{0};
};

}  // namespace dinoclip::gst

struct _GstDinoseg {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  dinoclip::gst::DinosegPrivate* priv;
};

namespace dinoclip::gst {

inline void post_dinoseg_message(GstDinoseg* self, GstStructure* structure) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), structure));
}

}  // namespace dinoclip::gst
