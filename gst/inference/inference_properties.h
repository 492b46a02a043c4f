// The properties every inference element shares (dinofeatures, clipzeroshot):
// model-instance-id, batch-size, batch-timeout, async-inference,
// inference-interval (and its alias interval), skip-late, scale-method, cuda-graphs. One
// definition, so they read the same in gst-inspect-1.0 for every element.
#pragma once

#include <gst/gst.h>

#include <string>

#include "common/enums.h"
#include "runtime/inference_cadence.h"
#include "runtime/model_worker.h"

namespace dinoclip::gst {

inline constexpr guint kMaxInferenceInterval = 10000;
inline constexpr guint kMaxBatchSize = 64;
inline constexpr guint kMaxBatchTimeoutMs = 10000;

struct InferenceSettings {
  std::string instance_id;  // "" = a private instance
  guint batch_size = 1;
  guint batch_timeout_ms = 0;
  bool async = false;
  guint interval = 1;
  bool skip_late = true;
  GstDinoclipScaleMethod scale_method = GST_DINOCLIP_SCALE_METHOD_AUTO;
  bool cuda_graphs = true;

  runtime::BatchPolicy batch_policy() const;
  // How frames are resized for a model on `device` (auto resolved).
  ScaleMethod scale_method_on(const c10::Device& device) const { return to_scale_method(scale_method, device); }
  runtime::CadenceSettings cadence() const { return {interval, skip_late}; }
};

// Offsets from the element's first id for these properties.
enum InferencePropertyOffset : guint {
  kPropInstanceId,
  kPropBatchSize,
  kPropBatchTimeout,
  kPropAsync,
  kPropInferenceInterval,
  kPropInterval,  // alias of inference-interval
  kPropSkipLate,
  kPropScaleMethod,
  kPropCudaGraphs,
  kInferencePropertyCount,
};

// Installs them with ids first_id + offset.
void install_inference_properties(GObjectClass* klass, guint first_id);

// Set / get when first_id <= prop_id < first_id + kInferencePropertyCount; false otherwise.
// `refusal`: nullptr, or why model-loading settings (instance, batching, scale...) cannot change now
// (kModelIsLoading, kModelIsLoaded): they are then refused with a warning in `category` and on the
// bus, as for the element's other model-loading properties.
bool set_inference_property(InferenceSettings& settings, guint first_id, guint prop_id, const GValue* value,
                            const char* refusal, GParamSpec* pspec, GstElement* element,
                            GstDebugCategory* category);
bool get_inference_property(const InferenceSettings& settings, guint first_id, guint prop_id, GValue* value);

}  // namespace dinoclip::gst
