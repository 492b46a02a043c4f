// What an inference element and its base (gstdinoclipinference.h) share in
// C++: the base's settings handed to the element's open(), the texts an
// element gives the base, and acquire_model_instance() for open().
#pragma once

#include <gst/gst.h>

#include <exception>
#include <memory>
#include <string>

#include "common/enums.h"
#include "inference/gstdinoclipinference.h"
#include "inference/inference_properties.h"
#include "inference/model_load_error.h"

namespace dinoclip::gst {

// The base's settings, as the user set them.
struct ModelSettings {
  std::string model;
  GstDinoclipDevice device = GST_DINOCLIP_DEVICE_AUTO;
  GstDinoclipPrecision precision = GST_DINOCLIP_PRECISION_FP32;
  gint threads = 0;  // 0: the process setting (elements without 'threads' keep 0)
  InferenceSettings inference;
};

// What gst-inspect and the errors say that differs between elements.
struct InferenceElementTexts {
  const char* model_kind;        // "DINO", "CLIP": "No DINO model", "Could not load the DINO model ..."
  const char* model_blurb;       // the 'model' property
  const char* model_missing;     // completes "No <kind> model: set the 'model' property to ..."
  const char* model_expected;    // what the file should be, after a load error ("" for nothing)
  const char* precision_blurb;   // the 'precision' property
  const char* inferences_blurb;  // the 'inferences' counter
};

// Properties an element may add to the base's (their texts are the base's).
enum InferenceOptionalProperty : guint {
  kInferenceThreads = 1 << 0,            // threads (LibTorch's intra-op pool)
  kInferenceSkippedInferences = 1 << 1,  // skipped-inferences (counter)
};

// From open(): fills `options`' model path, device, dtype, batch policy and
// threads from `settings` and acquires the shared instance with
// acquire(model-instance-id, options); nullptr after posting the element
// error a user can act on (an impossible device/precision choice, a missing or
// unreadable file, an instance id shared with other settings).
template <typename Instance, typename Options>
std::shared_ptr<Instance> acquire_model_instance(GstDinoclipInference* self, const ModelSettings& settings,
                                                 Options options,
                                                 std::shared_ptr<Instance> (*acquire)(const std::string&,
                                                                                      const Options&)) {
  const InferenceElementTexts* texts = GST_DINOCLIP_INFERENCE_GET_CLASS(self)->texts;
  try {
    options.model_path = settings.model;
    options.load.device = resolve_device(to_device_choice(settings.device));
    const Precision precision = to_precision(settings.precision);
    options.load.dtype = resolve_precision(precision, options.load.device);
    options.load.tf32 = uses_tf32(precision);
    options.load.cuda_graphs = settings.inference.cuda_graphs;
    options.batch = settings.inference.batch_policy();
    options.threads = settings.threads;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), ("model %s", settings.model.c_str()));
    return nullptr;
  }
  try {
    return acquire(settings.inference.instance_id, options);
  } catch (const std::exception& e) {
    post_model_load_error(GST_ELEMENT(self), texts->model_kind, settings.model, e, texts->model_expected,
                          options.load.device.str());
    return nullptr;
  }
}

}  // namespace dinoclip::gst
