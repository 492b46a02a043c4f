// clipzeroshot: properties, model and text lifetimes, and the inference
// driver's hooks. No maths and no model calls here: the shared CLIP instance
// (lib/runtime) runs image and text encodings on its worker thread; frames
// become requests and scores become metas/messages in clip_inference.*; the
// texts (labels x templates, query) are re-encoded off the streaming thread
// by lib/tasks ZeroShotTextsWorker; gst/inference_driver.* decides cadence,
// batching and asynchronous delivery (the same for every inference element).
#include "clipzeroshot/gstclipzeroshot.h"

#include <gst/dinoclip/classification-meta.h>
#include <gst/video/video.h>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "clipzeroshot/clipzeroshot_inference.h"
#include "clipzeroshot/clipzeroshot_properties.h"
#include "core/error.h"
#include "common/enums.h"
#include "common/frame_convert.h"
#include "inference/inference_properties.h"
#include "inference/inference_stage.h"
#include "inference/model_load_error.h"
#include "core/device.h"
#include "common/refused_property.h"
#include "runtime/clip_instance.h"
#include "tasks/label_spec.h"
#include "tasks/zeroshot_texts_worker.h"
#include "text/bpe_tokenizer.h"
#include "text/vocab_path.h"

GST_DEBUG_CATEGORY_STATIC(clip_zero_shot_debug);
#define GST_CAT_DEFAULT clip_zero_shot_debug

namespace {

using namespace dinoclip;
using namespace dinoclip::gst::clipzeroshot_props;
using dinoclip::gst::InferenceSettings;
using dinoclip::gst::InferenceStage;

// Property values, as the user set them.
struct Settings {
  std::string model;
  std::string vocab;  // "": find_vocab_file()'s search
  GstDinoDevice device = GST_DINO_DEVICE_AUTO;
  GstDinoPrecision precision = GST_DINO_PRECISION_FP32;
  std::string labels;
  std::string labels_file;
  std::string templates = kDefaultTemplate;
  GstClipZeroShotCrop crop = GST_CLIP_ZERO_SHOT_CROP_CENTER;
  guint top_k = 5;
  gdouble unknown_threshold = 0.0;
  std::string query;
  gdouble query_threshold = kDefaultQueryThreshold;
  gdouble hysteresis = kDefaultHysteresis;
  InferenceSettings inference;

  dinoclip::gst::ClipFrameSettings frame() const {
    return {crop == GST_CLIP_ZERO_SHOT_CROP_FULL ? ClipCrop::kFullFrame : ClipCrop::kCenter, top_k, unknown_threshold,
            query_threshold, hysteresis};
  }
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  std::shared_ptr<ZeroShotTextsWorker> texts;  // under settings_lock, for property changes while running
  InferenceStage stage;                        // frames through the driver, between start() and stop()
  std::atomic<guint64> text_encodings{0};
};

}  // namespace

struct _GstClipzeroshot {
  GstBaseTransform parent;
  Private* priv;
};

G_DEFINE_TYPE(GstClipzeroshot, gst_clipzeroshot, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(clipzeroshot, "clipzeroshot", GST_RANK_NONE, GST_TYPE_CLIPZEROSHOT)

namespace {

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(DINOCLIP_FRAME_FORMATS)));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(DINOCLIP_FRAME_FORMATS)));

Settings settings_snapshot(GstClipzeroshot* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// The texts the settings ask for; throws dinoclip::Error naming the property.
ZeroShotTextSpec text_spec(const Settings& settings) {
  if (!settings.labels.empty() && !settings.labels_file.empty()) {
    throw Error("both 'labels' and 'labels-file' are set: use one of them (clear the other with an empty string)");
  }
  ZeroShotTextSpec spec;
  if (!settings.labels_file.empty()) spec.labels = read_labels_file(settings.labels_file);
  if (!settings.labels.empty()) spec.labels = parse_labels(settings.labels);
  spec.templates = parse_templates(settings.templates);
  spec.query = trimmed(settings.query);
  if (spec.labels.empty() && spec.query.empty()) {
    throw Error(
        "no labels: set labels=\"a person;a cat;an empty room\" (separated by ';'), labels-file=FILE "
        "(one per line) or query=\"a person on a bicycle\"");
  }
  return spec;
}

// A text property changed while the element runs: re-encode off this thread.
// A bad value is a warning (the stream goes on with the current labels).
void request_texts(GstClipzeroshot* self) {
  std::shared_ptr<ZeroShotTextsWorker> worker;
  Settings settings;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    worker = self->priv->texts;
    settings = self->priv->settings;
  }
  if (!worker) return;  // not running: start() reads the settings
  try {
    worker->request(text_spec(settings));
  } catch (const std::exception& e) {
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("New labels not applied, the previous ones stay: %s", e.what()),
                        (nullptr));
  }
}

// Model-loading properties apply in READY->PAUSED; later changes would be
// silently ignored, so they are refused with a warning instead.
bool model_is_loaded(GstClipzeroshot* self, const char* property) {
  if (!self->priv->texts) return false;
  dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, property, dinoclip::gst::kModelIsLoaded);
  return true;
}

std::string string_of(const GValue* value) { return g_value_get_string(value) ? g_value_get_string(value) : ""; }

void gst_clipzeroshot_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_CLIPZEROSHOT(object);
  bool texts_changed = false;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    Settings& s = self->priv->settings;
    if (dinoclip::gst::set_inference_property(s.inference, PROP_INFERENCE_FIRST, prop_id, value,
                                              bool(self->priv->texts), pspec, GST_ELEMENT(self),
                                              GST_CAT_DEFAULT)) {
      return;
    }
    switch (prop_id) {
      case PROP_MODEL:
        if (!model_is_loaded(self, "model")) s.model = string_of(value);
        break;
      case PROP_VOCAB:
        if (!model_is_loaded(self, "vocab")) s.vocab = string_of(value);
        break;
      case PROP_DEVICE:
        if (!model_is_loaded(self, "device")) s.device = GstDinoDevice(g_value_get_enum(value));
        break;
      case PROP_PRECISION:
        if (!model_is_loaded(self, "precision")) s.precision = GstDinoPrecision(g_value_get_enum(value));
        break;
      case PROP_LABELS:
        s.labels = string_of(value);
        texts_changed = true;
        break;
      case PROP_LABELS_FILE:
        s.labels_file = string_of(value);
        texts_changed = true;
        break;
      case PROP_TEMPLATE:
        s.templates = g_value_get_string(value) ? g_value_get_string(value) : kDefaultTemplate;
        texts_changed = true;
        break;
      case PROP_QUERY:
        s.query = string_of(value);
        texts_changed = true;
        break;
      case PROP_CROP:
        s.crop = GstClipZeroShotCrop(g_value_get_enum(value));
        break;
      case PROP_TOP_K:
        s.top_k = g_value_get_uint(value);
        break;
      case PROP_UNKNOWN_THRESHOLD:
        s.unknown_threshold = g_value_get_double(value);
        break;
      case PROP_QUERY_THRESHOLD:
        s.query_threshold = g_value_get_double(value);
        break;
      case PROP_HYSTERESIS:
        s.hysteresis = g_value_get_double(value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
    }
  }
  if (texts_changed) request_texts(self);  // outside the lock: it may post a warning
}

void gst_clipzeroshot_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_CLIPZEROSHOT(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& s = self->priv->settings;
  if (dinoclip::gst::get_inference_property(s.inference, PROP_INFERENCE_FIRST, prop_id, value)) return;
  auto set_string = [value](const std::string& text) {
    g_value_set_string(value, text.empty() ? nullptr : text.c_str());
  };
  switch (prop_id) {
    case PROP_MODEL:
      set_string(s.model);
      break;
    case PROP_VOCAB:
      set_string(s.vocab);
      break;
    case PROP_DEVICE:
      g_value_set_enum(value, s.device);
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, s.precision);
      break;
    case PROP_LABELS:
      set_string(s.labels);
      break;
    case PROP_LABELS_FILE:
      set_string(s.labels_file);
      break;
    case PROP_TEMPLATE:
      set_string(s.templates);
      break;
    case PROP_QUERY:
      set_string(s.query);
      break;
    case PROP_CROP:
      g_value_set_enum(value, s.crop);
      break;
    case PROP_TOP_K:
      g_value_set_uint(value, s.top_k);
      break;
    case PROP_UNKNOWN_THRESHOLD:
      g_value_set_double(value, s.unknown_threshold);
      break;
    case PROP_QUERY_THRESHOLD:
      g_value_set_double(value, s.query_threshold);
      break;
    case PROP_HYSTERESIS:
      g_value_set_double(value, s.hysteresis);
      break;
    case PROP_INFERENCES:
      g_value_set_uint64(value, self->priv->stage.inferences());
      break;
    case PROP_TEXT_ENCODINGS:
      g_value_set_uint64(value, self->priv->text_encodings.load());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

/* ---- start / stop: the model's and the texts' lifetimes ---- */

// Throws dinoclip::Error on an impossible choice (cuda without CUDA, fp16 on the CPU).
runtime::ClipInstanceOptions instance_options(const Settings& settings) {
  runtime::ClipInstanceOptions options;
  options.model_path = settings.model;
  options.load.device = resolve_device(dinoclip::gst::to_device_choice(settings.device));
  const Precision precision = dinoclip::gst::to_precision(settings.precision);
  options.load.dtype = resolve_precision(precision, options.load.device);
  options.load.tf32 = uses_tf32(precision);
  options.load.cuda_graphs = settings.inference.cuda_graphs;
  options.batch = settings.inference.batch_policy();
  return options;
}

// Each step reports its own error; nullptr after one.
std::shared_ptr<const BpeTokenizer> load_tokenizer(GstClipzeroshot* self, const Settings& settings) {
  std::string path;
  try {
    path = find_vocab_file(settings.vocab);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("CLIP tokenizer vocabulary not found: set 'vocab' to bpe_simple_vocab_16e6.txt.gz"),
                      ("%s", e.what()));
    return nullptr;
  }
  try {
    return std::make_shared<const BpeTokenizer>(path);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not read the CLIP vocabulary \"%s\": %s", path.c_str(), e.what()),
                      (nullptr));
    return nullptr;
  }
}

std::shared_ptr<runtime::ClipInstance> acquire_instance(GstClipzeroshot* self, const Settings& settings) {
  runtime::ClipInstanceOptions options;
  try {
    options = instance_options(settings);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), ("model %s", settings.model.c_str()));
    return nullptr;
  }
  try {
    return runtime::acquire_clip_instance(settings.inference.instance_id, options);
  } catch (const std::exception& e) {
    dinoclip::gst::post_model_load_error(GST_ELEMENT(self), "CLIP", settings.model, e,
                                         "OpenAI CLIP ViT weights, e.g. ViT-B-32.pt", options.load.device.str());
    return nullptr;
  }
}

// Runs on the worker thread after each background re-encoding.
ZeroShotTextsWorker::Listener texts_listener(GstClipzeroshot* self) {
  return [self](const std::shared_ptr<const ZeroShotTexts>& texts, const std::string& error) {
    if (!texts) {
      GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                          ("New labels not applied, the previous ones stay: %s", error.c_str()), (nullptr));
      return;
    }
    ++self->priv->text_encodings;
    GST_INFO_OBJECT(self, "now classifying against %zu label(s), query \"%s\"", texts->labels.size(),
                    texts->query.c_str());
  };
}

gboolean gst_clipzeroshot_start(GstBaseTransform* trans) {
  auto* self = GST_CLIPZEROSHOT(trans);
  const Settings settings = settings_snapshot(self);
  if (settings.model.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("No CLIP model: set the 'model' property to OpenAI CLIP weights (ViT-B-32.pt, a state_dict "
                       ".pth or .safetensors)"),
                      (nullptr));
    return FALSE;
  }
  ZeroShotTextSpec spec;
  try {
    spec = text_spec(settings);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), (nullptr));
    return FALSE;
  }
  std::shared_ptr<const BpeTokenizer> tokenizer = load_tokenizer(self, settings);
  if (!tokenizer) return FALSE;
  std::shared_ptr<runtime::ClipInstance> instance = acquire_instance(self, settings);
  if (!instance) return FALSE;
  std::shared_ptr<ZeroShotTextsWorker> texts;
  try {
    texts = std::make_shared<ZeroShotTextsWorker>(dinoclip::gst::texts_encoder(instance, tokenizer), spec,
                                                  texts_listener(self));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Could not encode the labels: %s", e.what()), (nullptr));
    return FALSE;
  }
  GST_INFO_OBJECT(self, "using %s from %s (instance \"%s\"), %zu label(s)", instance->description().c_str(),
                  settings.model.c_str(), settings.inference.instance_id.c_str(), spec.labels.size());
  self->priv->stage.start(trans,
                          std::make_unique<dinoclip::gst::ClipInference>(trans, instance, texts, settings.inference),
                          [self] { return settings_snapshot(self); });
  self->priv->text_encodings = 1;
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  self->priv->texts = texts;
  return TRUE;
}

gboolean gst_clipzeroshot_stop(GstBaseTransform* trans) {
  auto* self = GST_CLIPZEROSHOT(trans);
  std::shared_ptr<ZeroShotTextsWorker> worker;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    worker = std::move(self->priv->texts);
  }
  self->priv->stage.stop();  // the model client and its texts reference
  worker.reset();            // the last reference: waits for a re-encoding in progress
  return TRUE;
}

gboolean gst_clipzeroshot_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps*) {
  return GST_CLIPZEROSHOT(trans)->priv->stage.set_caps(incaps);
}

/* ---- events and queries ---- */

gboolean gst_clipzeroshot_src_event(GstBaseTransform* trans, GstEvent* event) {
  GST_CLIPZEROSHOT(trans)->priv->stage.on_src_event(event);
  return GST_BASE_TRANSFORM_CLASS(gst_clipzeroshot_parent_class)->src_event(trans, event);
}

gboolean gst_clipzeroshot_sink_event(GstBaseTransform* trans, GstEvent* event) {
  GST_CLIPZEROSHOT(trans)->priv->stage.on_sink_event(event);
  return GST_BASE_TRANSFORM_CLASS(gst_clipzeroshot_parent_class)->sink_event(trans, event);
}

gboolean gst_clipzeroshot_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  auto* self = GST_CLIPZEROSHOT(trans);
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    return dinoclip::gst::add_inference_latency(trans, query, settings_snapshot(self).inference);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_clipzeroshot_parent_class)->query(trans, direction, query);
}

/* ---- frames: in through the driver, out in order ---- */

GstFlowReturn gst_clipzeroshot_submit_input_buffer(GstBaseTransform* trans, gboolean, GstBuffer* buffer) {
  return GST_CLIPZEROSHOT(trans)->priv->stage.submit_input_buffer(buffer);
}

GstFlowReturn gst_clipzeroshot_generate_output(GstBaseTransform* trans, GstBuffer** out) {
  return GST_CLIPZEROSHOT(trans)->priv->stage.generate_output(out);
}

/* ---- GObject ---- */

void gst_clipzeroshot_finalize(GObject* object) {
  delete GST_CLIPZEROSHOT(object)->priv;
  G_OBJECT_CLASS(gst_clipzeroshot_parent_class)->finalize(object);
}

}  // namespace

static void gst_clipzeroshot_class_init(GstClipzeroshotClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(clip_zero_shot_debug, "clipzeroshot", 0, "CLIP zero-shot classification element");

  gobject_class->set_property = gst_clipzeroshot_set_property;
  gobject_class->get_property = gst_clipzeroshot_get_property;
  gobject_class->finalize = gst_clipzeroshot_finalize;
  dinoclip::gst::install_clipzeroshot_properties(gobject_class);

  gst_element_class_set_static_metadata(
      element_class, "CLIP zero-shot classification", "Filter/Analyzer/Video",
      "Labels video frames from free text with CLIP (no training): attaches GstDinoClassificationMeta, posts a "
      "'clipzeroshot' message per classified frame and 'clipzeroshot-query' events for a text query; the video "
      "passes through unchanged",
      "dinoclip contributors");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_type_mark_as_plugin_api(GST_TYPE_CLIP_ZERO_SHOT_CROP, GstPluginAPIFlags(0));

  trans_class->passthrough_on_same_caps = FALSE;  // the buffer must be writable to take the meta
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->start = gst_clipzeroshot_start;
  trans_class->stop = gst_clipzeroshot_stop;
  trans_class->set_caps = gst_clipzeroshot_set_caps;
  trans_class->src_event = gst_clipzeroshot_src_event;
  trans_class->sink_event = gst_clipzeroshot_sink_event;
  trans_class->query = gst_clipzeroshot_query;
  trans_class->submit_input_buffer = gst_clipzeroshot_submit_input_buffer;
  trans_class->generate_output = gst_clipzeroshot_generate_output;
}

static void gst_clipzeroshot_init(GstClipzeroshot* self) {
  self->priv = new Private;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);  // frames are never dropped
}
