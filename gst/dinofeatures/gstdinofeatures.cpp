// dinofeatures: DINO's own properties (input-size, attention, heads), its
// model and the features query dinoseg asks. Everything an inference element
// shares (model/device/precision/threads, batching, cadence, start/stop, caps,
// events, LATENCY, the frames' path) is the base, GstDinoclipInference
// (gst/inference/). No maths and no model calls here: frames become requests
// in dinofeatures_inference.*, the shared instance (lib/runtime) runs them on
// its own worker thread.
#include "dinofeatures/gstdinofeatures.h"

#include <gst/dinoclip/features-meta.h>

#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "common/features_query.h"
#include "common/param_flags.h"
#include "common/refused_property.h"
#include "dinofeatures/dinofeatures_inference.h"
#include "inference/model_settings.h"
#include "runtime/dino_instance.h"

GST_DEBUG_CATEGORY_STATIC(dino_features_debug);
#define GST_CAT_DEFAULT dino_features_debug

namespace {

using namespace dinoclip;
using dinoclip::gst::DinoFrameSettings;
using dinoclip::gst::InferenceClient;
using dinoclip::gst::ModelSettings;

constexpr const char* kDefaultInputSize = "224x224";

enum {
  PROP_0,
  PROP_INPUT_SIZE,
  PROP_ATTENTION,
  PROP_HEADS,
  PROP_POS_INTERPOLATION,
};

// dinofeatures' own property values, as the user set them.
struct Settings {
  InputSize input_size = InputSize::parse(kDefaultInputSize);
  bool attention = true;
  gint heads = 0;  // 0: from the checkpoint or the width, as DinoLoadOptions
  GstDinoclipPosInterpolation pos_interpolation = GST_DINOCLIP_POS_INTERPOLATION_AUTO;

  DinoFrameSettings frame() const { return {input_size, attention}; }
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  // The instance, for the features query from other threads.
  std::mutex instance_lock;
  std::shared_ptr<runtime::DinoInstance> instance;
  runtime::ClientId query_client = 0;
};

}  // namespace

struct _GstDinofeatures {
  GstDinoclipInference parent;
  Private* priv;
};

G_DEFINE_TYPE(GstDinofeatures, gst_dinofeatures, GST_TYPE_DINOCLIP_INFERENCE)
GST_ELEMENT_REGISTER_DEFINE(dinofeatures, "dinofeatures", GST_RANK_NONE, GST_TYPE_DINOFEATURES)

namespace {

Settings settings_snapshot(GstDinofeatures* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

std::shared_ptr<runtime::DinoInstance> loaded_instance(GstDinofeatures* self, runtime::ClientId* client) {
  std::lock_guard<std::mutex> lock(self->priv->instance_lock);
  *client = self->priv->query_client;
  return self->priv->instance;
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
  switch (prop_id) {
    case PROP_HEADS:
      if (!gst_dinoclip_inference_refuse_while_loaded(GST_DINOCLIP_INFERENCE(self), "heads")) {
        settings.heads = g_value_get_int(value);
      }
      break;
    case PROP_POS_INTERPOLATION:
      if (!gst_dinoclip_inference_refuse_while_loaded(GST_DINOCLIP_INFERENCE(self), "pos-interpolation")) {
        settings.pos_interpolation = GstDinoclipPosInterpolation(g_value_get_enum(value));
      }
      break;
    case PROP_INPUT_SIZE:
      set_input_size(self, settings, g_value_get_string(value));
      break;
    case PROP_ATTENTION:
      settings.attention = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_CLASS(gst_dinofeatures_parent_class)->set_property(object, prop_id, value, pspec);
      break;
  }
}

void gst_dinofeatures_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOFEATURES(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& settings = self->priv->settings;
  switch (prop_id) {
    case PROP_INPUT_SIZE:
      g_value_set_string(value, settings.input_size.to_string().c_str());
      break;
    case PROP_ATTENTION:
      g_value_set_boolean(value, settings.attention);
      break;
    case PROP_HEADS:
      g_value_set_int(value, settings.heads);
      break;
    case PROP_POS_INTERPOLATION:
      g_value_set_enum(value, settings.pos_interpolation);
      break;
    default:
      G_OBJECT_CLASS(gst_dinofeatures_parent_class)->get_property(object, prop_id, value, pspec);
      break;
  }
}

/* ---- the model: open / close, per-frame settings ---- */

std::unique_ptr<InferenceClient> gst_dinofeatures_open(GstDinoclipInference* base, const ModelSettings& model) {
  auto* self = GST_DINOFEATURES(base);
  runtime::DinoInstanceOptions options;
  const Settings settings = settings_snapshot(self);
  options.load.num_heads = settings.heads;
  options.load.pos_interpolation = dinoclip::gst::to_pos_interpolation(settings.pos_interpolation);
  std::shared_ptr<runtime::DinoInstance> instance =
      dinoclip::gst::acquire_model_instance(base, model, options, &runtime::acquire_dino_instance);
  if (!instance) return nullptr;
  GST_INFO_OBJECT(self, "using %s from %s (instance \"%s\", batch-size %u, batch-timeout %u ms, %s)",
                  instance->description().c_str(), model.model.c_str(), model.inference.instance_id.c_str(),
                  model.inference.batch_size, model.inference.batch_timeout_ms,
                  model.inference.async ? "async" : "sync");
  auto client = std::make_unique<dinoclip::gst::DinoInference>(instance, model.inference);
  std::lock_guard<std::mutex> lock(self->priv->instance_lock);
  self->priv->instance = instance;
  self->priv->query_client = instance->new_client();
  return client;
}

void gst_dinofeatures_close(GstDinoclipInference* base) {
  auto* self = GST_DINOFEATURES(base);
  std::lock_guard<std::mutex> lock(self->priv->instance_lock);
  self->priv->instance.reset();
}

void gst_dinofeatures_apply_frame_settings(GstDinoclipInference* base, InferenceClient* client) {
  static_cast<dinoclip::gst::DinoInference*>(client)->set_frame_settings(
      settings_snapshot(GST_DINOFEATURES(base)).frame());
}

/* ---- the features query ---- */

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
    const ModelSettings model = gst_dinoclip_inference_settings(GST_DINOCLIP_INFERENCE(self));
    GstDinoclipFeatures* features =
        dinoclip::gst::features_of_picture(*instance, client, path, settings.frame(), model.inference);
    dinoclip::gst::set_features_for_image_result(query, features);
    gst_dinoclip_features_unref(features);
    GST_INFO_OBJECT(self, "computed features of %s for a downstream element", path.c_str());
  } catch (const std::exception& e) {
    dinoclip::gst::set_features_for_image_error(query, e.what());
  }
  return true;
}

gboolean gst_dinofeatures_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  if (direction == GST_PAD_SRC && answer_features_for_image(GST_DINOFEATURES(trans), query)) return TRUE;
  return GST_BASE_TRANSFORM_CLASS(gst_dinofeatures_parent_class)->query(trans, direction, query);
}

/* ---- GObject ---- */

void gst_dinofeatures_finalize(GObject* object) {
  delete GST_DINOFEATURES(object)->priv;
  G_OBJECT_CLASS(gst_dinofeatures_parent_class)->finalize(object);
}

using dinoclip::gst::kParamAnyTime;
using dinoclip::gst::kParamLoadTime;

const dinoclip::gst::InferenceElementTexts kTexts = {
    "DINO",
    "Path to the DINO checkpoint: .pth (official DINO ViT-S/B 8/16, DINOv2 ViT-S/B/L 14 with or without "
    "registers, DINOv3 ViT-S/B/L 16: the family is recognised from its keys) or .safetensors. "
    "Read in READY->PAUSED; a missing or unreadable file is an error then. No default: required",
    "a checkpoint (.pth or .safetensors)",
    "",
    "Compute precision: fp32 anywhere, tf32 (fp32 with TF32 tensor-core products) and fp16 on CUDA only, bf16 on CUDA or CPU; an unsupported choice is an "
    "error in READY->PAUSED. The attached results are float32 whatever this is",
    "Model runs since READY->PAUSED (read-only)",
};

void install_properties(GObjectClass* gobject_class) {
  g_object_class_install_property(
      gobject_class, PROP_INPUT_SIZE,
      g_param_spec_string(
          "input-size", "Input size",
          "Model input size in pixels: \"WxH\" (each a multiple of the model's patch size: 8 or 16, DINOv2 14, "
          "DINOv3 16), \"short:N\" "
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
          "Attention heads of the checkpoint, 1-64; 0 = from the checkpoint (DINOv3: its RoPE periods), else from "
          "the width as in the official models (384 -> 6, 768 -> 12, 1024 -> 16). Set it only for non-standard "
          "checkpoints. Applied in READY->PAUSED",
          0, 64, 0, kParamLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_POS_INTERPOLATION,
      g_param_spec_enum(
          "pos-interpolation", "Position-embedding interpolation",
          "DINOv2 only (other families refuse anything but auto): how the learned position embedding is resized "
          "to the input's patch grid. auto follows the official hub functions (registers models: antialias, the "
          "others: offset). Applied in READY->PAUSED",
          GST_TYPE_DINOCLIP_POS_INTERPOLATION, GST_DINOCLIP_POS_INTERPOLATION_AUTO, kParamLoadTime));
}

}  // namespace

static void gst_dinofeatures_class_init(GstDinofeaturesClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* base_class = GST_DINOCLIP_INFERENCE_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(dino_features_debug, "dinofeatures", 0, "DINO features element");

  gobject_class->set_property = gst_dinofeatures_set_property;
  gobject_class->get_property = gst_dinofeatures_get_property;
  gobject_class->finalize = gst_dinofeatures_finalize;
  install_properties(gobject_class);
  gst_dinoclip_inference_class_install_properties(
      base_class, &kTexts, dinoclip::gst::kInferenceThreads | dinoclip::gst::kInferenceSkippedInferences,
      dino_features_debug);

  gst_element_class_set_static_metadata(
      element_class, "DINO features", "Filter/Analyzer/Video",
      "Runs a DINO vision transformer on video frames and attaches its patch tokens, CLS token and CLS attention "
      "(GstDinoclipFeaturesMeta); the video passes through unchanged",
      "dinoclip contributors");

  base_class->open = gst_dinofeatures_open;
  base_class->close = gst_dinofeatures_close;
  base_class->apply_frame_settings = gst_dinofeatures_apply_frame_settings;
  GST_BASE_TRANSFORM_CLASS(klass)->query = gst_dinofeatures_query;
}

static void gst_dinofeatures_init(GstDinofeatures* self) { self->priv = new Private; }
