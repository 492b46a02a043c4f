// dinofeatures: properties, caps, model lifetime, QoS and one call into
// lib/ per frame. No maths here: conversion, preprocessing and the model are
// lib/vision and lib/models.
#include "gstdinofeatures.h"

#include <gst/dinoclip/features-meta.h>
#include <gst/video/video.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <string>

#include "core/threads.h"
#include "io/image_file.h"
#include "enums.h"
#include "features_payload.h"
#include "features_query.h"
#include "frame_convert.h"
#include "models/device.h"
#include "models/dino.h"
#include "refused_property.h"
#include "vision/input_size.h"
#include "vision/preprocess.h"

GST_DEBUG_CATEGORY_STATIC(dino_features_debug);
#define GST_CAT_DEFAULT dino_features_debug

namespace {

using namespace dinoclip;

constexpr const char* kDefaultInputSize = "224x224";
constexpr guint kMaxInterval = 10000;

enum {
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_INPUT_SIZE,
  PROP_INTERVAL,
  PROP_ATTENTION,
  PROP_HEADS,
  PROP_THREADS,
  PROP_SKIP_LATE,
  PROP_INFERENCES,
  PROP_SKIPPED_INFERENCES,
};

// Property values, as the user set them.
struct Settings {
  std::string model;
  GstDinoDevice device = GST_DINO_DEVICE_AUTO;
  GstDinoPrecision precision = GST_DINO_PRECISION_FP32;
  InputSize input_size = InputSize::parse(kDefaultInputSize);
  guint interval = 1;
  bool attention = true;
  gint heads = 0;  // 0: from the width, as DinoLoadOptions
  gint threads = 0;
  bool skip_late = true;
};

// What exists between start() and stop(): the model and the streaming state.
struct State {
  std::optional<DinoModel> model;
  GstVideoInfo info{};
  GstDinoFeatures* last = nullptr;  // the latest result, carried onto frames without inference
  GstClockTime last_pts = GST_CLOCK_TIME_NONE;
  guint frames_since_inference = 0;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { forget_result(); }

  void forget_result() {
    if (last) gst_dino_features_unref(last);
    last = nullptr;
    last_pts = GST_CLOCK_TIME_NONE;
  }
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  std::unique_ptr<State> state;  // streaming thread only, between start() and stop()
  std::atomic<guint64> inferences{0};
  std::atomic<guint64> skipped_inferences{0};
  GstClockTime earliest_time = GST_CLOCK_TIME_NONE;  // from QoS; under the object lock
};

}  // namespace

struct _GstDinofeatures {
  GstBaseTransform parent;
  Private* priv;
};

G_DEFINE_TYPE(GstDinofeatures, gst_dinofeatures, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(dinofeatures, "dinofeatures", GST_RANK_NONE, GST_TYPE_DINOFEATURES)

namespace {

#define DINO_FEATURES_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }"

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(DINO_FEATURES_FORMATS)));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(DINO_FEATURES_FORMATS)));

Settings settings_snapshot(GstDinofeatures* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

// Model-loading properties apply in READY->PAUSED; later changes would be
// silently ignored, so they are refused with a warning instead.
bool model_is_loaded(GstDinofeatures* self, const char* property) {
  if (!self->priv->state) return false;
  dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, property,
                                       "it can only be changed in the NULL or READY state (the model is loaded)");
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
    case PROP_INTERVAL:
      settings.interval = g_value_get_uint(value);
      break;
    case PROP_ATTENTION:
      settings.attention = g_value_get_boolean(value);
      break;
    case PROP_SKIP_LATE:
      settings.skip_late = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

void gst_dinofeatures_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOFEATURES(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& settings = self->priv->settings;
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
    case PROP_INTERVAL:
      g_value_set_uint(value, settings.interval);
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
    case PROP_SKIP_LATE:
      g_value_set_boolean(value, settings.skip_late);
      break;
    case PROP_INFERENCES:
      g_value_set_uint64(value, self->priv->inferences.load());
      break;
    case PROP_SKIPPED_INFERENCES:
      g_value_set_uint64(value, self->priv->skipped_inferences.load());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

/* ---- start / stop: the model's lifetime ---- */

// Device and dtype from the settings; throws dinoclip::Error on an
// impossible choice (cuda without CUDA, fp16 on the CPU).
DinoLoadOptions load_options(const Settings& settings) {
  DinoLoadOptions options;
  options.num_heads = settings.heads;
  options.device = resolve_device(dinoclip::gst::to_device_choice(settings.device));
  options.dtype = resolve_precision(dinoclip::gst::to_precision(settings.precision), options.device);
  return options;
}

gboolean gst_dinofeatures_start(GstBaseTransform* trans) {
  auto* self = GST_DINOFEATURES(trans);
  const Settings settings = settings_snapshot(self);
  if (settings.model.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("No DINO model: set the 'model' property to a checkpoint (.pth or .safetensors)"), (nullptr));
    return FALSE;
  }
  DinoLoadOptions options;
  try {
    options = load_options(settings);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), ("model %s", settings.model.c_str()));
    return FALSE;
  }
  auto state = std::make_unique<State>();
  try {
    if (settings.threads > 0) configure_threads(ThreadConfig{settings.threads, 0});
    state->model.emplace(DinoModel::load(settings.model, options));
  } catch (const std::exception& e) {
    const bool exists = g_file_test(settings.model.c_str(), G_FILE_TEST_EXISTS);
    if (!exists) {
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                        ("Could not load DINO model \"%s\": no such file", settings.model.c_str()), ("%s", e.what()));
    } else {
      GST_ELEMENT_ERROR(self, RESOURCE, READ,
                        ("Could not load DINO model \"%s\": %s", settings.model.c_str(), e.what()),
                        ("device %s", options.device.str().c_str()));
    }
    return FALSE;
  }
  GST_INFO_OBJECT(self, "loaded %s from %s on %s (%s)", state->model->describe().c_str(), settings.model.c_str(),
                  options.device.str().c_str(), describe_threads().c_str());
  self->priv->state = std::move(state);
  self->priv->inferences = 0;
  self->priv->skipped_inferences = 0;
  GST_OBJECT_LOCK(self);
  self->priv->earliest_time = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

gboolean gst_dinofeatures_stop(GstBaseTransform* trans) {
  GST_DINOFEATURES(trans)->priv->state.reset();
  return TRUE;
}

gboolean gst_dinofeatures_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps*) {
  auto* self = GST_DINOFEATURES(trans);
  State* state = self->priv->state.get();
  if (!state || !gst_video_info_from_caps(&state->info, incaps)) {
    GST_ERROR_OBJECT(self, "cannot use caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  state->forget_result();  // a new size or format: the old grid no longer matches
  return TRUE;
}

/* ---- QoS: skip inference, never frames ---- */

gboolean gst_dinofeatures_src_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_DINOFEATURES(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;
    gst_event_parse_qos(event, nullptr, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK(self);
    // As GstBaseTransform does: a frame at or before this running time is late.
    self->priv->earliest_time = GST_CLOCK_TIME_IS_VALID(timestamp) ? timestamp + diff : GST_CLOCK_TIME_NONE;
    GST_OBJECT_UNLOCK(self);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_dinofeatures_parent_class)->src_event(trans, event);
}

gboolean gst_dinofeatures_sink_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_DINOFEATURES(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    if (self->priv->state) self->priv->state->forget_result();  // a seek: the last frame is from elsewhere
    GST_OBJECT_LOCK(self);
    self->priv->earliest_time = GST_CLOCK_TIME_NONE;
    GST_OBJECT_UNLOCK(self);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_dinofeatures_parent_class)->sink_event(trans, event);
}

bool frame_is_late(GstDinofeatures* self, GstBuffer* buffer) {
  GstBaseTransform* trans = GST_BASE_TRANSFORM(self);
  const GstClockTime running_time =
      gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  GST_OBJECT_LOCK(self);
  const GstClockTime earliest = self->priv->earliest_time;
  GST_OBJECT_UNLOCK(self);
  return GST_CLOCK_TIME_IS_VALID(running_time) && GST_CLOCK_TIME_IS_VALID(earliest) && running_time <= earliest;
}

/* ---- per frame ---- */

// The one call into the core: RGB view -> model input -> DINO.
GstDinoFeatures* run_model(const DinoModel& model, ImageView view, const Settings& settings) {
  const int patch = model.config().patch_size;
  const ResolvedSize size = resolve_input_size(settings.input_size, view.width, view.height, patch);
  if (settings.input_size.kind == InputSize::Kind::kNative) {
    view.width = size.width;  // top-left crop to whole patches, as DINO's visualize_attention.py
    view.height = size.height;
  }
  DinoForwardOptions options;
  options.cls_attention = settings.attention;
  return dinoclip::gst::make_features_payload(model.forward(dino_input(view, size.height, size.width), options), patch);
}

// Whether this frame gets a fresh inference (else it carries the last one).
bool wants_inference(GstDinofeatures* self, const State& state, const Settings& settings, GstBuffer* buffer) {
  if (!state.last) return true;  // nothing to carry yet
  if (state.frames_since_inference + 1 < settings.interval) return false;
  if (settings.skip_late && frame_is_late(self, buffer)) {
    const guint64 skipped = ++self->priv->skipped_inferences;
    GST_DEBUG_OBJECT(self, "frame %" GST_TIME_FORMAT " is late (QoS): inference skipped, %" G_GUINT64_FORMAT " so far",
                     GST_TIME_ARGS(GST_BUFFER_PTS(buffer)), skipped);
    return false;
  }
  return true;
}

GstFlowReturn infer_into(GstDinofeatures* self, State& state, const Settings& settings, GstBuffer* buffer) {
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &state.info, buffer, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map a video frame for reading"), (nullptr));
    return GST_FLOW_ERROR;
  }
  try {
    // LibTorch's OpenMP pool size is per calling thread: apply it in the streaming thread too.
    if (settings.threads > 0) configure_threads(ThreadConfig{settings.threads, 0});
    GstDinoFeatures* features = run_model(*state.model, dinoclip::gst::frame_image(frame).view, settings);
    gst_video_frame_unmap(&frame);
    state.forget_result();
    state.last = features;
    state.last_pts = GST_BUFFER_PTS(buffer);
    state.frames_since_inference = 0;
    ++self->priv->inferences;
    return GST_FLOW_OK;
  } catch (const std::exception& e) {
    gst_video_frame_unmap(&frame);
    GST_ELEMENT_ERROR(
        self, STREAM, FAILED, ("DINO inference failed: %s", e.what()),
        ("frame %dx%d %s, input-size %s", GST_VIDEO_INFO_WIDTH(&state.info), GST_VIDEO_INFO_HEIGHT(&state.info),
         GST_VIDEO_INFO_NAME(&state.info), settings.input_size.to_string().c_str()));
    return GST_FLOW_ERROR;
  }
}

GstFlowReturn gst_dinofeatures_transform_ip(GstBaseTransform* trans, GstBuffer* buffer) {
  auto* self = GST_DINOFEATURES(trans);
  try {
    State& state = *self->priv->state;
    const Settings settings = settings_snapshot(self);
    bool carried = true;
    if (wants_inference(self, state, settings, buffer)) {
      const GstFlowReturn ret = infer_into(self, state, settings, buffer);
      if (ret != GST_FLOW_OK) return ret;
      carried = false;
    } else {
      ++state.frames_since_inference;
    }
    gst_buffer_add_dino_features_meta(buffer, state.last, carried, state.last_pts);
    return GST_FLOW_OK;
  } catch (const std::exception& e) {  // allocation failures and the like: never into GStreamer
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("dinofeatures: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
}

/* ---- features of a picture, for dinoseg's annotation-image ---- */

// Answers features_for_image queries from downstream with this element's
// model and input size, so a picture and the stream share one feature space.
bool answer_features_for_image(GstDinofeatures* self, GstQuery* query) {
  std::string path;
  if (!dinoclip::gst::parse_features_for_image_query(query, &path)) return false;
  State* state = self->priv->state.get();
  if (!state) {
    dinoclip::gst::set_features_for_image_error(query, "dinofeatures has no model loaded yet");
    return true;
  }
  try {
    const Settings settings = settings_snapshot(self);
    const Image picture = read_image(path);
    GstDinoFeatures* features = run_model(*state->model, picture.view(), settings);
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
  return GST_BASE_TRANSFORM_CLASS(gst_dinofeatures_parent_class)->query(trans, direction, query);
}

/* ---- GObject ---- */

void gst_dinofeatures_finalize(GObject* object) {
  delete GST_DINOFEATURES(object)->priv;
  G_OBJECT_CLASS(gst_dinofeatures_parent_class)->finalize(object);
}

constexpr GParamFlags kReadWrite = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
constexpr GParamFlags kLoadTime = GParamFlags(kReadWrite | GST_PARAM_MUTABLE_READY);
constexpr GParamFlags kAnyTime = GParamFlags(kReadWrite | GST_PARAM_MUTABLE_PLAYING);
constexpr GParamFlags kReadOnly = GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

void install_properties(GObjectClass* gobject_class) {
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string(
          "model", "Model",
          "Path to the DINO checkpoint: .pth (official facebookresearch/dino ViT-S/B 8/16) or .safetensors. "
          "Read in READY->PAUSED; a missing or unreadable file is an error then. No default: required",
          nullptr, kLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_enum("device", "Device",
                        "Where the model runs: auto = cuda when this build and machine have it, else cpu. "
                        "Applied in READY->PAUSED",
                        GST_TYPE_DINO_DEVICE, GST_DINO_DEVICE_AUTO, kLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum(
          "precision", "Precision",
          "Compute precision: fp32 anywhere, fp16 on CUDA only, bf16 on CUDA or CPU; an unsupported choice is an "
          "error in READY->PAUSED. The attached results are float32 whatever this is",
          GST_TYPE_DINO_PRECISION, GST_DINO_PRECISION_FP32, kLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_SIZE,
      g_param_spec_string(
          "input-size", "Input size",
          "Model input size in pixels: \"WxH\" (each a multiple of the model's patch size, 8 or 16), \"short:N\" "
          "(shorter side N, aspect kept, both sides rounded to the patch size) or \"native\" (the frame cropped to "
          "whole patches). The patch grid is this size divided by the patch. Frames are resized with Pillow-exact "
          "bilinear. May change while PLAYING (from the next inference)",
          kDefaultInputSize, kAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint(
          "interval", "Interval",
          "Run the model on every Nth frame (1 = every frame); the frames in between carry the last result, "
          "marked carried in the meta (the payload is shared, not copied). May change while PLAYING",
          1, kMaxInterval, 1, kAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_ATTENTION,
      g_param_spec_boolean(
          "attention", "Attention",
          "Also attach the last layer's CLS attention per head (what attnoverlay mode=attention/heads draws). "
          "May change while PLAYING",
          TRUE, kAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_HEADS,
      g_param_spec_int(
          "heads", "Heads",
          "Attention heads of the checkpoint, 1-64; 0 = from the width as in the official models (384 -> 6, "
          "768 -> 12). Set it only for non-standard checkpoints. Applied in READY->PAUSED",
          0, 64, 0, kLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "CPU threads for LibTorch's intra-op pool, 1-1024; 0 leaves the process setting as it is. "
                       "Process-wide (LibTorch has one pool). Applied in READY->PAUSED",
                       0, 1024, 0, kLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_SKIP_LATE,
      g_param_spec_boolean(
          "skip-late", "Skip late",
          "When downstream reports late frames (QoS events, e.g. a live source into a synchronised sink), run no "
          "inference on them and carry the last result instead; frames are never dropped. Counted in "
          "skipped-inferences. May change while PLAYING",
          TRUE, kAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_INFERENCES,
      g_param_spec_uint64("inferences", "Inferences", "Model runs since READY->PAUSED (read-only)", 0, G_MAXUINT64, 0,
                          kReadOnly));
  g_object_class_install_property(
      gobject_class, PROP_SKIPPED_INFERENCES,
      g_param_spec_uint64("skipped-inferences", "Skipped inferences",
                          "Inferences skipped on late frames (see skip-late) since READY->PAUSED (read-only)", 0,
                          G_MAXUINT64, 0, kReadOnly));
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
  trans_class->transform_ip = gst_dinofeatures_transform_ip;
  trans_class->query = gst_dinofeatures_query;
}

static void gst_dinofeatures_init(GstDinofeatures* self) {
  self->priv = new Private;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);  // we skip inference, not frames
}
