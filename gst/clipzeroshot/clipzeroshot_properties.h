// clipzeroshot's properties: ids, defaults, and their GParamSpecs with the
// blurbs gst-inspect shows (docs/elements/clipzeroshot.md has the same table).
#pragma once

#include <glib-object.h>

namespace dinoclip::gst {

namespace clipzeroshot_props {

inline constexpr const char* kDefaultTemplate = "a photo of {}.";
inline constexpr guint kMaxTopK = 1000;
inline constexpr double kDefaultQueryThreshold =
    0.25;  // cosine; matching CLIP text/image pairs are typically 0.25-0.35
inline constexpr double kDefaultHysteresis = 0.02;

enum {
  PROP_0,
  PROP_MODEL,
  PROP_VOCAB,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_LABELS,
  PROP_LABELS_FILE,
  PROP_TEMPLATE,
  PROP_CROP,
  PROP_TOP_K,
  PROP_UNKNOWN_THRESHOLD,
  PROP_QUERY,
  PROP_QUERY_THRESHOLD,
  PROP_HYSTERESIS,
  PROP_INFERENCES,
  PROP_TEXT_ENCODINGS,
  PROP_INFERENCE_FIRST,  // then inference_properties.h's, in its order
};

}  // namespace clipzeroshot_props

void install_clipzeroshot_properties(GObjectClass* klass);

}  // namespace dinoclip::gst
