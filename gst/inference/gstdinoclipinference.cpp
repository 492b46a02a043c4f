// GstDinoclipInference: the properties, lifetimes and GstBaseTransform
// callbacks every inference element shares, written once. No maths and no
// model calls: the element's InferenceClient turns frames into requests on a
// shared instance (lib/runtime), the InferenceDriver (inference_driver.*)
// decides cadence, batching and asynchronous delivery.
#include "inference/gstdinoclipinference.h"

#include <gst/video/video.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <utility>

#include "common/cuda_caps.h"
#include "common/frame_convert.h"
#include "common/param_flags.h"
#include "common/refused_property.h"
#include "core/device.h"
#include "core/user_message.h"
#include "inference/inference_driver.h"
#include "inference/model_settings.h"

#if defined(DINOCLIP_WITH_GST_CUDA)
#include "common/cuda_context.h"
#endif

GST_DEBUG_CATEGORY_STATIC(dinoclip_inference_debug);
#define GST_CAT_DEFAULT dinoclip_inference_debug

namespace {

using namespace dinoclip;
using dinoclip::gst::InferenceClient;
using dinoclip::gst::InferenceDriver;
using dinoclip::gst::InferenceSettings;
using dinoclip::gst::ModelSettings;

// Ids of the base's properties (installed on each element, above its own ids).
enum : guint {
  PROP_MODEL = 0x1000,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_THREADS,
  PROP_INFERENCES,
  PROP_SKIPPED_INFERENCES,
  PROP_INFERENCE_FIRST,  // then inference_properties.h's, in its order
};

// Between start() and stop().
struct Running {
  std::unique_ptr<InferenceClient> client;
  std::unique_ptr<InferenceDriver> driver;  // after `client`: goes first
  GstVideoInfo info;                        // the caps frames come with (valid once `has_info`)
  bool has_info = false;
};

// Whether model-loading properties may change (see refusal()).
enum class ModelState { kUnloaded, kLoading, kLoaded };

// Who touches `running` (see the header's "Threads"):
// - start() creates it and stop() destroys it, both under running_lock;
// - the streaming thread (frames, caps, serialized events) uses it without
//   the lock: GstBaseTransform takes the sink pad's stream lock before stop()
//   and refuses data once the pad deactivates, so it never overlaps stop();
// - every other thread (FLUSH_START from the seeking thread, FLUSH_STOP,
//   which GStreamer delivers even to a deactivating pad, QoS from downstream,
//   the counters) calls into it only while holding running_lock, so stop()
//   cannot destroy the client under it. Those calls are short and never push
//   downstream (draining held frames does, on the streaming thread only).
struct Private {
  std::mutex settings_lock;
  ModelSettings settings;
  std::atomic<ModelState> model_state{ModelState::kUnloaded};
  mutable std::mutex running_lock;
  std::unique_ptr<Running> running;
};

struct GstDinoclipInferencePrivate {
  Private* impl;
};

}  // namespace

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE(GstDinoclipInference, gst_dinoclip_inference, GST_TYPE_BASE_TRANSFORM)

namespace {

// CUDA memory first where the build has it (common/cuda_caps.h), then system
// memory; frames leave in the memory they came in.
GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(DINOCLIP_VIDEO_CAPS(DINOCLIP_FRAME_FORMATS)));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(DINOCLIP_VIDEO_CAPS(DINOCLIP_FRAME_FORMATS)));

Private& priv(gpointer self) {
  auto* holder = static_cast<GstDinoclipInferencePrivate*>(
      gst_dinoclip_inference_get_instance_private(GST_DINOCLIP_INFERENCE(self)));
  return *holder->impl;
}

ModelSettings snapshot(gpointer self) {
  Private& p = priv(self);
  std::lock_guard<std::mutex> lock(p.settings_lock);
  return p.settings;
}

// The running state for the streaming thread's callbacks (no lock: see Private).
Running* streaming_running(gpointer self) { return priv(self).running.get(); }

// Why a model-loading property cannot change now, or nullptr when it can.
// kLoading starts before start() reads the settings it loads with, so a value
// set during READY->PAUSED is either read by that load or refused, never
// accepted and then ignored.
const char* refusal(Private& p) {
  switch (p.model_state.load()) {
    case ModelState::kUnloaded:
      return nullptr;
    case ModelState::kLoading:
      return dinoclip::gst::kModelIsLoading;
    case ModelState::kLoaded:
      return dinoclip::gst::kModelIsLoaded;
  }
  return nullptr;
}

InferenceSettings inference_snapshot(gpointer self) {
  Private& p = priv(self);
  std::lock_guard<std::mutex> lock(p.settings_lock);
  return p.settings.inference;
}

// The GPU the model runs on (-1: the CPU), from any thread: the loaded
// model's, or before it loads the one the device property will give (a CUDA
// decoder asks for the context in its NULL->READY, before this element loads
// its model in READY->PAUSED). -1 where CUDA memory is not usable.
int model_cuda_device(gpointer self) {
  Private& p = priv(self);
  {
    std::lock_guard<std::mutex> lock(p.running_lock);
    if (p.running) return p.running->client->cuda_device();
  }
  if (!dinoclip::gst::cuda_memory_usable()) return -1;
  try {
    return dinoclip::gst::cuda_index_of(resolve_device(dinoclip::gst::to_device_choice(snapshot(self).device)));
  } catch (const std::exception&) {
    return -1;  // an impossible device: READY->PAUSED reports it
  }
}

uint64_t counter(gpointer self, bool skipped) {
  Private& p = priv(self);
  std::lock_guard<std::mutex> lock(p.running_lock);
  if (!p.running) return 0;
  return skipped ? p.running->driver->skipped() : p.running->driver->inferences();
}

/* ---- properties ---- */

// A model-loading property while the model is loaded: refused (warned), not applied.
bool refused(GstDinoclipInference* self, const char* property) {
  return gst_dinoclip_inference_refuse_while_loaded(self, property);
}

void gst_dinoclip_inference_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOCLIP_INFERENCE(object);
  Private& p = priv(self);
  std::lock_guard<std::mutex> lock(p.settings_lock);
  ModelSettings& s = p.settings;
  if (dinoclip::gst::set_inference_property(s.inference, PROP_INFERENCE_FIRST, prop_id, value, refusal(p), pspec,
                                            GST_ELEMENT(self), GST_DINOCLIP_INFERENCE_GET_CLASS(self)->debug)) {
    return;
  }
  switch (prop_id) {
    case PROP_MODEL:
      if (!refused(self, "model")) s.model = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_DEVICE:
      if (!refused(self, "device")) s.device = GstDinoclipDevice(g_value_get_enum(value));
      break;
    case PROP_PRECISION:
      if (!refused(self, "precision")) s.precision = GstDinoclipPrecision(g_value_get_enum(value));
      break;
    case PROP_THREADS:
      if (!refused(self, "threads")) s.threads = g_value_get_int(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

void gst_dinoclip_inference_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  if (prop_id == PROP_INFERENCES || prop_id == PROP_SKIPPED_INFERENCES) {
    g_value_set_uint64(value, counter(object, prop_id == PROP_SKIPPED_INFERENCES));
    return;
  }
  Private& p = priv(object);
  std::lock_guard<std::mutex> lock(p.settings_lock);
  const ModelSettings& s = p.settings;
  if (dinoclip::gst::get_inference_property(s.inference, PROP_INFERENCE_FIRST, prop_id, value)) return;
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, s.model.empty() ? nullptr : s.model.c_str());
      break;
    case PROP_DEVICE:
      g_value_set_enum(value, s.device);
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, s.precision);
      break;
    case PROP_THREADS:
      g_value_set_int(value, s.threads);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

/* ---- start / stop: the client's and the driver's lifetimes ---- */

gboolean gst_dinoclip_inference_start(GstBaseTransform* trans) {
  auto* self = GST_DINOCLIP_INFERENCE(trans);
  GstDinoclipInferenceClass* klass = GST_DINOCLIP_INFERENCE_GET_CLASS(self);
  Private& p = priv(self);
  ModelSettings settings;
  {
    // From here model-loading properties are refused (the element's own too:
    // its open() reads them after this): what this snapshot holds is loaded.
    std::lock_guard<std::mutex> lock(p.settings_lock);
    p.model_state = ModelState::kLoading;
    settings = p.settings;
  }
  if (settings.model.empty()) {
    p.model_state = ModelState::kUnloaded;
    GST_ELEMENT_ERROR(
        self, RESOURCE, NOT_FOUND,
        ("No %s model: set the 'model' property to %s", klass->texts->model_kind, klass->texts->model_missing),
        (nullptr));
    return FALSE;
  }
  std::unique_ptr<InferenceClient> client = klass->open(self, settings);
  if (!client) {
    p.model_state = ModelState::kUnloaded;
    return FALSE;
  }
  auto running = std::make_unique<Running>();
  running->client = std::move(client);
  running->driver = std::make_unique<InferenceDriver>(trans, running->client.get());
  {
    std::lock_guard<std::mutex> lock(p.running_lock);
    p.running = std::move(running);
  }
  p.model_state = ModelState::kLoaded;
  return TRUE;
}

gboolean gst_dinoclip_inference_stop(GstBaseTransform* trans) {
  auto* self = GST_DINOCLIP_INFERENCE(trans);
  GstDinoclipInferenceClass* klass = GST_DINOCLIP_INFERENCE_GET_CLASS(self);
  Private& p = priv(self);
  p.model_state = ModelState::kUnloaded;
  if (klass->close) klass->close(self);
  std::unique_ptr<Running> running;
  {
    // Waits for a FLUSH_START/FLUSH_STOP or QoS event inside the client to
    // leave it; none enters after this.
    std::lock_guard<std::mutex> lock(p.running_lock);
    running = std::move(p.running);
  }
  running.reset();  // outside the lock: a QoS event never waits for the cancellations
  return TRUE;
}

// GstBaseTransform::set_caps: the client reads frames with these caps. New
// caps restart the driver (the next frame is inferred; async results still
// running on the old caps are dropped, never published on a new-size frame).
gboolean gst_dinoclip_inference_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps*) {
  Running* running = streaming_running(trans);
  GstVideoInfo info;
  if (!running || !gst_video_info_from_caps(&info, incaps)) {
    if (running) GST_ERROR_OBJECT(trans, "cannot use caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  if (running->has_info && gst_video_info_is_equal(&running->info, &info)) return TRUE;  // a reconfigure: same frames
  running->client->set_info(info);
  running->driver->restart();
  running->info = info;
  running->has_info = true;
  return TRUE;
}

/* ---- caps, context and allocation: CUDA memory where it can be used ---- */

// The base class's answer (the same caps: frames pass through in place),
// without CUDA memory where this machine cannot take it (common/cuda_caps.h):
// caps queries, hence negotiation, then see system memory only.
GstCaps* gst_dinoclip_inference_transform_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps,
                                               GstCaps* filter) {
  GstCaps* result = GST_BASE_TRANSFORM_CLASS(gst_dinoclip_inference_parent_class)
                        ->transform_caps(trans, direction, caps, filter);
  return dinoclip::gst::caps_usable_here(result);
}

// CUDA-memory caps on a build or machine without CUDA memory: refused with an
// error that says why and what to do (instead of a bare not-negotiated).
gboolean gst_dinoclip_inference_accept_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps) {
  if (!dinoclip::gst::check_cuda_memory_caps(GST_ELEMENT(trans), caps)) return FALSE;
  return GST_BASE_TRANSFORM_CLASS(gst_dinoclip_inference_parent_class)->accept_caps(trans, direction, caps);
}

#if defined(DINOCLIP_WITH_GST_CUDA)
// Upstream's allocation query for CUDA frames: downstream's answer (frames
// pass through in place), then a GstCudaBufferPool on the model's GPU when
// nobody offered a pool, and in any case room for the frames the element
// holds (a batch in flight) plus two on their way: batch-size + 2 buffers.
gboolean propose_cuda_allocation(GstBaseTransform* trans, GstQuery* query, gboolean answered) {
  GstCaps* caps = nullptr;
  gboolean need_pool = FALSE;
  gst_query_parse_allocation(query, &caps, &need_pool);
  const int device = model_cuda_device(trans);
  if (!caps || !dinoclip::gst::caps_are_cuda_memory(caps) || device < 0) return answered;
  const guint min_buffers = guint(inference_snapshot(trans).batch_size) + 2;
  if (gst_query_get_n_allocation_pools(query) == 0) {
    GstBufferPool* pool = dinoclip::gst::new_cuda_buffer_pool(device, caps, min_buffers);
    if (!pool) return answered;
    GstStructure* config = gst_buffer_pool_get_config(pool);
    guint size = 0;
    gst_buffer_pool_config_get_params(config, nullptr, &size, nullptr, nullptr);
    gst_structure_free(config);
    gst_query_add_allocation_pool(query, need_pool ? pool : nullptr, size, min_buffers, 0);
    gst_object_unref(pool);
  } else {
    for (guint i = 0; i < gst_query_get_n_allocation_pools(query); ++i) {
      GstBufferPool* pool = nullptr;
      guint size = 0, min = 0, max = 0;
      gst_query_parse_nth_allocation_pool(query, i, &pool, &size, &min, &max);
      if (min < min_buffers) {
        min = min_buffers;
        if (max != 0 && max < min) max = min;
      }
      gst_query_set_nth_allocation_pool(query, i, pool, size, min, max);
      if (pool) gst_object_unref(pool);
    }
  }
  if (!gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr)) {
    gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
  }
  return TRUE;
}
#endif

gboolean gst_dinoclip_inference_propose_allocation(GstBaseTransform* trans, GstQuery* decide_query,
                                                   GstQuery* query) {
  const gboolean answered = GST_BASE_TRANSFORM_CLASS(gst_dinoclip_inference_parent_class)
                                ->propose_allocation(trans, decide_query, query);
#if defined(DINOCLIP_WITH_GST_CUDA)
  return propose_cuda_allocation(trans, query, answered);
#else
  return answered;
#endif
}

// A "gst.cuda.context" query (a CUDA decoder looking for a context): answered
// with the model's GPU's primary context; otherwise it goes on as before.
bool answer_context_query(GstBaseTransform* trans, GstQuery* query) {
#if defined(DINOCLIP_WITH_GST_CUDA)
  return GST_QUERY_TYPE(query) == GST_QUERY_CONTEXT &&
         dinoclip::gst::answer_cuda_context_query(GST_ELEMENT(trans), query, model_cuda_device(trans));
#else
  return false;
#endif
}

/* ---- events and queries ---- */

// QoS (any thread) for skip-late, before the base class sees it.
gboolean gst_dinoclip_inference_src_event(GstBaseTransform* trans, GstEvent* event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    Private& p = priv(trans);
    std::lock_guard<std::mutex> lock(p.running_lock);  // from downstream's thread, maybe while stopping
    if (p.running) p.running->driver->late_frames().on_qos(event);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_dinoclip_inference_parent_class)->src_event(trans, event);
}

// Flushes (from any thread: under running_lock, see Private), and held frames
// leave before any other serialized event (the streaming thread).
gboolean gst_dinoclip_inference_sink_event(GstBaseTransform* trans, GstEvent* event) {
  const GstEventType type = GST_EVENT_TYPE(event);
  if (type == GST_EVENT_FLUSH_START || type == GST_EVENT_FLUSH_STOP) {
    Private& p = priv(trans);
    std::lock_guard<std::mutex> lock(p.running_lock);
    if (p.running && type == GST_EVENT_FLUSH_START) p.running->driver->flush_start();
    if (p.running && type == GST_EVENT_FLUSH_STOP) p.running->driver->flush_stop();
  } else if (GST_EVENT_IS_SERIALIZED(event)) {
    if (Running* running = streaming_running(trans)) running->driver->drain_before_event(inference_snapshot(trans));
  }
  return GST_BASE_TRANSFORM_CLASS(gst_dinoclip_inference_parent_class)->sink_event(trans, event);
}

gboolean gst_dinoclip_inference_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    return dinoclip::gst::add_inference_latency(trans, query, inference_snapshot(trans));
  }
  if (answer_context_query(trans, query)) return TRUE;
  return GST_BASE_TRANSFORM_CLASS(gst_dinoclip_inference_parent_class)->query(trans, direction, query);
}

/* ---- frames: in through the driver, out in order ---- */

// No exception crosses into GStreamer (allocation failures and the like):
// each becomes a stream error naming the element.
GstFlowReturn fenced(GstBaseTransform* trans, const std::function<GstFlowReturn(Running&)>& step) {
  Running* running = streaming_running(trans);
  if (!running) return GST_FLOW_FLUSHING;
  try {
    return step(*running);
  } catch (const std::exception& e) {
    GstElementFactory* factory = gst_element_get_factory(GST_ELEMENT(trans));
    const char* name = factory ? GST_OBJECT_NAME(factory) : G_OBJECT_TYPE_NAME(trans);
    GST_ELEMENT_ERROR(trans, STREAM, FAILED, ("%s: %s", name, user_message(e).c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
}

// `buffer` is ours until the driver takes it: every other way out (no
// running state, an exception before on_frame) unrefs it here.
GstFlowReturn gst_dinoclip_inference_submit_input_buffer(GstBaseTransform* trans, gboolean, GstBuffer* buffer) {
  GstBuffer* owned = buffer;
  const GstFlowReturn ret = fenced(trans, [trans, &owned](Running& running) {
    GstDinoclipInferenceClass* klass = GST_DINOCLIP_INFERENCE_GET_CLASS(trans);
    if (klass->apply_frame_settings) klass->apply_frame_settings(GST_DINOCLIP_INFERENCE(trans), running.client.get());
    const InferenceSettings settings = inference_snapshot(trans);
    return running.driver->on_frame(std::exchange(owned, nullptr), settings);
  });
  if (owned) gst_buffer_unref(owned);
  return ret;
}

GstFlowReturn gst_dinoclip_inference_generate_output(GstBaseTransform* trans, GstBuffer** out) {
  return fenced(trans,
                [trans, out](Running& running) { return running.driver->next_output(out, inference_snapshot(trans)); });
}

/* ---- state changes ---- */

// NULL->READY: the model's GPU context goes to the pipeline (HAVE_CONTEXT)
// before upstream's NULL->READY (state changes reach downstream elements
// first), where a CUDA decoder looks for one: it then adopts the context and
// its frames need no copy. The context query is answered too (gst_dinoclip_inference_query).
GstStateChangeReturn gst_dinoclip_inference_change_state(GstElement* element, GstStateChange transition) {
#if defined(DINOCLIP_WITH_GST_CUDA)
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    dinoclip::gst::share_cuda_context(element, model_cuda_device(element));
  }
#endif
  return GST_ELEMENT_CLASS(gst_dinoclip_inference_parent_class)->change_state(element, transition);
}

/* ---- GObject ---- */

void gst_dinoclip_inference_finalize(GObject* object) {
  delete &priv(object);
  G_OBJECT_CLASS(gst_dinoclip_inference_parent_class)->finalize(object);
}

}  // namespace

static void gst_dinoclip_inference_class_init(GstDinoclipInferenceClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(dinoclip_inference_debug, "dinoclipinference", 0, "dinoclip inference elements' base");

  gobject_class->set_property = gst_dinoclip_inference_set_property;
  gobject_class->get_property = gst_dinoclip_inference_get_property;
  gobject_class->finalize = gst_dinoclip_inference_finalize;

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  element_class->change_state = gst_dinoclip_inference_change_state;
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_INFERENCE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_DEVICE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_PRECISION, GstPluginAPIFlags(0));

  trans_class->passthrough_on_same_caps = FALSE;  // the buffer must be writable to take the meta
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->start = gst_dinoclip_inference_start;
  trans_class->stop = gst_dinoclip_inference_stop;
  trans_class->set_caps = gst_dinoclip_inference_set_caps;
  trans_class->transform_caps = gst_dinoclip_inference_transform_caps;
  trans_class->accept_caps = gst_dinoclip_inference_accept_caps;
  trans_class->propose_allocation = gst_dinoclip_inference_propose_allocation;
  trans_class->src_event = gst_dinoclip_inference_src_event;
  trans_class->sink_event = gst_dinoclip_inference_sink_event;
  trans_class->query = gst_dinoclip_inference_query;
  trans_class->submit_input_buffer = gst_dinoclip_inference_submit_input_buffer;
  trans_class->generate_output = gst_dinoclip_inference_generate_output;
}

static void gst_dinoclip_inference_init(GstDinoclipInference* self) {
  static_cast<GstDinoclipInferencePrivate*>(gst_dinoclip_inference_get_instance_private(self))->impl = new Private;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);  // we skip inference, not frames
}

void gst_dinoclip_inference_class_install_properties(GstDinoclipInferenceClass* klass,
                                                     const dinoclip::gst::InferenceElementTexts* texts, guint optional,
                                                     GstDebugCategory* category) {
  using dinoclip::gst::kParamLoadTime;
  using dinoclip::gst::kParamReadOnly;
  klass->texts = texts;
  klass->debug = category;
  auto* gobject_class = G_OBJECT_CLASS(klass);
  g_object_class_install_property(gobject_class, PROP_MODEL,
                                  g_param_spec_string("model", "Model", texts->model_blurb, nullptr, kParamLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_enum("device", "Device",
                        "Where the model runs: auto = cuda when this build and machine have it, else cpu. "
                        "Applied in READY->PAUSED",
                        GST_TYPE_DINOCLIP_DEVICE, GST_DINOCLIP_DEVICE_AUTO, kParamLoadTime));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision", texts->precision_blurb, GST_TYPE_DINOCLIP_PRECISION,
                        GST_DINOCLIP_PRECISION_FP32, kParamLoadTime));
  if (optional & dinoclip::gst::kInferenceThreads) {
    g_object_class_install_property(
        gobject_class, PROP_THREADS,
        g_param_spec_int("threads", "Threads",
                         "CPU threads for LibTorch's intra-op pool, 1-1024; 0 leaves the process setting as it is. "
                         "Process-wide (LibTorch has one pool). Applied in READY->PAUSED",
                         0, 1024, 0, kParamLoadTime));
  }
  g_object_class_install_property(
      gobject_class, PROP_INFERENCES,
      g_param_spec_uint64("inferences", "Inferences", texts->inferences_blurb, 0, G_MAXUINT64, 0, kParamReadOnly));
  if (optional & dinoclip::gst::kInferenceSkippedInferences) {
    g_object_class_install_property(
        gobject_class, PROP_SKIPPED_INFERENCES,
        g_param_spec_uint64("skipped-inferences", "Skipped inferences",
                            "Inferences skipped on late frames (see skip-late) since READY->PAUSED (read-only)", 0,
                            G_MAXUINT64, 0, kParamReadOnly));
  }
  dinoclip::gst::install_inference_properties(gobject_class, PROP_INFERENCE_FIRST);
}

dinoclip::gst::ModelSettings gst_dinoclip_inference_settings(GstDinoclipInference* self) { return snapshot(self); }

gboolean gst_dinoclip_inference_refuse_while_loaded(GstDinoclipInference* self, const char* property) {
  const char* reason = refusal(priv(self));
  if (!reason) return FALSE;
  dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_DINOCLIP_INFERENCE_GET_CLASS(self)->debug, property,
                                       reason);
  return TRUE;
}
