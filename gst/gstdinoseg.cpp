// dinoseg: properties, caps, holding frames until the annotated one, and
// bus messages. Training, inference and IoU are lib/tasks (VideoSegmenter,
// IouSeries); this file only moves buffers and reports.
#include "gstdinoseg.h"

#include <gst/dinoclip/dinoclip-meta.h>
#include <gst/video/video.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/user_message.h"
#include "enums.h"
#include "features_query.h"
#include "frame_position.h"
#include "inference_driver.h"
#include "io/file_util.h"
#include "io/frame_pattern.h"
#include "io/image_file.h"
#include "meta_tensors.h"
#include "models/device.h"
#include "refused_property.h"
#include "training_progress.h"
#include "roi_params.h"
#include "tasks/iou.h"
#include "tasks/label_grid.h"
#include "tasks/video_segmenter.h"

GST_DEBUG_CATEGORY_STATIC(dino_seg_debug);
#define GST_CAT_DEFAULT dino_seg_debug

namespace {

using namespace dinoclip;

constexpr guint kDefaultMaxHeldFrames = 300;

enum {
  PROP_0,
  PROP_ANNOTATION,
  PROP_ANNOTATION_FRAME,
  PROP_ANNOTATION_IMAGE,
  PROP_NUM_CLASSES,
  PROP_MAX_HELD_FRAMES,
  PROP_METHOD,
  PROP_HEAD,
  PROP_HIDDEN_SIZE,
  PROP_NUM_ITERS,
  PROP_LEARNING_RATE,
  PROP_WEIGHT_DECAY,
  PROP_SEED,
  PROP_PATCH_LABELS,
  PROP_SAVE_HEAD,
  PROP_LOAD_HEAD,
  PROP_GROUND_TRUTH,
  PROP_CONTEXT_FRAMES,
  PROP_TOPK,
  PROP_TOPK_OLD_NAME,  // "topk", deprecated spelling of "top-k"
  PROP_NEIGHBORHOOD,
  PROP_TEMPERATURE,
  PROP_DEVICE,
  PROP_TRAINED,
  PROP_TRAIN_ACCURACY,
  PROP_FRAMES_SEGMENTED,
};

// Property values, as the user set them.
struct Settings {
  std::string annotation;
  guint annotation_frame = 0;
  std::string annotation_image;
  guint num_classes = 0;
  guint max_held_frames = kDefaultMaxHeldFrames;
  GstDinoSegMethod method = GST_DINO_SEG_METHOD_HEAD;
  GstDinoSegHead head = GST_DINO_SEG_HEAD_LINEAR;
  gint hidden_size = SegHeadConfig().hidden;
  gint num_iters = SegHeadConfig().num_iters;
  gdouble learning_rate = SegHeadConfig().learning_rate;
  gdouble weight_decay = SegHeadConfig().weight_decay;
  guint64 seed = 0;
  GstDinoSegPatchLabels patch_labels = GST_DINO_SEG_PATCH_LABELS_SOFT;
  std::string save_head;
  std::string load_head;
  std::string ground_truth;
  gint context_frames = LabelPropagator::Config().context_frames;
  gint topk = LabelPropagator::Config().topk;
  gint neighborhood = LabelPropagator::Config().neighborhood;
  gdouble temperature = LabelPropagator::Config().temperature;
  GstDinoDevice device = GST_DINO_DEVICE_AUTO;
};

// A buffer (with its stream frame number) or a serialized event held back
// while waiting for the annotated frame, in arrival order.
struct Held {
  GstMiniObject* object;
  int64_t frame;  // -1 for events
};

// Owns a buffer reference until it is pushed or held, so that an exception
// on the way never leaks it.
struct BufferUnref {
  void operator()(GstBuffer* buffer) const { gst_buffer_unref(buffer); }
};
using BufferPtr = std::unique_ptr<GstBuffer, BufferUnref>;

// What exists between READY->PAUSED and PAUSED->READY.
struct State {
  Settings settings;  // snapshot at READY->PAUSED
  VideoSegmenterConfig config;
  c10::Device device = c10::Device(c10::kCPU);
  std::optional<Image> annotation;  // the mask, when training from one
  std::optional<FramePattern> ground_truth;
  std::optional<VideoSegmenter> segmenter;
  gint width = 0, height = 0;  // from the caps
  GstSegment segment;            // the latest SEGMENT event's, for stream times
  FrameNumbering numbering;      // frame numbers from offsets or timestamps (docs/elements/dinoseg.md)
  int64_t frames_received = 0;   // buffers since READY->PAUSED, for messages
  int64_t current_frame = -1;    // the number of the buffer being handled
  std::deque<Held> held;
  IouSeries ious;
  GstDinoFeatures* last_features = nullptr;  // to recognise carried features
  GstDinoSegmentation* last_segmentation = nullptr;
  at::Tensor last_mask;  // last_segmentation's class map, to score carried frames

  State() { gst_segment_init(&segment, GST_FORMAT_TIME); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    drop_held();
    forget_last();
  }

  void drop_held() {
    for (const Held& h : held) gst_mini_object_unref(h.object);
    held.clear();
  }
  void forget_last() {
    if (last_segmentation) gst_dino_segmentation_unref(last_segmentation);
    last_segmentation = nullptr;
    last_features = nullptr;
    last_mask = at::Tensor();
  }
  bool holding() const { return !segmenter && !held.empty(); }
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  std::unique_ptr<State> state;  // streaming thread, between READY->PAUSED and PAUSED->READY
  std::atomic<bool> trained{false};
  std::atomic<double> train_accuracy{0.0};
  std::atomic<guint64> frames_segmented{0};
};

}  // namespace

struct _GstDinoseg {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  Private* priv;
};

G_DEFINE_TYPE(GstDinoseg, gst_dinoseg, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(dinoseg, "dinoseg", GST_RANK_NONE, GST_TYPE_DINOSEG)

namespace {

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));

Settings settings_snapshot(GstDinoseg* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

/* ---- READY -> PAUSED: check and load what the user named ---- */

VideoSegmenterConfig segmenter_config(const Settings& s) {
  VideoSegmenterConfig config;
  config.method = dinoclip::gst::to_seg_method(s.method);
  config.num_classes = int(s.num_classes);
  config.head.kind = dinoclip::gst::to_head_kind(s.head);
  config.head.hidden = s.hidden_size;
  config.head.num_iters = s.num_iters;
  config.head.learning_rate = s.learning_rate;
  config.head.weight_decay = s.weight_decay;
  config.head.seed = s.seed;
  config.head.labels = dinoclip::gst::to_label_mode(s.patch_labels);
  config.propagation.context_frames = s.context_frames;
  config.propagation.topk = s.topk;
  config.propagation.neighborhood = s.neighborhood;
  config.propagation.temperature = s.temperature;
  return config;
}

// Contradictory or missing settings, as one message saying what to change.
void check_settings(const Settings& s) {
  const bool propagation = s.method == GST_DINO_SEG_METHOD_PROPAGATION;
  if (!s.load_head.empty()) {
    if (!s.annotation.empty() || !s.annotation_image.empty()) {
      throw Error("set either load-head (a trained head) or annotation (train a new one), not both");
    }
    if (propagation) throw Error("load-head needs method=head; propagation has no head (set annotation instead)");
    if (!s.save_head.empty()) throw Error("load-head and save-head together would only copy the file: drop save-head");
    return;
  }
  if (s.annotation.empty()) {
    throw Error("nothing to segment with: set annotation=MASK.png (the mask of frame annotation-frame, or of "
                "annotation-image) or load-head=HEAD.safetensors");
  }
  if (propagation && !s.save_head.empty()) throw Error("save-head needs method=head; propagation trains no head");
  if (!s.save_head.empty() && file_exists(s.save_head)) {
    throw Error("save-head '" + s.save_head + "' already exists and would be overwritten: remove it, choose "
                "another path, or reuse it with load-head");
  }
}

// A ground-truth pattern in a folder that does not exist would only give "mean=nan" at EOS.
void check_ground_truth_folder(const std::string& setting, const FramePattern& pattern) {
  const std::string example = pattern.path(0);
  const size_t slash = example.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : example.substr(0, std::max<size_t>(slash, 1));
  if (!directory_exists(folder)) {
    throw Error("ground-truth '" + setting + "': the folder '" + folder + "' does not exist: point ground-truth at "
                "the folder of the per-frame masks (e.g. DAVIS/Annotations/480p/dog/%05d.png)");
  }
}

std::unique_ptr<State> prepare_state(const Settings& settings) {
  check_settings(settings);
  auto state = std::make_unique<State>();
  state->settings = settings;
  state->config = segmenter_config(settings);
  if (settings.method == GST_DINO_SEG_METHOD_PROPAGATION) LabelPropagator check(state->config.propagation);
  state->device = resolve_device(dinoclip::gst::to_device_choice(settings.device));
  if (!settings.ground_truth.empty()) {
    state->ground_truth = FramePattern::parse(settings.ground_truth);
    check_ground_truth_folder(settings.ground_truth, *state->ground_truth);
  }
  if (!settings.load_head.empty()) {
    state->segmenter = VideoSegmenter::from_head(SegHead::load(settings.load_head, state->device));
    return state;
  }
  try {
    state->annotation = read_label_png(settings.annotation);
  } catch (const std::exception& e) {
    throw Error(std::string("cannot use annotation: ") + e.what() +
                " (a DAVIS palette PNG or an 8-bit grey PNG of class ids)");
  }
  return state;
}

/* ---- messages ---- */

void post_element_message(GstDinoseg* self, GstStructure* structure) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), structure));
}

void post_trained(GstDinoseg* self, const VideoSegmenter& segmenter, int64_t frame) {
  GstStructure* s = gst_structure_new("dinoseg-trained", "method", G_TYPE_STRING, seg_method_name(segmenter.method()),
                                      "classes", G_TYPE_INT, segmenter.num_classes(), "frame", G_TYPE_INT64, frame,
                                      nullptr);
  if (segmenter.head()) {
    const TrainReport& report = segmenter.head()->report();
    gst_structure_set(s, "accuracy", G_TYPE_DOUBLE, report.train_accuracy, "loss", G_TYPE_DOUBLE, report.final_loss,
                      "milliseconds", G_TYPE_DOUBLE, report.milliseconds, nullptr);
    self->priv->train_accuracy = report.train_accuracy;
  }
  self->priv->trained = true;
  post_element_message(self, s);
}

void post_summary(GstDinoseg* self, const IouSummary& summary) {
  post_element_message(self, gst_structure_new("dinoseg-summary", "frames", G_TYPE_INT64, summary.frames, "mean",
                                               G_TYPE_DOUBLE, summary.mean, "first", G_TYPE_DOUBLE, summary.first,
                                               "last", G_TYPE_DOUBLE, summary.last, "first-frame", G_TYPE_INT64,
                                               summary.first_frame, "last-frame", G_TYPE_INT64, summary.last_frame,
                                               nullptr));
  GST_INFO_OBJECT(self, "IoU over %" G_GINT64_FORMAT " frames: mean %.4f, first %.4f, last %.4f", summary.frames,
                  summary.mean, summary.first, summary.last);
}

/* ---- per frame ---- */

GstDinoFeatures* features_of(GstBuffer* buffer, bool* carried) {
  GstDinoFeaturesMeta* meta = gst_buffer_get_dino_features_meta(buffer);
  if (!meta) {
    throw Error("a frame has no DINO features: put dinofeatures before dinoseg "
                "('... ! dinofeatures model=dino.pth ! dinoseg annotation=mask.png ! ...')");
  }
  if (carried) *carried = meta->carried;
  return meta->features;
}

PatchGrid patch_grid(GstDinoFeatures* features, c10::Device device) {
  const GstDinoFeaturesShape* shape = gst_dino_features_get_shape(features);
  at::Tensor tokens = dinoclip::gst::patch_tokens(features);
  if (!tokens.defined()) throw Error("the DINO features could not be read (copy to host memory failed)");
  return PatchGrid{tokens.to(device), int(shape->grid_height), int(shape->grid_width)};
}

// The class map as the meta's payload (copied; the tensor may be freed after).
GstDinoSegmentation* segmentation_payload(const at::Tensor& mask, int num_classes) {
  const at::Tensor host = mask.to(at::kCPU).contiguous();
  return gst_dino_segmentation_new(guint(host.size(1)), guint(host.size(0)), guint(num_classes),
                                   host.data_ptr<uint8_t>(), nullptr);
}

// Per-frame IoU against the ground truth, when it has a file for this frame.
// Returns the per-class IoUs (indexed by class id, NaN where undefined) for
// the ROI metas; empty without a ground truth for this frame.
std::vector<double> report_iou(GstDinoseg* self, State& state, const at::Tensor& mask, int64_t frame,
                               GstClockTime pts) {
  if (!state.ground_truth) return {};
  const std::string path = state.ground_truth->path(frame);
  if (!file_exists(path)) {
    GST_DEBUG_OBJECT(self, "no ground truth for frame %" G_GINT64_FORMAT " (%s)", frame, path.c_str());
    return {};
  }
  const Image truth = read_label_png(path);
  const Image predicted = mask_tensor_to_image(mask);
  const double iou = mean_iou(predicted, truth);
  state.ious.add(frame, iou);
  post_element_message(self, gst_structure_new("dinoseg-iou", "frame", G_TYPE_INT64, frame, "timestamp",
                                               G_TYPE_UINT64, guint64(pts), "iou", G_TYPE_DOUBLE, iou, nullptr));
  return per_class_iou(predicted, truth, /*num_classes=*/256);
}

void attach(GstDinoseg* self, State& state, GstBuffer* buffer, GstDinoFeatures* features,
            GstDinoSegmentation* segmentation, bool carried) {
  gst_buffer_add_dino_segmentation_meta(buffer, segmentation, carried);
  state.forget_last();
  state.last_features = features;
  state.last_segmentation = segmentation;  // takes the caller's reference
  ++self->priv->frames_segmented;
}

// Segments `buffer` (stream frame `frame`) with `mask` when given (frames
// segmented in a batch), else through the segmenter, and pushes it.
GstFlowReturn segment_and_push(GstDinoseg* self, State& state, BufferPtr owned, int64_t frame,
                               at::Tensor mask = at::Tensor()) {
  owned.reset(gst_buffer_make_writable(owned.release()));
  GstBuffer* buffer = owned.get();
  bool carried = false;
  GstDinoFeatures* features = features_of(buffer, &carried);
  if (carried && features == state.last_features && state.last_segmentation && !mask.defined()) {
    // dinofeatures' interval: same features, same answer; no model step, no propagation step.
    gst_buffer_add_dino_segmentation_meta(buffer, state.last_segmentation, TRUE);
    // Carried frames count in the IoU too.
    const std::vector<double> class_iou = report_iou(self, state, state.last_mask, frame, GST_BUFFER_PTS(buffer));
    dinoclip::gst::add_segmentation_rois(buffer, state.last_segmentation, state.width, state.height, class_iou);
  } else {
    if (!mask.defined()) mask = state.segmenter->segment(patch_grid(features, state.device), state.height, state.width);
    attach(self, state, buffer, features, segmentation_payload(mask, state.segmenter->num_classes()), false);
    state.last_mask = mask;
    const std::vector<double> class_iou = report_iou(self, state, mask, frame, GST_BUFFER_PTS(buffer));
    dinoclip::gst::add_segmentation_rois(buffer, state.last_segmentation, state.width, state.height, class_iou);
  }
  return gst_pad_push(self->srcpad, owned.release());
}

void check_annotation_size(const State& state, int width, int height, const char* of_what) {
  if (!state.annotation) return;
  if (state.annotation->width != width || state.annotation->height != height) {
    throw Error("the annotation '" + state.settings.annotation + "' is " + std::to_string(state.annotation->width) +
                "x" + std::to_string(state.annotation->height) + " but " + of_what + " is " + std::to_string(width) +
                "x" + std::to_string(height) + ": the mask must have the size of the frame it annotates");
  }
}

ProgressCallback progress_messages(GstDinoseg* self) {
  const int total = self->priv->state->settings.num_iters;
  if (total > 0) dinoclip::gst::post_training_progress(GST_ELEMENT(self), 0, total, NAN);
  return [self, total](int iteration, double loss) {
    GST_DEBUG_OBJECT(self, "training: step %d/%d, loss %.5f", iteration, total, loss);
    dinoclip::gst::post_training_progress(GST_ELEMENT(self), iteration, total, loss);
    post_element_message(self, gst_structure_new("dinoseg-progress", "iteration", G_TYPE_INT, iteration,
                                                 "iterations", G_TYPE_INT, total, "loss", G_TYPE_DOUBLE, loss,
                                                 nullptr));
  };
}

void finish_training(GstDinoseg* self, State& state, int64_t frame) {
  post_trained(self, *state.segmenter, frame);
  if (!state.settings.save_head.empty() && state.segmenter->head()) {
    state.segmenter->head()->save(state.settings.save_head);
    GST_INFO_OBJECT(self, "saved the head to %s", state.settings.save_head.c_str());
  }
}

// annotation-image: the picture's features from upstream dinofeatures, then training.
void train_from_annotation_image(GstDinoseg* self, State& state) {
  GstQuery* query = dinoclip::gst::features_for_image_query_new(state.settings.annotation_image);
  const bool answered = gst_pad_peer_query(self->sinkpad, query);
  std::string error;
  GstDinoFeatures* features = dinoclip::gst::features_for_image_result(query, answered, &error);
  gst_query_unref(query);
  if (!features) throw Error("annotation-image '" + state.settings.annotation_image + "': " + error);
  try {
    const Image picture = read_image(state.settings.annotation_image);
    check_annotation_size(state, picture.width, picture.height, "annotation-image");
    state.segmenter = VideoSegmenter::from_annotation(patch_grid(features, state.device), *state.annotation,
                                                      state.config, progress_messages(self));
  } catch (...) {
    gst_dino_features_unref(features);
    throw;
  }
  gst_dino_features_unref(features);
  finish_training(self, state, -1);
}

// The annotated frame arrived: train, then let the held frames and it go, in order.
GstFlowReturn train_and_release(GstDinoseg* self, State& state, BufferPtr buffer, int64_t frame) {
  check_annotation_size(state, state.width, state.height, "the video");
  bool carried = false;
  features_of(buffer.get(), &carried);
  if (carried) {
    throw Error("annotation-frame " + std::to_string(frame) + " arrived with DINO features carried from an earlier "
                "frame (dinofeatures computes only every interval-th frame), so the mask would be learnt on another "
                "frame's features: annotate a frame dinofeatures computes (a multiple of its interval, counted from "
                "the first frame), or set dinofeatures interval=1");
  }
  GST_INFO_OBJECT(self, "frame %" G_GINT64_FORMAT " is the annotated one: setting up %s (%zu frames held)", frame,
                  seg_method_name(state.config.method), state.held.size());
  state.segmenter = VideoSegmenter::from_annotation(patch_grid(features_of(buffer.get(), nullptr), state.device),
                                                    *state.annotation, state.config, progress_messages(self));
  finish_training(self, state, frame);

  std::vector<PatchGrid> preceding;
  for (const Held& h : state.held) {
    if (h.frame >= 0) preceding.push_back(patch_grid(features_of(GST_BUFFER(h.object), nullptr), state.device));
  }
  std::vector<at::Tensor> masks = state.segmenter->segment_preceding(preceding, state.height, state.width);
  std::deque<Held> held;
  held.swap(state.held);
  size_t next_mask = 0;
  GstFlowReturn ret = GST_FLOW_OK;
  for (const Held& h : held) {
    if (ret != GST_FLOW_OK) {
      gst_mini_object_unref(h.object);
    } else if (h.frame < 0) {
      gst_pad_push_event(self->srcpad, GST_EVENT(h.object));
    } else {
      ret = segment_and_push(self, state, BufferPtr(GST_BUFFER(h.object)), h.frame, masks[next_mask++]);
    }
  }
  if (ret != GST_FLOW_OK) return ret;
  return segment_and_push(self, state, std::move(buffer), frame);
}

GstFlowReturn hold(GstDinoseg* self, State& state, BufferPtr buffer, int64_t frame) {
  features_of(buffer.get(), nullptr);  // fail now, not at the annotated frame, when dinofeatures is missing
  const guint limit = state.settings.max_held_frames;
  if (state.held.size() >= limit) {
    throw Error("annotation-frame " + std::to_string(state.settings.annotation_frame) + " is more than max-held-frames=" +
                std::to_string(limit) + " frames into the stream, and frames before it are held in memory: raise "
                "max-held-frames, or annotate an earlier frame");
  }
  GST_LOG_OBJECT(self, "holding frame %" G_GINT64_FORMAT " until frame %u is annotated", frame,
                 state.settings.annotation_frame);
  state.held.push_back(Held{GST_MINI_OBJECT(buffer.release()), frame});
  return GST_FLOW_OK;
}

GstFlowReturn handle_buffer(GstDinoseg* self, State& state, BufferPtr buffer) {
  if (state.width <= 0) throw Error("a buffer arrived before the caps (no frame size)");
  ++state.frames_received;
  const int64_t frame = state.numbering.number(dinoclip::gst::frame_position_of(buffer.get(), state.segment));
  state.current_frame = frame;
  if (!state.segmenter && !state.settings.annotation_image.empty()) train_from_annotation_image(self, state);
  if (state.segmenter) return segment_and_push(self, state, std::move(buffer), frame);
  if (frame < int64_t(state.settings.annotation_frame)) return hold(self, state, std::move(buffer), frame);
  if (frame > int64_t(state.settings.annotation_frame)) {
    throw Error("annotation-frame " + std::to_string(state.settings.annotation_frame) + " never arrived: the stream "
                "went on to frame " + std::to_string(frame) + " (a seek past it, or a frame the decoder dropped), "
                "so there is no frame to learn the mask on: annotate a frame the stream delivers");
  }
  return train_and_release(self, state, std::move(buffer), frame);
}

GstFlowReturn gst_dinoseg_chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  auto* self = GST_DINOSEG(parent);
  BufferPtr owned(buffer);
  State* state = self->priv->state.get();
  if (!state) return GST_FLOW_FLUSHING;
  try {
    return handle_buffer(self, *state, std::move(owned));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s", user_message(e).c_str()),
                      ("frame %" G_GINT64_FORMAT ", method %s", state->current_frame,
                       seg_method_name(state->config.method)));
    return GST_FLOW_ERROR;
  }
}

/* ---- events ---- */

bool set_caps(GstDinoseg* self, State& state, GstCaps* caps) {
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
bool handle_eos(GstDinoseg* self, State& state, GstEvent* event) {
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
  if (state.ground_truth) {
    const IouSummary summary = state.ious.summary();
    if (summary.frames == 0) {
      GST_ELEMENT_WARNING(self, RESOURCE, NOT_FOUND,
                          ("No frame had a ground-truth file, so no IoU was measured (looked for files like '%s'): "
                           "check the ground-truth pattern's folder and numbering (frames are counted from 0)",
                           state.ground_truth->path(std::max<int64_t>(state.current_frame, 0)).c_str()),
                          (nullptr));
    }
    post_summary(self, summary);
  }
  return gst_pad_push_event(self->srcpad, event);
}

gboolean gst_dinoseg_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  auto* self = GST_DINOSEG(parent);
  State* state = self->priv->state.get();
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
  if (state->holding() && GST_EVENT_IS_SERIALIZED(event) && GST_EVENT_TYPE(event) != GST_EVENT_FLUSH_STOP) {
    state->held.push_back(Held{GST_MINI_OBJECT(event), -1});  // keep its place among the held frames
    return TRUE;
  }
  return gst_pad_event_default(pad, parent, event);
}

// LATENCY: upstream's plus the frames held before the annotated one
// (annotation-frame N holds N frames; a loaded head or annotation-image holds none).
gboolean gst_dinoseg_src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_DINOSEG(parent);
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY) return gst_pad_query_default(pad, parent, query);
  const Settings s = settings_snapshot(self);
  const guint held = s.load_head.empty() && s.annotation_image.empty() ? s.annotation_frame : 0;
  return dinoclip::gst::add_held_frames_latency(self->sinkpad, query, held);
}

/* ---- state changes ---- */

GstStateChangeReturn gst_dinoseg_change_state(GstElement* element, GstStateChange transition) {
  auto* self = GST_DINOSEG(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    const Settings settings = settings_snapshot(self);
    try {
      self->priv->state = prepare_state(settings);
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", user_message(e).c_str()), (nullptr));
      return GST_STATE_CHANGE_FAILURE;
    }
    const State& state = *self->priv->state;
    if (state.annotation) {
      const std::string warning = label_map_warning(*state.annotation, state.settings.annotation);
      if (!warning.empty()) GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", warning.c_str()), (nullptr));
    }
    self->priv->trained = bool(self->priv->state->segmenter);
    self->priv->train_accuracy = 0;
    self->priv->frames_segmented = 0;
  }
  const GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(gst_dinoseg_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) self->priv->state.reset();  // pads are inactive now
  return ret;
}

/* ---- properties ---- */

bool settings_are_fixed(GstDinoseg* self, const char* property) {
  if (!self->priv->state) return false;
  dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, property);
  return true;
}

std::string string_of(const GValue* value) {
  const gchar* s = g_value_get_string(value);
  return s ? s : "";
}

void gst_dinoseg_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOSEG(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  if (settings_are_fixed(self, pspec->name)) return;
  Settings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_ANNOTATION: s.annotation = string_of(value); break;
    case PROP_ANNOTATION_FRAME: s.annotation_frame = g_value_get_uint(value); break;
    case PROP_ANNOTATION_IMAGE: s.annotation_image = string_of(value); break;
    case PROP_NUM_CLASSES: s.num_classes = g_value_get_uint(value); break;
    case PROP_MAX_HELD_FRAMES: s.max_held_frames = g_value_get_uint(value); break;
    case PROP_METHOD: s.method = GstDinoSegMethod(g_value_get_enum(value)); break;
    case PROP_HEAD: s.head = GstDinoSegHead(g_value_get_enum(value)); break;
    case PROP_HIDDEN_SIZE: s.hidden_size = g_value_get_int(value); break;
    case PROP_NUM_ITERS: s.num_iters = g_value_get_int(value); break;
    case PROP_LEARNING_RATE: s.learning_rate = g_value_get_double(value); break;
    case PROP_WEIGHT_DECAY: s.weight_decay = g_value_get_double(value); break;
    case PROP_SEED: s.seed = g_value_get_uint64(value); break;
    case PROP_PATCH_LABELS: s.patch_labels = GstDinoSegPatchLabels(g_value_get_enum(value)); break;
    case PROP_SAVE_HEAD: s.save_head = string_of(value); break;
    case PROP_LOAD_HEAD: s.load_head = string_of(value); break;
    case PROP_GROUND_TRUTH: s.ground_truth = string_of(value); break;
    case PROP_CONTEXT_FRAMES: s.context_frames = g_value_get_int(value); break;
    case PROP_TOPK:
    case PROP_TOPK_OLD_NAME: s.topk = g_value_get_int(value); break;
    case PROP_NEIGHBORHOOD: s.neighborhood = g_value_get_int(value); break;
    case PROP_TEMPERATURE: s.temperature = g_value_get_double(value); break;
    case PROP_DEVICE: s.device = GstDinoDevice(g_value_get_enum(value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

void set_string(GValue* value, const std::string& s) { g_value_set_string(value, s.empty() ? nullptr : s.c_str()); }

void gst_dinoseg_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOSEG(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_ANNOTATION: set_string(value, s.annotation); break;
    case PROP_ANNOTATION_FRAME: g_value_set_uint(value, s.annotation_frame); break;
    case PROP_ANNOTATION_IMAGE: set_string(value, s.annotation_image); break;
    case PROP_NUM_CLASSES: g_value_set_uint(value, s.num_classes); break;
    case PROP_MAX_HELD_FRAMES: g_value_set_uint(value, s.max_held_frames); break;
    case PROP_METHOD: g_value_set_enum(value, s.method); break;
    case PROP_HEAD: g_value_set_enum(value, s.head); break;
    case PROP_HIDDEN_SIZE: g_value_set_int(value, s.hidden_size); break;
    case PROP_NUM_ITERS: g_value_set_int(value, s.num_iters); break;
    case PROP_LEARNING_RATE: g_value_set_double(value, s.learning_rate); break;
    case PROP_WEIGHT_DECAY: g_value_set_double(value, s.weight_decay); break;
    case PROP_SEED: g_value_set_uint64(value, s.seed); break;
    case PROP_PATCH_LABELS: g_value_set_enum(value, s.patch_labels); break;
    case PROP_SAVE_HEAD: set_string(value, s.save_head); break;
    case PROP_LOAD_HEAD: set_string(value, s.load_head); break;
    case PROP_GROUND_TRUTH: set_string(value, s.ground_truth); break;
    case PROP_CONTEXT_FRAMES: g_value_set_int(value, s.context_frames); break;
    case PROP_TOPK:
    case PROP_TOPK_OLD_NAME: g_value_set_int(value, s.topk); break;
    case PROP_NEIGHBORHOOD: g_value_set_int(value, s.neighborhood); break;
    case PROP_TEMPERATURE: g_value_set_double(value, s.temperature); break;
    case PROP_DEVICE: g_value_set_enum(value, s.device); break;
    case PROP_TRAINED: g_value_set_boolean(value, self->priv->trained.load()); break;
    case PROP_TRAIN_ACCURACY: g_value_set_double(value, self->priv->train_accuracy.load()); break;
    case PROP_FRAMES_SEGMENTED: g_value_set_uint64(value, self->priv->frames_segmented.load()); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

constexpr GParamFlags kSetting = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
constexpr GParamFlags kReadOnly = GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

void install_string(GObjectClass* klass, guint id, const char* name, const char* nick, const char* blurb) {
  g_object_class_install_property(klass, id, g_param_spec_string(name, nick, blurb, nullptr, kSetting));
}

void install_annotation_properties(GObjectClass* klass) {
  install_string(klass, PROP_ANNOTATION, "annotation", "Annotation",
                 "Mask PNG of the annotated frame: DAVIS palette-indexed or 8-bit grey, pixel value = class id "
                 "(0 = background), the frame's size. Classes = largest id + 1 unless num-classes is set");
  g_object_class_install_property(
      klass, PROP_ANNOTATION_FRAME,
      g_param_spec_uint("annotation-frame", "Annotation frame",
                        "Stream frame (from 0) that 'annotation' annotates. Earlier frames are held in memory "
                        "(see max-held-frames) and released, segmented and in order, once it is trained on",
                        0, G_MAXUINT, 0, kSetting));
  install_string(klass, PROP_ANNOTATION_IMAGE, "annotation-image",
                 "Annotation image",
                 "Train before the stream starts, from this picture (PNG/JPEG) and its mask 'annotation', instead of "
                 "a stream frame: for live cameras. Its features come from the upstream dinofeatures' model. "
                 "annotation-frame is then ignored");
  g_object_class_install_property(
      klass, PROP_NUM_CLASSES,
      g_param_spec_uint("num-classes", "Number of classes",
                        "Classes including background, 2-256; 0 = the annotation's largest id + 1. An annotation id "
                        ">= this is an error",
                        0, 256, 0, kSetting));
  g_object_class_install_property(
      klass, PROP_MAX_HELD_FRAMES,
      g_param_spec_uint("max-held-frames", "Max held frames",
                        "Most frames held in memory before annotation-frame arrives; more is an error (raise it or "
                        "annotate an earlier frame)",
                        0, 100000, kDefaultMaxHeldFrames, kSetting));
}

void install_training_properties(GObjectClass* klass) {
  g_object_class_install_property(
      klass, PROP_METHOD,
      g_param_spec_enum("method", "Method", "How frames are segmented from the annotation", GST_TYPE_DINO_SEG_METHOD,
                        GST_DINO_SEG_METHOD_HEAD, kSetting));
  g_object_class_install_property(klass, PROP_HEAD,
                                  g_param_spec_enum("head", "Head", "The head trained with method=head on the annotated frame's patch features",
                                                    GST_TYPE_DINO_SEG_HEAD, GST_DINO_SEG_HEAD_LINEAR, kSetting));
  const SegHeadConfig defaults;
  g_object_class_install_property(
      klass, PROP_HIDDEN_SIZE,
      g_param_spec_int("hidden-size", "Hidden size", "Width of head=mlp's hidden layer (unused by head=linear)", 1, 8192, defaults.hidden,
                       kSetting));
  g_object_class_install_property(
      klass, PROP_NUM_ITERS,
      g_param_spec_int("num-iters", "Iterations",
                       "Full-batch AdamW steps on the annotated frame's patches (0 = an untrained head, a baseline)",
                       0, 1000000, defaults.num_iters, kSetting));
  g_object_class_install_property(
      klass, PROP_LEARNING_RATE,
      g_param_spec_double("learning-rate", "Learning rate", "AdamW step size of the head's training (the notebook's 1e-3)", 1e-8, 10.0, defaults.learning_rate,
                          kSetting));
  g_object_class_install_property(
      klass, PROP_WEIGHT_DECAY,
      g_param_spec_double("weight-decay", "Weight decay", "AdamW's decoupled weight decay of the head's training (PyTorch's default)", 0.0, 10.0,
                          defaults.weight_decay, kSetting));
  g_object_class_install_property(
      klass, PROP_SEED,
      g_param_spec_uint64("seed", "Seed", "Seed of the head's initial weights (training is otherwise deterministic)",
                          0, G_MAXUINT64, 0, kSetting));
  g_object_class_install_property(
      klass, PROP_PATCH_LABELS,
      g_param_spec_enum("patch-labels", "Patch labels",
                        "How the frame-size mask becomes per-patch training targets: soft = each patch's class "
                        "fractions (exact area coverage), majority = its most covered class",
                        GST_TYPE_DINO_SEG_PATCH_LABELS, GST_DINO_SEG_PATCH_LABELS_SOFT, kSetting));
  install_string(klass, PROP_SAVE_HEAD, "save-head", "Save head",
                 "Write the trained head here (.safetensors) after training; an existing file is an error, "
                 "never overwritten");
  install_string(klass, PROP_LOAD_HEAD, "load-head", "Load head",
                 "Segment with a head saved by save-head (same DINO model); no annotation is needed");
  g_object_class_install_property(
      klass, PROP_DEVICE,
      g_param_spec_enum("device", "Device", "Where training and inference run: auto = CUDA when available",
                        GST_TYPE_DINO_DEVICE, GST_DINO_DEVICE_AUTO, kSetting));
}

void install_propagation_properties(GObjectClass* klass) {
  const LabelPropagator::Config defaults;
  g_object_class_install_property(
      klass, PROP_CONTEXT_FRAMES,
      g_param_spec_int("context-frames", "Context frames",
                       "method=propagation: previous frames used as context besides the annotated one", 0, 100,
                       defaults.context_frames, kSetting));
  g_object_class_install_property(
      klass, PROP_TOPK,
      g_param_spec_int("top-k", "Top k", "method=propagation: most similar context patches each patch takes labels from",
                       1, 1000, defaults.topk, kSetting));
  g_object_class_install_property(
      klass, PROP_TOPK_OLD_NAME,
      g_param_spec_int("topk", "Top k (deprecated)", "Deprecated spelling of top-k (the name clipzeroshot and other "
                       "analytics elements use); sets the same value",
                       1, 1000, defaults.topk, GParamFlags(kSetting | G_PARAM_DEPRECATED)));
  g_object_class_install_property(
      klass, PROP_NEIGHBORHOOD,
      g_param_spec_int("neighborhood", "Neighbourhood",
                       "method=propagation: spatial radius in patches to look for similar patches (0 = whole frame)",
                       0, 1000, defaults.neighborhood, kSetting));
  g_object_class_install_property(
      klass, PROP_TEMPERATURE,
      g_param_spec_double("temperature", "Temperature",
                          "method=propagation: affinity = exp(cosine / temperature). 0.1 as in DINO's eval_video_segmentation.py "
                          "(lower: the best match dominates; higher: the top-k labels are averaged more evenly)",
                          1e-4, 100.0, defaults.temperature, kSetting));
}

void install_properties(GObjectClass* klass) {
  install_annotation_properties(klass);
  install_training_properties(klass);
  install_propagation_properties(klass);
  install_string(klass, PROP_GROUND_TRUTH, "ground-truth", "Ground truth",
                 "Per-frame ground-truth masks as a pattern with one integer conversion, e.g. gt/%05d.png (frame "
                 "numbers from 0): posts 'dinoseg-iou' per frame that has a file and 'dinoseg-summary' at EOS");
  g_object_class_install_property(klass, PROP_TRAINED,
                                  g_param_spec_boolean("trained", "Trained",
                                                       "Whether the segmenter is ready (read-only)", FALSE, kReadOnly));
  g_object_class_install_property(
      klass, PROP_TRAIN_ACCURACY,
      g_param_spec_double("train-accuracy", "Training accuracy",
                          "Fraction of the annotated frame's patches the trained head gets right (read-only)", 0.0,
                          1.0, 0.0, kReadOnly));
  g_object_class_install_property(
      klass, PROP_FRAMES_SEGMENTED,
      g_param_spec_uint64("frames-segmented", "Frames segmented",
                          "Frames given a new class map since READY->PAUSED (read-only)", 0, G_MAXUINT64, 0,
                          kReadOnly));
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
  install_properties(gobject_class);

  gst_element_class_set_static_metadata(
      element_class, "DINO one-shot segmentation", "Filter/Analyzer/Video",
      "Segments every frame from ONE annotated frame: trains a head on its DINO patch features (or uses DINO's "
      "label propagation) and attaches a class map (GstDinoSegmentationMeta); needs dinofeatures upstream",
      "dinoclip contributors");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_type_mark_as_plugin_api(GST_TYPE_DINO_SEG_METHOD, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINO_SEG_HEAD, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINO_SEG_PATCH_LABELS, GstPluginAPIFlags(0));
  element_class->change_state = gst_dinoseg_change_state;
}

static void gst_dinoseg_init(GstDinoseg* self) {
  self->priv = new Private;
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, gst_dinoseg_chain);
  gst_pad_set_event_function(self->sinkpad, gst_dinoseg_sink_event);
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
