// clipzeroshot: properties, model and text lifetimes, and one call into lib/
// per classified frame. The texts (labels x templates, query) are encoded by
// lib/tasks ZeroShotTextsWorker, off the streaming thread when they change
// while PLAYING; scoring is lib/tasks score_frame; the event detector is
// lib/tasks QueryTrigger. No maths here.
#include "gstclipzeroshot.h"

#include <gst/dinoclip/classification-meta.h>
#include <gst/video/video.h>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "clipzeroshot_properties.h"
#include "clipzeroshot_results.h"
#include "core/error.h"
#include "enums.h"
#include "frame_convert.h"
#include "models/clip.h"
#include "models/device.h"
#include "refused_property.h"
#include "roi_params.h"
#include "tasks/frame_zeroshot.h"
#include "tasks/label_spec.h"
#include "tasks/query_trigger.h"
#include "tasks/zeroshot_texts_worker.h"
#include "text/bpe_tokenizer.h"
#include "text/vocab_path.h"

GST_DEBUG_CATEGORY_STATIC(clip_zero_shot_debug);
#define GST_CAT_DEFAULT clip_zero_shot_debug

namespace {

using namespace dinoclip;
using namespace dinoclip::gst::clipzeroshot_props;

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
  guint interval = 1;
  guint top_k = 5;
  gdouble unknown_threshold = 0.0;
  std::string query;
  gdouble query_threshold = kDefaultQueryThreshold;
  gdouble hysteresis = kDefaultHysteresis;
};

// What exists between start() and stop(); streaming thread only.
struct State {
  std::shared_ptr<const ClipModel> model;
  std::shared_ptr<ZeroShotTextsWorker> texts;
  GstVideoInfo info{};
  std::shared_ptr<const ZeroShotTexts> last_texts;  // the set of the last inference
  GstDinoClassification* last = nullptr;            // carried onto frames without inference
  guint frames_since_inference = 0;
  QueryTrigger trigger{kDefaultQueryThreshold, kDefaultHysteresis};

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { forget_result(); }

  void forget_result() {
    if (last) gst_dino_classification_unref(last);
    last = nullptr;
    last_texts.reset();
    trigger.reset();
  }
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  std::shared_ptr<ZeroShotTextsWorker> texts;  // under settings_lock, for property changes while running
  std::unique_ptr<State> state;
  std::atomic<guint64> inferences{0};
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

#define CLIP_ZERO_SHOT_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }"

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(CLIP_ZERO_SHOT_FORMATS)));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(CLIP_ZERO_SHOT_FORMATS)));

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
  dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, property,
                                       "it can only be changed in the NULL or READY state (the model is loaded)");
  return true;
}

std::string string_of(const GValue* value) { return g_value_get_string(value) ? g_value_get_string(value) : ""; }

void gst_clipzeroshot_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_CLIPZEROSHOT(object);
  bool texts_changed = false;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    Settings& s = self->priv->settings;
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
      case PROP_INTERVAL:
        s.interval = g_value_get_uint(value);
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
    case PROP_INTERVAL:
      g_value_set_uint(value, s.interval);
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
      g_value_set_uint64(value, self->priv->inferences.load());
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

ClipLoadOptions load_options(const Settings& settings) {
  ClipLoadOptions options;
  options.device = resolve_device(dinoclip::gst::to_device_choice(settings.device));
  options.dtype = resolve_precision(dinoclip::gst::to_precision(settings.precision), options.device);
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

std::shared_ptr<const ClipModel> load_model(GstClipzeroshot* self, const Settings& settings) {
  ClipLoadOptions options;
  try {
    options = load_options(settings);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), ("model %s", settings.model.c_str()));
    return nullptr;
  }
  try {
    return std::make_shared<const ClipModel>(ClipModel::load(settings.model, options));
  } catch (const std::exception& e) {
    if (!g_file_test(settings.model.c_str(), G_FILE_TEST_EXISTS)) {
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                        ("Could not load CLIP model \"%s\": no such file", settings.model.c_str()), ("%s", e.what()));
    } else {
      GST_ELEMENT_ERROR(self, RESOURCE, READ,
                        ("Could not load CLIP model \"%s\" (expected OpenAI CLIP ViT weights, e.g. ViT-B-32.pt): %s",
                         settings.model.c_str(), e.what()),
                        ("device %s", options.device.str().c_str()));
    }
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
  auto state = std::make_unique<State>();
  state->model = load_model(self, settings);
  if (!state->model) return FALSE;
  try {
    state->texts = std::make_shared<ZeroShotTextsWorker>(state->model, tokenizer, spec, texts_listener(self));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Could not encode the labels: %s", e.what()), (nullptr));
    return FALSE;
  }
  GST_INFO_OBJECT(self, "loaded %s from %s, %zu label(s)", state->model->describe().c_str(), settings.model.c_str(),
                  spec.labels.size());
  self->priv->inferences = 0;
  self->priv->text_encodings = 1;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    self->priv->texts = state->texts;
  }
  self->priv->state = std::move(state);
  return TRUE;
}

gboolean gst_clipzeroshot_stop(GstBaseTransform* trans) {
  auto* self = GST_CLIPZEROSHOT(trans);
  std::shared_ptr<ZeroShotTextsWorker> worker;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    worker = std::move(self->priv->texts);
  }
  self->priv->state.reset();
  worker.reset();  // the last reference: waits for a re-encoding in progress
  return TRUE;
}

gboolean gst_clipzeroshot_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps*) {
  auto* self = GST_CLIPZEROSHOT(trans);
  State* state = self->priv->state.get();
  if (!state || !gst_video_info_from_caps(&state->info, incaps)) {
    GST_ERROR_OBJECT(self, "cannot use caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  state->forget_result();
  return TRUE;
}

gboolean gst_clipzeroshot_sink_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_CLIPZEROSHOT(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP && self->priv->state) {
    self->priv->state->forget_result();  // a seek: the last frame and the query's state are from elsewhere
  }
  return GST_BASE_TRANSFORM_CLASS(gst_clipzeroshot_parent_class)->sink_event(trans, event);
}

/* ---- per frame ---- */

ClipCrop to_crop(GstClipZeroShotCrop crop) {
  return crop == GST_CLIP_ZERO_SHOT_CROP_FULL ? ClipCrop::kFullFrame : ClipCrop::kCenter;
}

void post(GstClipzeroshot* self, GstStructure* structure) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), structure));
}

// The new result: meta payload and message for the labels, events for the query.
void publish(GstClipzeroshot* self, State& state, const ZeroShotTexts& texts, const FrameScores& scores,
             const Settings& settings, GstBuffer* buffer) {
  const dinoclip::gst::FrameTimes times = dinoclip::gst::frame_times(GST_BASE_TRANSFORM(self)->segment, buffer);
  if (state.last) gst_dino_classification_unref(state.last);
  state.last = nullptr;
  if (scores.result) {
    state.last = dinoclip::gst::make_classification(texts, scores, settings.top_k, settings.unknown_threshold);
    post(self, dinoclip::gst::classification_structure(texts, scores, times));
  }
  if (scores.query_similarity) {
    state.trigger.set_thresholds(settings.query_threshold, settings.hysteresis);
    if (auto event = state.trigger.update(*scores.query_similarity, gint64(times.timestamp))) {
      post(self, dinoclip::gst::query_event_structure(texts.query, *event, settings.query_threshold, times));
    }
  }
}

GstFlowReturn infer(GstClipzeroshot* self, State& state, const std::shared_ptr<const ZeroShotTexts>& texts,
                    const Settings& settings, GstBuffer* buffer) {
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &state.info, buffer, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map a video frame for reading"), (nullptr));
    return GST_FLOW_ERROR;
  }
  FrameScores scores;
  try {
    scores = score_frame(*state.model, *texts, dinoclip::gst::frame_image(frame).view, to_crop(settings.crop),
                         settings.top_k, settings.unknown_threshold);
  } catch (const std::exception& e) {
    gst_video_frame_unmap(&frame);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("CLIP zero-shot classification failed: %s", e.what()),
                      ("frame %dx%d %s", GST_VIDEO_INFO_WIDTH(&state.info), GST_VIDEO_INFO_HEIGHT(&state.info),
                       GST_VIDEO_INFO_NAME(&state.info)));
    return GST_FLOW_ERROR;
  }
  gst_video_frame_unmap(&frame);
  if (state.last_texts && state.last_texts->query != texts->query) state.trigger.reset();  // no event open yet
  publish(self, state, *texts, scores, settings, buffer);
  state.last_texts = texts;
  state.frames_since_inference = 0;
  ++self->priv->inferences;
  return GST_FLOW_OK;
}

GstFlowReturn gst_clipzeroshot_transform_ip(GstBaseTransform* trans, GstBuffer* buffer) {
  auto* self = GST_CLIPZEROSHOT(trans);
  try {
    State& state = *self->priv->state;
    const Settings settings = settings_snapshot(self);
    // One snapshot per frame: the whole old set or the whole new one.
    const std::shared_ptr<const ZeroShotTexts> texts = state.texts->current();
    bool carried = true;
    if (texts != state.last_texts || state.frames_since_inference + 1 >= settings.interval) {
      const GstFlowReturn ret = infer(self, state, texts, settings, buffer);
      if (ret != GST_FLOW_OK) return ret;
      carried = false;
    } else {
      ++state.frames_since_inference;
    }
    if (state.last) {
      gst_buffer_add_dino_classification_meta(buffer, state.last, carried);
      dinoclip::gst::add_classification_roi(buffer, state.last, GST_VIDEO_INFO_WIDTH(&state.info),
                                            GST_VIDEO_INFO_HEIGHT(&state.info));
    }
    return GST_FLOW_OK;
  } catch (const std::exception& e) {  // allocation failures and the like: never into GStreamer
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("clipzeroshot: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
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
  trans_class->sink_event = gst_clipzeroshot_sink_event;
  trans_class->transform_ip = gst_clipzeroshot_transform_ip;
}

static void gst_clipzeroshot_init(GstClipzeroshot* self) {
  self->priv = new Private;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);  // frames are never dropped
}
