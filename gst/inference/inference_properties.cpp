#include "inference/inference_properties.h"

#include <gst/gst.h>

#include "common/param_flags.h"
#include "common/refused_property.h"

namespace dinoclip::gst {

runtime::BatchPolicy InferenceSettings::batch_policy() const {
  return runtime::BatchPolicy{int(batch_size), std::chrono::milliseconds(batch_timeout_ms)};
}

void install_inference_properties(GObjectClass* klass, guint first_id) {
  g_object_class_install_property(
      klass, first_id + kPropInstanceId,
      g_param_spec_string(
          "model-instance-id", "Model instance id",
          "Elements of one process with the same id share one loaded model and its worker thread (their frames "
          "are batched together). They must agree on model, device, precision, batch-size and batch-timeout; a "
          "mismatch is an error in READY->PAUSED naming the setting. Empty (default): this element's own copy",
          nullptr, kParamLoadTime));
  g_object_class_install_property(
      klass, first_id + kPropBatchSize,
      g_param_spec_uint(
          "batch-size", "Batch size",
          "Frames run through the model together, from all elements sharing the instance and consecutive frames "
          "of this stream, 1-64. Above 1 a synchronous stream holds up to this many frames in flight (latency, "
          "reported in the LATENCY query). Results equal batch 1 within 1e-5. Applied in READY->PAUSED",
          1, kMaxBatchSize, 1, kParamLoadTime));
  g_object_class_install_property(
      klass, first_id + kPropBatchTimeout,
      g_param_spec_uint(
          "batch-timeout", "Batch timeout",
          "Milliseconds the oldest waiting frame may wait for a batch to fill before it runs with what there is, "
          "0-10000; 0 runs at once whatever has arrived. Applied in READY->PAUSED",
          0, kMaxBatchTimeoutMs, 0, kParamLoadTime));
  g_object_class_install_property(
      klass, first_id + kPropAsync,
      g_param_spec_boolean(
          "async-inference", "Asynchronous inference",
          "Never block the stream: each frame leaves at once carrying the most recent finished result (its "
          "meta's source-pts says which frame it was computed on; frames before the first result carry none), "
          "and the model runs on the newest waiting frame at its own rate. For live sources. FALSE (default): "
          "every inferred frame waits for its own result (exact, for files). Applied in READY->PAUSED",
          FALSE, kParamLoadTime));
  g_object_class_install_property(
      klass, first_id + kPropInferenceInterval,
      g_param_spec_uint(
          "inference-interval", "Inference interval",
          "Run the model on every Nth frame (1 = every frame); the frames in between carry the last result, "
          "marked carried in the meta (shared, not copied). May change while PLAYING",
          1, kMaxInferenceInterval, 1, kParamAnyTime));
  g_object_class_install_property(
      klass, first_id + kPropInterval,
      g_param_spec_uint("interval", "Interval",
                        "Alias of inference-interval (DL Streamer's name), kept for existing pipelines: setting "
                        "either sets both. May change while PLAYING",
                        1, kMaxInferenceInterval, 1, kParamAnyTime));
  g_object_class_install_property(
      klass, first_id + kPropSkipLate,
      g_param_spec_boolean(
          "skip-late", "Skip late",
          "When downstream reports late frames (QoS events, e.g. a live source into a synchronised sink), run no "
          "inference on them and carry the last result instead; frames are never dropped. Counted in "
          "skipped-inferences. May change while PLAYING",
          TRUE, kParamAnyTime));
  g_object_class_install_property(
      klass, first_id + kPropScaleMethod,
      g_param_spec_enum(
          "scale-method", "Scale method",
          "How a frame becomes the model's input. exact: the PIL-exact resize on the CPU, bit-identical to the "
          "Python references; fast: the frame is uploaded once as 8-bit RGB and resized (antialiased) and "
          "normalised on the model's device, saving the CPU resize and the float upload on a GPU (inputs within "
          "about one 8-bit level of exact). auto: exact on the CPU, fast on a GPU. Applied in READY->PAUSED",
          GST_TYPE_DINOCLIP_SCALE_METHOD, GST_DINOCLIP_SCALE_METHOD_AUTO, kParamLoadTime));
  g_object_class_install_property(
      klass, first_id + kPropCudaGraphs,
      g_param_spec_boolean(
          "cuda-graphs", "CUDA graphs",
          "On a GPU, record the model's kernels once per input shape and batch size as a CUDA graph and replay "
          "it per batch (far less launch overhead at small batches; results equal to running without). A shape "
          "whose capture fails runs without, with a warning. Ignored on the CPU. Part of the instance's "
          "settings (model-instance-id). Applied in READY->PAUSED",
          TRUE, kParamLoadTime));
}

bool set_inference_property(InferenceSettings& settings, guint first_id, guint prop_id, const GValue* value,
                            const char* refusal, GParamSpec* pspec, GstElement* element,
                            GstDebugCategory* category) {
  if (prop_id < first_id || prop_id >= first_id + kInferencePropertyCount) return false;
  const guint offset = prop_id - first_id;
  const bool load_time = offset == kPropInstanceId || offset == kPropBatchSize || offset == kPropBatchTimeout ||
                         offset == kPropAsync || offset == kPropScaleMethod ||
                         offset == kPropCudaGraphs;
  if (load_time && refusal) {
    warn_refused_property(element, category, g_param_spec_get_name(pspec), refusal);
    return true;
  }
  switch (offset) {
    case kPropInstanceId:
      settings.instance_id = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case kPropBatchSize:
      settings.batch_size = g_value_get_uint(value);
      break;
    case kPropBatchTimeout:
      settings.batch_timeout_ms = g_value_get_uint(value);
      break;
    case kPropAsync:
      settings.async = g_value_get_boolean(value);
      break;
    case kPropInferenceInterval:
    case kPropInterval:
      settings.interval = g_value_get_uint(value);
      break;
    case kPropSkipLate:
      settings.skip_late = g_value_get_boolean(value);
      break;
    case kPropScaleMethod:
      settings.scale_method = GstDinoclipScaleMethod(g_value_get_enum(value));
      break;
    case kPropCudaGraphs:
      settings.cuda_graphs = g_value_get_boolean(value);
      break;
  }
  return true;
}

bool get_inference_property(const InferenceSettings& settings, guint first_id, guint prop_id, GValue* value) {
  if (prop_id < first_id || prop_id >= first_id + kInferencePropertyCount) return false;
  switch (prop_id - first_id) {
    case kPropInstanceId:
      g_value_set_string(value, settings.instance_id.empty() ? nullptr : settings.instance_id.c_str());
      break;
    case kPropBatchSize:
      g_value_set_uint(value, settings.batch_size);
      break;
    case kPropBatchTimeout:
      g_value_set_uint(value, settings.batch_timeout_ms);
      break;
    case kPropAsync:
      g_value_set_boolean(value, settings.async);
      break;
    case kPropInferenceInterval:
    case kPropInterval:
      g_value_set_uint(value, settings.interval);
      break;
    case kPropSkipLate:
      g_value_set_boolean(value, settings.skip_late);
      break;
    case kPropScaleMethod:
      g_value_set_enum(value, settings.scale_method);
      break;
    case kPropCudaGraphs:
      g_value_set_boolean(value, settings.cuda_graphs);
      break;
  }
  return true;
}

}  // namespace dinoclip::gst
