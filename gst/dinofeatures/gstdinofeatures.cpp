// dinofeatures: properties, caps, the model instance's lifetime and the
// inference driver's hooks. No maths and no model calls here: frames become
// requests in dino_inference.*, the shared instance (lib/runtime) runs them on
// its own worker thread, and gst/inference_driver.* decides cadence, batching
// and asynchronous delivery (the same for every inference element).
#include "dinofeatures/gstdinofeatures.h"

#include <gst/dinoclip/features-meta.h>
#include <gst/video/video.h>

#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "dinofeatures/dinofeatures_inference.h"
#include "common/enums.h"
#include "common/features_query.h"
#include "common/frame_convert.h"
#include "inference/inference_driver.h"
#include "inference/inference_properties.h"
#include "inference/inference_stage.h"
#include "inference/model_load_error.h"
#include "core/device.h"
#include "common/param_flags.h"
#include "common/refused_property.h"
#include "runtime/dino_instance.h"

GST_DEBUG_CATEGORY_STATIC(dino_features_debug);
#define GST_CAT_DEFAULT dino_features_debug

namespace {

using namespace dinoclip;
using dinoclip::gst::DinoFrameSettings;
using dinoclip::gst::InferenceSettings;
using dinoclip::gst::InferenceStage;

constexpr const char* kDefaultInputSize = "224x224";

enum {
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_INPUT_SIZE,
  PROP_ATTENTION,
  PROP_HEADS,
  PROP_THREADS,
  PROP_INFERENCES,
  PROP_SKIPPED_INFERENCES,
  PROP_INFERENCE_FIRST,  // then inference_properties.h's, in its order
};

// Property values, as the user set them.
struct Settings {
  std::string model;
  GstDinoDevice device = GST_DINO_DEVICE_AUTO;
  GstDinoPrecision precision = GST_DINO_PRECISION_FP32;
  InputSize input_size = InputSize::parse(kDefaultInputSize);
  bool attention = true;
  gint heads = 0;  // 0: from the width, as DinoLoadOptions
  gint threads = 0;
  InferenceSettings inference;

  DinoFrameSettings frame() const { return {input_size, attention}; }
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  // The instance, for the features query from other threads (and to know the model is loaded).
  std::mutex instance_lock;
  std::shared_ptr<runtime::DinoInstance> instance;
  runtime::ClientId query_client = 0;
  InferenceStage stage;  // frames through the driver, between start() and stop()
};

}  // namespace

struct _GstDinofeatures {
  GstBaseTransform parent;
  Private* priv;
};

G_DEFINE_TYPE(GstDinofeatures, gst_dinofeatures, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(dinofeatures, "dinofeatures", GST_RANK_NONE, GST_TYPE_DINOFEATURES)

namespace {

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(DINOCLIP_FRAME_FORMATS)));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(DINOCLIP_FRAME_FORMATS)));

Settings settings_snapshot(GstDinofeatures* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

std::shared_ptr<runtime::DinoInstance> loaded_instance(GstDinofeatures* self, runtime::ClientId* client = nullptr) {
  std::lock_guard<std::mutex> lock(self->priv->instance_lock);
  if (client) *client = self->priv->query_client;
  return self->priv->instance;
}

// Model-loading properties apply in READY->PAUSED; later changes would be
// silently ignored, so they are refused with a warning instead.
bool model_is_loaded(GstDinofeatures* self, const char* property) {
  if (!loaded_instance(self)) return false;
  dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, property, dinoclip::gst::kModelIsLoaded);
  return true;
}

void set_input_size(GstDinofeatures* self, Settings& settings, const char* text) {
  try {
    settings.input_size = InputSize::parse(text ? text : kDefaultInputSize);
  } catch (const std::exception& e) {
    const std::string reason = "keeping '" + settings.input_size.to_string() + "': " + e.what();
    dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, "input-size", reason.c_str());
  }
}

void gst_dinofeatures_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOFEATURES(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  Settings& settings = self->priv->settings;
  if (dinoclip::gst::set_inference_property(settings.inference, PROP_INFERENCE_FIRST, prop_id, value,
                                            bool(loaded_instance(self)), pspec, GST_ELEMENT(self),
                                            GST_CAT_DEFAULT)) {
    return;
  }
  switch (prop_id) {
    case PROP_MODEL:
      if (!model_is_loaded(self, "model")) settings.model = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_DEVICE:
      if (!model_is_loaded(self, "device")) settings.device = GstDinoDevice(g_value_get_enum(value));
      break;
    case PROP_PRECISION:
      if (!model_is_loaded(self, "precision")) settings.precision = GstDinoPrecision(g_value_get_enum(value));
      break;
    case PROP_HEADS:
      if (!model_is_loaded(self, "heads")) settings.heads = g_value_get_int(value);
      break;
    case PROP_THREADS:
      if (!model_is_loaded(self, "threads")) settings.threads = g_value_get_int(value);
      break;
    case PROP_INPUT_SIZE:
      set_input_size(self, settings, g_value_get_string(value));
      break;
    case PROP_ATTENTION:
      settings.attention = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

void gst_dinofeatures_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOFEATURES(object);
  if (prop_id == PROP_INFERENCES || prop_id == PROP_SKIPPED_INFERENCES) {
    const InferenceStage& stage = self->priv->stage;
    g_value_set_uint64(value, prop_id == PROP_INFERENCES ? stage.inferences() : stage.skipped());
    return;
  }
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& settings = self->priv->settings;
  if (dinoclip::gst::get_inference_property(settings.inference, PROP_INFERENCE_FIRST, prop_id, value)) return;
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, settings.model.empty() ? nullptr : settings.model.c_str());
      break;
    case PROP_DEVICE:
      g_value_set_enum(value, settings.device);
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, settings.precision);
      break;
    case PROP_INPUT_SIZE:
      g_value_set_string(value, settings.input_size.to_string().c_str());
      break;
    case PROP_ATTENTION:
      g_value_set_boolean(value, settings.attention);
      break;
    case PROP_HEADS:
      g_value_set_int(value, settings.heads);
      break;
    case PROP_THREADS:
      g_value_set_int(value, settings.threads);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

/* ---- start / stop: the instance's lifetime ---- */

// Throws dinoclip::Error on an impossible choice (cuda without CUDA, fp16 on the CPU).
runtime::DinoInstanceOptions instance_options(const Settings& settings) {
  runtime::DinoInstanceOptions options;
  options.model_path = settings.model;
  options.load.num_heads = settings.heads;
  options.load.device = resolve_device(dinoclip::gst::to_device_choice(settings.device));
  const Precision precision = dinoclip::gst::to_precision(settings.precision);
  options.load.dtype = resolve_precision(precision, options.load.device);
  options.load.tf32 = uses_tf32(precision);
  options.load.cuda_graphs = settings.inference.cuda_graphs;
  options.batch = settings.inference.batch_policy();
  options.threads = settings.threads;
  return options;
}

std::shared_ptr<runtime::DinoInstance> acquire_instance(GstDinofeatures* self, const Settings& settings) {
  runtime::DinoInstanceOptions options;
  try {
    options = instance_options(settings);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), ("model %s", settings.model.c_str()));
    return nullptr;
  }
  try {
    return runtime::acquire_dino_instance(settings.inference.instance_id, options);
  } catch (const std::exception& e) {
    dinoclip::gst::post_model_load_error(GST_ELEMENT(self), "DINO", settings.model, e, "", options.load.device.str());
    return nullptr;
  }
}

gboolean gst_dinofeatures_start(GstBaseTransform* trans) {
  auto* self = GST_DINOFEATURES(trans);
  const Settings settings = settings_snapshot(self);
  if (settings.model.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("No DINO model: set the 'model' property to a checkpoint (.pth or .safetensors)"), (nullptr));
    return FALSE;
  }
  std::shared_ptr<runtime::DinoInstance> instance = acquire_instance(self, settings);
  if (!instance) return FALSE;
  GST_INFO_OBJECT(self, "using %s from %s (instance \"%s\", batch-size %u, batch-timeout %u ms, %s)",
                  instance->description().c_str(), settings.model.c_str(), settings.inference.instance_id.c_str(),
                  settings.inference.batch_size, settings.inference.batch_timeout_ms,
                  settings.inference.async ? "async" : "sync");
  self->priv->stage.start(trans, std::make_unique<dinoclip::gst::DinoInference>(instance, settings.inference),
                          [self] { return settings_snapshot(self); });
  std::lock_guard<std::mutex> lock(self->priv->instance_lock);
  self->priv->instance = instance;
  self->priv->query_client = instance->new_client();
  return TRUE;
}

gboolean gst_dinofeatures_stop(GstBaseTransform* trans) {
  auto* self = GST_DINOFEATURES(trans);
  self->priv->stage.stop();
  std::lock_guard<std::mutex> lock(self->priv->instance_lock);
  self->priv->instance.reset();
  return TRUE;
}

gboolean gst_dinofeatures_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps*) {
  return GST_DINOFEATURES(trans)->priv->stage.set_caps(incaps);
}

/* ---- events and queries ---- */

gboolean gst_dinofeatures_src_event(GstBaseTransform* trans, GstEvent* event) {
  GST_DINOFEATURES(trans)->priv->stage.on_src_event(event);
  return GST_BASE_TRANSFORM_CLASS(gst_dinofeatures_parent_class)->src_event(trans, event);
}

gboolean gst_dinofeatures_sink_event(GstBaseTransform* trans, GstEvent* event) {
  GST_DINOFEATURES(trans)->priv->stage.on_sink_event(event);
  return GST_BASE_TRANSFORM_CLASS(gst_dinofeatures_parent_class)->sink_event(trans, event);
}

// Features of a picture for dinoseg's annotation-image, on the instance's
// worker, so a picture and the stream share one feature space and one model.
bool answer_features_for_image(GstDinofeatures* self, GstQuery* query) {
  std::string path;
  if (!dinoclip::gst::parse_features_for_image_query(query, &path)) return false;
  runtime::ClientId client = 0;
  std::shared_ptr<runtime::DinoInstance> instance = loaded_instance(self, &client);
  if (!instance) {
    dinoclip::gst::set_features_for_image_error(query, "dinofeatures has no model loaded yet");
    return true;
  }
  try {
    const Settings settings = settings_snapshot(self);
    GstDinoFeatures* features =
        dinoclip::gst::features_of_picture(*instance, client, path, settings.frame(), settings.inference);
    dinoclip::gst::set_features_for_image_result(query, features);
    gst_dino_features_unref(features);
    GST_INFO_OBJECT(self, "computed features of %s for a downstream element", path.c_str());
  } catch (const std::exception& e) {
    dinoclip::gst::set_features_for_image_error(query, e.what());
  }
  return true;
}

gboolean gst_dinofeatures_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  auto* self = GST_DINOFEATURES(trans);
  if (direction == GST_PAD_SRC && answer_features_for_image(self, query)) return TRUE;
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    return dinoclip::gst::add_inference_latency(trans, query, settings_snapshot(self).inference);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_dinofeatures_parent_class)->query(trans, direction, query);
}

/* ---- frames: in through the driver, out in order ---- */

GstFlowReturn gst_dinofeatures_submit_input_buffer(GstBaseTransform* trans, gboolean, GstBuffer* buffer) {
  return GST_DINOFEATURES(trans)->priv->stage.submit_input_buffer(buffer);
}

GstFlowReturn gst_dinofeatures_generate_output(GstBaseTransform* trans, GstBuffer** out) {
  return GST_DINOFEATURES(trans)->priv->stage.generate_output(out);
}

/* ---- GObject ---- */

void gst_dinofeatures_finalize(GObject* object) {
  delete GST_DINOFEATURES(object)->priv;
  G_OBJECT_CLASS(gst_dinofeatures_parent_class)->finalize(object);
}

using dinoclip::gst::kParamAnyTime;
using dinoclip::gst::kParamLoadTime;
using dinoclip::gst::kParamReadOnly;

void install_properties(GObjectClass* gobject_class) {
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string(
          "model", "Model",
          "Path to the DINO checkpoint: .pth (official facebookresearch/dino ViT-S/B 8/16) or .safetensors. "
          "Read in READY->PAUSED; a missing or unreadable file is an error then. No default: required",
          nullptr, kParamLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_enum("device", "Device",
                        "Where the model runs: auto = cuda when this build and machine have it, else cpu. "
                        "Applied in READY->PAUSED",
                        GST_TYPE_DINO_DEVICE, GST_DINO_DEVICE_AUTO, kParamLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum(
          "precision", "Precision",
          "Compute precision: fp32 anywhere, tf32 (fp32 with TF32 tensor-core products) and fp16 on CUDA only, bf16 on CUDA or CPU; an unsupported choice is an "
          "error in READY->PAUSED. The attached results are float32 whatever this is",
          GST_TYPE_DINO_PRECISION, GST_DINO_PRECISION_FP32, kParamLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_SIZE,
      g_param_spec_string(
          "input-size", "Input size",
          "Model input size in pixels: \"WxH\" (each a multiple of the model's patch size, 8 or 16), \"short:N\" "
          "(shorter side N, aspect kept, both sides rounded to the patch size) or \"native\" (the frame cropped to "
          "whole patches). The patch grid is this size divided by the patch. Frames are resized with Pillow-exact "
          "bilinear. May change while PLAYING (from the next inference)",
          kDefaultInputSize, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_ATTENTION,
      g_param_spec_boolean(
          "attention", "Attention",
          "Also attach the last layer's CLS attention per head (what attnoverlay mode=attention/heads draws). "
          "May change while PLAYING",
          TRUE, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_HEADS,
      g_param_spec_int(
          "heads", "Heads",
          "Attention heads of the checkpoint, 1-64; 0 = from the width as in the official models (384 -> 6, "
          "768 -> 12). Set it only for non-standard checkpoints. Applied in READY->PAUSED",
          0, 64, 0, kParamLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "CPU threads for LibTorch's intra-op pool, 1-1024; 0 leaves the process setting as it is. "
                       "Process-wide (LibTorch has one pool). Applied in READY->PAUSED",
                       0, 1024, 0, kParamLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_INFERENCES,
      g_param_spec_uint64("inferences", "Inferences", "Model runs since READY->PAUSED (read-only)", 0, G_MAXUINT64, 0,
                          kParamReadOnly));
  g_object_class_install_property(
      gobject_class, PROP_SKIPPED_INFERENCES,
      g_param_spec_uint64("skipped-inferences", "Skipped inferences",
                          "Inferences skipped on late frames (see skip-late) since READY->PAUSED (read-only)", 0,
                          G_MAXUINT64, 0, kParamReadOnly));
  dinoclip::gst::install_inference_properties(gobject_class, PROP_INFERENCE_FIRST);
}

}  // namespace

static void gst_dinofeatures_class_init(GstDinofeaturesClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(dino_features_debug, "dinofeatures", 0, "DINO features element");

  gobject_class->set_property = gst_dinofeatures_set_property;
  gobject_class->get_property = gst_dinofeatures_get_property;
  gobject_class->finalize = gst_dinofeatures_finalize;
  install_properties(gobject_class);

  gst_element_class_set_static_metadata(
      element_class, "DINO features", "Filter/Analyzer/Video",
      "Runs a DINO vision transformer on video frames and attaches its patch tokens, CLS token and CLS attention "
      "(GstDinoFeaturesMeta); the video passes through unchanged",
      "dinoclip contributors");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_type_mark_as_plugin_api(GST_TYPE_DINO_DEVICE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINO_PRECISION, GstPluginAPIFlags(0));

  trans_class->passthrough_on_same_caps = FALSE;  // the buffer must be writable to take the meta
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->start = gst_dinofeatures_start;
  trans_class->stop = gst_dinofeatures_stop;
  trans_class->set_caps = gst_dinofeatures_set_caps;
  trans_class->src_event = gst_dinofeatures_src_event;
  trans_class->sink_event = gst_dinofeatures_sink_event;
  trans_class->submit_input_buffer = gst_dinofeatures_submit_input_buffer;
  trans_class->generate_output = gst_dinofeatures_generate_output;
  trans_class->query = gst_dinofeatures_query;
}

static void gst_dinofeatures_init(GstDinofeatures* self) {
  self->priv = new Private;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);  // we skip inference, not frames
}
