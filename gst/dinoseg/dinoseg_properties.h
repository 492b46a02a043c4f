// dinoseg's properties: ids, the values as the user set them (Settings), their
// GParamSpecs with the blurbs gst-inspect-1.0 shows (docs/elements/dinoseg.md
// has the same table), and GValue <-> Settings. The element keeps the lock and
// the refusal of changes while running.
#pragma once

#include <glib-object.h>

#include <string>

#include "common/enums.h"

namespace dinoclip::gst {

namespace dinoseg_props {

inline constexpr guint kDefaultMaxHeldFrames = 300;

enum {
  PROP_0,
  PROP_ANNOTATION,
  PROP_ANNOTATION_FRAME,
  PROP_ANNOTATION_IMAGE,
  PROP_NUM_CLASSES,
  PROP_MAX_HELD_FRAMES,
  PROP_METHOD,
  PROP_HEAD,
  PROP_HIDDEN_SIZE,
  PROP_NUM_ITERS,
  PROP_LEARNING_RATE,
  PROP_WEIGHT_DECAY,
  PROP_SEED,
  PROP_PATCH_LABELS,
  PROP_SAVE_HEAD,
  PROP_LOAD_HEAD,
  PROP_GROUND_TRUTH,
  PROP_CONTEXT_FRAMES,
  PROP_TOPK,
  PROP_TOPK_OLD_NAME,  // "topk", deprecated spelling of "top-k"
  PROP_NEIGHBORHOOD,
  PROP_TEMPERATURE,
  PROP_DEVICE,
  PROP_TRAINED,  // read-only from here on: the element answers these
  PROP_TRAIN_ACCURACY,
  PROP_FRAMES_SEGMENTED,
};

}  // namespace dinoseg_props

// Property values, as the user set them; defaults are lib's (SegHeadConfig,
// LabelPropagator::Config).
struct DinosegSettings {
  DinosegSettings();

  std::string annotation;
  guint annotation_frame = 0;
  std::string annotation_image;
  guint num_classes = 0;
  guint max_held_frames = dinoseg_props::kDefaultMaxHeldFrames;
  GstDinoSegMethod method = GST_DINO_SEG_METHOD_HEAD;
  GstDinoSegHead head = GST_DINO_SEG_HEAD_LINEAR;
  gint hidden_size;
  gint num_iters;
  gdouble learning_rate;
  gdouble weight_decay;
  guint64 seed = 0;
  GstDinoSegPatchLabels patch_labels = GST_DINO_SEG_PATCH_LABELS_SOFT;
  std::string save_head;
  std::string load_head;
  std::string ground_truth;
  gint context_frames;
  gint topk;
  gint neighborhood;
  gdouble temperature;
  GstDinoDevice device = GST_DINO_DEVICE_AUTO;

  // Frames held before the annotated one arrives: annotation-frame, or none
  // when a loaded head or annotation-image trains before the stream.
  guint frames_to_hold() const { return load_head.empty() && annotation_image.empty() ? annotation_frame : 0; }
};

void install_dinoseg_properties(GObjectClass* klass);

// A settable property into / out of `settings`; false for any other id (the
// read-only ones the element answers itself).
bool set_dinoseg_setting(DinosegSettings& settings, guint prop_id, const GValue* value);
bool get_dinoseg_setting(const DinosegSettings& settings, guint prop_id, GValue* value);

}  // namespace dinoclip::gst
