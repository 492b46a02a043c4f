// dinoseg: the GObject side. Pads, caps, events, state changes and property
// glue; a frame goes chain -> handle_buffer -> segment_and_push
// (dinoseg_frames) once the segmenter is ready, or to the hold / release state
// machine (dinoseg_hold) and the training step (dinoseg_training) before. The
// properties are dinoseg_properties, the streaming state dinoseg_state;
// training, inference and IoU are lib/tasks (VideoSegmenter, GroundTruthScorer).
#include "dinoseg/gstdinoseg.h"

#include <gst/video/video.h>

#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "common/cuda_caps.h"
#include "common/refused_property.h"
#include "core/error.h"
#include "core/user_message.h"
#include "dinoseg/dinoseg_element.h"
#include "dinoseg/dinoseg_frame_position.h"
#include "dinoseg/dinoseg_frames.h"
#include "dinoseg/dinoseg_hold.h"
#include "dinoseg/dinoseg_training.h"
#include "inference/inference_driver.h"
#include "io/image_file.h"

GST_DEBUG_CATEGORY(dino_seg_debug);
#define GST_CAT_DEFAULT dino_seg_debug

G_DEFINE_TYPE(GstDinoseg, gst_dinoseg, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(dinoseg, "dinoseg", GST_RANK_NONE, GST_TYPE_DINOSEG)

namespace {

using namespace dinoclip;
using namespace dinoclip::gst;
using namespace dinoclip::gst::dinoseg_props;

// Any raw video, CUDA memory first where the build has it (common/cuda_caps.h):
// dinoseg reads the features meta, never the pixels, so frames pass as they come.
GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(DINOCLIP_ANY_VIDEO_CAPS));
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(DINOCLIP_ANY_VIDEO_CAPS));

DinosegSettings settings_snapshot(GstDinoseg* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

/* ---- frames ---- */

GstFlowReturn handle_buffer(GstDinoseg* self, DinosegState& state, BufferPtr buffer) {
  if (state.width <= 0) throw Error("a buffer arrived before the caps (no frame size)");
  ++state.frames_received;
  const int64_t frame = state.numbering.number(frame_position_of(buffer.get(), state.segment));
  state.current_frame = frame;
  if (!state.segmenter && !state.settings.annotation_image.empty()) train_on_annotation_image(self, state);
  if (state.segmenter) return segment_and_push(self, state, std::move(buffer), frame);
  return wait_for_annotated_frame(self, state, std::move(buffer), frame);
}

GstFlowReturn gst_dinoseg_chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  auto* self = GST_DINOSEG(parent);
  BufferPtr owned(buffer);
  DinosegState* state = self->priv->state.get();
  if (!state) return GST_FLOW_FLUSHING;
  try {
    return handle_buffer(self, *state, std::move(owned));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(
        self, STREAM, FAILED, ("%s", user_message(e).c_str()),
        ("frame %" G_GINT64_FORMAT ", method %s", state->current_frame, seg_method_name(state->config.method)));
    return GST_FLOW_ERROR;
  }
}

/* ---- events ---- */

bool set_caps(GstDinoseg* self, DinosegState& state, GstCaps* caps) {
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps)) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("dinoseg cannot use caps %" GST_PTR_FORMAT, caps), (nullptr));
    return false;
  }
  state.width = GST_VIDEO_INFO_WIDTH(&info);
  state.height = GST_VIDEO_INFO_HEIGHT(&info);
  state.numbering.set_framerate(GST_VIDEO_INFO_FPS_N(&info), GST_VIDEO_INFO_FPS_D(&info));
  if (!state.segmenter && state.settings.annotation_image.empty()) {
    try {
      check_annotation_size(state, state.width, state.height, "the video");
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("%s", e.what()), ("caps %" GST_PTR_FORMAT, caps));
      return false;
    }
  }
  state.forget_last();
  return true;
}

// EOS: an error if the annotated frame never came; else the IoU summary, then EOS.
bool handle_eos(GstDinoseg* self, DinosegState& state, GstEvent* event) {
  if (!state.segmenter) {
    const int64_t frames = state.frames_received;
    state.drop_held();
    GST_ELEMENT_ERROR(self, STREAM, FAILED,
                      ("The stream ended after %" G_GINT64_FORMAT " frames, before annotation-frame %u: nothing was "
                       "segmented. Set annotation-frame to a frame the stream has (counted from 0)",
                       frames, state.settings.annotation_frame),
                      (nullptr));
    gst_event_unref(event);
    return false;
  }
  warn_if_no_features(self, state);
  if (state.ground_truth) post_iou_summary(self, state);
  return gst_pad_push_event(self->srcpad, event);
}

gboolean gst_dinoseg_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  auto* self = GST_DINOSEG(parent);
  // FLUSH_START and the other non-serialized events come on any thread,
  // without the stream lock that guards the state (dinoseg_state.h): they
  // must not look at it. FLUSH_STOP, serialized, does the flush's work.
  if (!GST_EVENT_IS_SERIALIZED(event)) return gst_pad_event_default(pad, parent, event);
  DinosegState* state = self->priv->state.get();
  if (!state) return gst_pad_event_default(pad, parent, event);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
      GstCaps* caps;
      gst_event_parse_caps(event, &caps);
      if (!set_caps(self, *state, caps)) {
        gst_event_unref(event);
        return FALSE;
      }
      break;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment(event, &state->segment);  // stream times, hence frame numbers, after a seek
      break;
    case GST_EVENT_EOS:
      return handle_eos(self, *state, event);
    case GST_EVENT_FLUSH_STOP:
      state->drop_held();  // a seek: the frames after it are numbered by their own offsets or times
      state->forget_last();
      break;
    default:
      break;
  }
  if (hold_event(*state, event)) return TRUE;  // keeps its place among the held frames
  return gst_pad_event_default(pad, parent, event);
}

// LATENCY: upstream's plus the frames held before the annotated one
// (annotation-frame N holds N frames; a loaded head or annotation-image holds none).
gboolean gst_dinoseg_src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_DINOSEG(parent);
  gboolean answered = FALSE;
  if (answer_proxied_caps_query(pad, parent, query, &answered)) return answered;  // CUDA memory where usable
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY) return gst_pad_query_default(pad, parent, query);
  return add_held_frames_latency(self->sinkpad, query, settings_snapshot(self).frames_to_hold());
}

// Caps (proxied) without CUDA memory where this machine cannot take it.
gboolean gst_dinoseg_sink_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  gboolean answered = FALSE;
  if (answer_proxied_caps_query(pad, parent, query, &answered)) return answered;
  return gst_pad_query_default(pad, parent, query);
}

/* ---- state changes ---- */

GstStateChangeReturn gst_dinoseg_change_state(GstElement* element, GstStateChange transition) {
  auto* self = GST_DINOSEG(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    DinosegSettings settings;
    {
      // One step: a property set from now on is refused, not silently lost.
      std::lock_guard<std::mutex> lock(self->priv->settings_lock);
      settings = self->priv->settings;
      self->priv->settings_fixed = true;
    }
    try {
      self->priv->state = prepare_dinoseg_state(settings);
    } catch (const std::exception& e) {
      self->priv->settings_fixed = false;
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", user_message(e).c_str()), (nullptr));
      return GST_STATE_CHANGE_FAILURE;
    }
    const DinosegState& state = *self->priv->state;
    if (state.annotation) {
      const std::string warning = label_map_warning(*state.annotation, state.settings.annotation);
      if (!warning.empty()) GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", warning.c_str()), (nullptr));
    }
    self->priv->trained = bool(self->priv->state->segmenter);
    self->priv->train_accuracy = 0;
    self->priv->frames_segmented = 0;
  }
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_dinoseg_parent_class)->change_state(element, transition);
  // The pads are inactive now: no streaming thread is inside, none can enter.
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY ||
      (transition == GST_STATE_CHANGE_READY_TO_PAUSED && ret == GST_STATE_CHANGE_FAILURE)) {
    self->priv->state.reset();
    self->priv->settings_fixed = false;
  }
  return ret;
}

/* ---- properties ---- */

bool settings_are_fixed(GstDinoseg* self, const char* property) {
  if (!self->priv->settings_fixed) return false;
  warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, property);
  return true;
}

void gst_dinoseg_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOSEG(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  if (settings_are_fixed(self, pspec->name)) return;
  if (!set_dinoseg_setting(self->priv->settings, prop_id, value)) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

void gst_dinoseg_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOSEG(object);
  switch (prop_id) {
    case PROP_TRAINED:
      g_value_set_boolean(value, self->priv->trained.load());
      return;
    case PROP_TRAIN_ACCURACY:
      g_value_set_double(value, self->priv->train_accuracy.load());
      return;
    case PROP_FRAMES_SEGMENTED:
      g_value_set_uint64(value, self->priv->frames_segmented.load());
      return;
  }
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  if (!get_dinoseg_setting(self->priv->settings, prop_id, value)) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

void gst_dinoseg_finalize(GObject* object) {
  delete GST_DINOSEG(object)->priv;
  G_OBJECT_CLASS(gst_dinoseg_parent_class)->finalize(object);
}

}  // namespace

static void gst_dinoseg_class_init(GstDinosegClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(dino_seg_debug, "dinoseg", 0, "DINO one-shot segmentation element");

  gobject_class->set_property = gst_dinoseg_set_property;
  gobject_class->get_property = gst_dinoseg_get_property;
  gobject_class->finalize = gst_dinoseg_finalize;
  install_dinoseg_properties(gobject_class);

  gst_element_class_set_static_metadata(
      element_class, "DINO one-shot segmentation", "Filter/Analyzer/Video",
      "Segments every frame from ONE annotated frame: trains a head on its DINO patch features (or uses DINO's "
      "label propagation) and attaches a class map (GstDinoclipSegmentationMeta); needs dinofeatures upstream",
      "dinoclip contributors");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_DINOSEG_METHOD, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_DINOSEG_HEAD, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_DINOSEG_PATCH_LABELS, GstPluginAPIFlags(0));
  element_class->change_state = gst_dinoseg_change_state;
}

static void gst_dinoseg_init(GstDinoseg* self) {
  self->priv = new DinosegPrivate;
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, gst_dinoseg_chain);
  gst_pad_set_event_function(self->sinkpad, gst_dinoseg_sink_event);
  gst_pad_set_query_function(self->sinkpad, gst_dinoseg_sink_query);
  // Pixels pass through untouched: caps and allocation are the neighbours' business.
  GST_PAD_SET_PROXY_CAPS(self->sinkpad);
  GST_PAD_SET_PROXY_ALLOCATION(self->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_query_function(self->srcpad, gst_dinoseg_src_query);
  GST_PAD_SET_PROXY_CAPS(self->srcpad);
  GST_PAD_SET_PROXY_ALLOCATION(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
