#include "dinoseg/dinoseg_properties.h"

#include "common/param_flags.h"
#include "tasks/propagation.h"
#include "tasks/seg_head.h"

namespace dinoclip::gst {

using namespace dinoseg_props;

DinosegSettings::DinosegSettings() {
  const SegHeadConfig head_defaults;
  hidden_size = head_defaults.hidden;
  num_iters = head_defaults.num_iters;
  learning_rate = head_defaults.learning_rate;
  weight_decay = head_defaults.weight_decay;
  const LabelPropagator::Config propagation_defaults;
  context_frames = propagation_defaults.context_frames;
  topk = propagation_defaults.topk;
  neighborhood = propagation_defaults.neighborhood;
  temperature = propagation_defaults.temperature;
}

namespace {

void install_string(GObjectClass* klass, guint id, const char* name, const char* nick, const char* blurb) {
  g_object_class_install_property(klass, id, g_param_spec_string(name, nick, blurb, nullptr, kParamLoadTime));
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
                        0, G_MAXUINT, 0, kParamLoadTime));
  install_string(klass, PROP_ANNOTATION_IMAGE, "annotation-image", "Annotation image",
                 "Train before the stream starts, from this picture (PNG/JPEG) and its mask 'annotation', instead of "
                 "a stream frame: for live cameras. Its features come from the upstream dinofeatures' model. "
                 "annotation-frame is then ignored");
  g_object_class_install_property(
      klass, PROP_NUM_CLASSES,
      g_param_spec_uint("num-classes", "Number of classes",
                        "Classes including background, 2-256; 0 = the annotation's largest id + 1. An annotation id "
                        ">= this is an error",
                        0, 256, 0, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_MAX_HELD_FRAMES,
      g_param_spec_uint("max-held-frames", "Max held frames",
                        "Most frames held in memory before annotation-frame arrives; more is an error (raise it or "
                        "annotate an earlier frame)",
                        0, 100000, kDefaultMaxHeldFrames, kParamLoadTime));
}

void install_training_properties(GObjectClass* klass) {
  g_object_class_install_property(
      klass, PROP_METHOD,
      g_param_spec_enum("method", "Method", "How frames are segmented from the annotation",
                        GST_TYPE_DINOCLIP_DINOSEG_METHOD, GST_DINOCLIP_DINOSEG_METHOD_HEAD, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_HEAD,
      g_param_spec_enum("head", "Head", "The head trained with method=head on the annotated frame's patch features",
                        GST_TYPE_DINOCLIP_DINOSEG_HEAD, GST_DINOCLIP_DINOSEG_HEAD_LINEAR, kParamLoadTime));
  const SegHeadConfig defaults;
  g_object_class_install_property(
      klass, PROP_HIDDEN_SIZE,
      g_param_spec_int("hidden-size", "Hidden size", "Width of head=mlp's hidden layer (unused by head=linear)", 1,
                       8192, defaults.hidden, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_NUM_ITERS,
      g_param_spec_int("num-iters", "Iterations",
                       "Full-batch AdamW steps on the annotated frame's patches (0 = an untrained head, a baseline)", 0,
                       1000000, defaults.num_iters, kParamLoadTime));
  g_object_class_install_property(klass, PROP_LEARNING_RATE,
                                  g_param_spec_double("learning-rate", "Learning rate",
                                                      "AdamW step size of the head's training (the notebook's 1e-3)",
                                                      1e-8, 10.0, defaults.learning_rate, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_WEIGHT_DECAY,
      g_param_spec_double("weight-decay", "Weight decay",
                          "AdamW's decoupled weight decay of the head's training (PyTorch's default)", 0.0, 10.0,
                          defaults.weight_decay, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_SEED,
      g_param_spec_uint64("seed", "Seed", "Seed of the head's initial weights (training is otherwise deterministic)", 0,
                          G_MAXUINT64, 0, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_PATCH_LABELS,
      g_param_spec_enum("patch-labels", "Patch labels",
                        "How the frame-size mask becomes per-patch training targets: soft = each patch's class "
                        "fractions (exact area coverage), majority = its most covered class",
                        GST_TYPE_DINOCLIP_DINOSEG_PATCH_LABELS, GST_DINOCLIP_DINOSEG_PATCH_LABELS_SOFT,
                        kParamLoadTime));
  install_string(klass, PROP_SAVE_HEAD, "save-head", "Save head",
                 "Write the trained head here (.safetensors) after training; an existing file is an error, "
                 "never overwritten");
  install_string(klass, PROP_LOAD_HEAD, "load-head", "Load head",
                 "Segment with a head saved by save-head (same DINO model); no annotation is needed");
  g_object_class_install_property(
      klass, PROP_DEVICE,
      g_param_spec_enum("device", "Device", "Where training and inference run: auto = where the upstream dinofeatures left the features (its "
                        "GPU, read in place; the CPU for CPU features); cpu or cuda:N copy them there every frame",
                        GST_TYPE_DINOCLIP_DEVICE, GST_DINOCLIP_DEVICE_AUTO, kParamLoadTime));
}

void install_propagation_properties(GObjectClass* klass) {
  const LabelPropagator::Config defaults;
  g_object_class_install_property(
      klass, PROP_CONTEXT_FRAMES,
      g_param_spec_int("context-frames", "Context frames",
                       "method=propagation: previous frames used as context besides the annotated one", 0, 100,
                       defaults.context_frames, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_TOPK,
      g_param_spec_int("top-k", "Top k",
                       "method=propagation: most similar context patches each patch takes labels from", 1, 1000,
                       defaults.topk, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_TOPK_OLD_NAME,
      g_param_spec_int("topk", "Top k (deprecated)",
                       "Deprecated spelling of top-k (the name clipzeroshot and other "
                       "analytics elements use); sets the same value",
                       1, 1000, defaults.topk, GParamFlags(kParamLoadTime | G_PARAM_DEPRECATED)));
  g_object_class_install_property(
      klass, PROP_NEIGHBORHOOD,
      g_param_spec_int("neighborhood", "Neighbourhood",
                       "method=propagation: spatial radius in patches to look for similar patches (0 = whole frame)", 0,
                       1000, defaults.neighborhood, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_TEMPERATURE,
      g_param_spec_double(
          "temperature", "Temperature",
          "method=propagation: affinity = exp(cosine / temperature). 0.1 as in DINO's eval_video_segmentation.py "
          "(lower: the best match dominates; higher: the top-k labels are averaged more evenly)",
          1e-4, 100.0, defaults.temperature, kParamLoadTime));
}

std::string string_of(const GValue* value) {
  const gchar* s = g_value_get_string(value);
  return s ? s : "";
}

void set_string(GValue* value, const std::string& s) { g_value_set_string(value, s.empty() ? nullptr : s.c_str()); }

}  // namespace

void install_dinoseg_properties(GObjectClass* klass) {
  install_annotation_properties(klass);
  install_training_properties(klass);
  install_propagation_properties(klass);
  install_string(klass, PROP_GROUND_TRUTH, "ground-truth", "Ground truth",
                 "Per-frame ground-truth masks as a pattern with one integer conversion, e.g. gt/%05d.png (frame "
                 "numbers from 0): posts 'dinoseg-iou' per frame that has a file and 'dinoseg-summary' at EOS");
  g_object_class_install_property(
      klass, PROP_TRAINED,
      g_param_spec_boolean("trained", "Trained", "Whether the segmenter is ready (read-only)", FALSE, kParamReadOnly));
  g_object_class_install_property(
      klass, PROP_TRAIN_ACCURACY,
      g_param_spec_double("train-accuracy", "Training accuracy",
                          "Fraction of the annotated frame's patches the trained head gets right (read-only)", 0.0, 1.0,
                          0.0, kParamReadOnly));
  g_object_class_install_property(klass, PROP_FRAMES_SEGMENTED,
                                  g_param_spec_uint64("frames-segmented", "Frames segmented",
                                                      "Frames given a new class map since READY->PAUSED (read-only)", 0,
                                                      G_MAXUINT64, 0, kParamReadOnly));
}

bool set_dinoseg_setting(DinosegSettings& s, guint prop_id, const GValue* value) {
  switch (prop_id) {
    case PROP_ANNOTATION:
      s.annotation = string_of(value);
      return true;
    case PROP_ANNOTATION_FRAME:
      s.annotation_frame = g_value_get_uint(value);
      return true;
    case PROP_ANNOTATION_IMAGE:
      s.annotation_image = string_of(value);
      return true;
    case PROP_NUM_CLASSES:
      s.num_classes = g_value_get_uint(value);
      return true;
    case PROP_MAX_HELD_FRAMES:
      s.max_held_frames = g_value_get_uint(value);
      return true;
    case PROP_METHOD:
      s.method = GstDinoclipDinosegMethod(g_value_get_enum(value));
      return true;
    case PROP_HEAD:
      s.head = GstDinoclipDinosegHead(g_value_get_enum(value));
      return true;
    case PROP_HIDDEN_SIZE:
      s.hidden_size = g_value_get_int(value);
      return true;
    case PROP_NUM_ITERS:
      s.num_iters = g_value_get_int(value);
      return true;
    case PROP_LEARNING_RATE:
      s.learning_rate = g_value_get_double(value);
      return true;
    case PROP_WEIGHT_DECAY:
      s.weight_decay = g_value_get_double(value);
      return true;
    case PROP_SEED:
      s.seed = g_value_get_uint64(value);
      return true;
    case PROP_PATCH_LABELS:
      s.patch_labels = GstDinoclipDinosegPatchLabels(g_value_get_enum(value));
      return true;
    case PROP_SAVE_HEAD:
      s.save_head = string_of(value);
      return true;
    case PROP_LOAD_HEAD:
      s.load_head = string_of(value);
      return true;
    case PROP_GROUND_TRUTH:
      s.ground_truth = string_of(value);
      return true;
    case PROP_CONTEXT_FRAMES:
      s.context_frames = g_value_get_int(value);
      return true;
    case PROP_TOPK:
    case PROP_TOPK_OLD_NAME:
      s.topk = g_value_get_int(value);
      return true;
    case PROP_NEIGHBORHOOD:
      s.neighborhood = g_value_get_int(value);
      return true;
    case PROP_TEMPERATURE:
      s.temperature = g_value_get_double(value);
      return true;
    case PROP_DEVICE:
      s.device = GstDinoclipDevice(g_value_get_enum(value));
      return true;
    default:
      return false;
  }
}

bool get_dinoseg_setting(const DinosegSettings& s, guint prop_id, GValue* value) {
  switch (prop_id) {
    case PROP_ANNOTATION:
      set_string(value, s.annotation);
      return true;
    case PROP_ANNOTATION_FRAME:
      g_value_set_uint(value, s.annotation_frame);
      return true;
    case PROP_ANNOTATION_IMAGE:
      set_string(value, s.annotation_image);
      return true;
    case PROP_NUM_CLASSES:
      g_value_set_uint(value, s.num_classes);
      return true;
    case PROP_MAX_HELD_FRAMES:
      g_value_set_uint(value, s.max_held_frames);
      return true;
    case PROP_METHOD:
      g_value_set_enum(value, s.method);
      return true;
    case PROP_HEAD:
      g_value_set_enum(value, s.head);
      return true;
    case PROP_HIDDEN_SIZE:
      g_value_set_int(value, s.hidden_size);
      return true;
    case PROP_NUM_ITERS:
      g_value_set_int(value, s.num_iters);
      return true;
    case PROP_LEARNING_RATE:
      g_value_set_double(value, s.learning_rate);
      return true;
    case PROP_WEIGHT_DECAY:
      g_value_set_double(value, s.weight_decay);
      return true;
    case PROP_SEED:
      g_value_set_uint64(value, s.seed);
      return true;
    case PROP_PATCH_LABELS:
      g_value_set_enum(value, s.patch_labels);
      return true;
    case PROP_SAVE_HEAD:
      set_string(value, s.save_head);
      return true;
    case PROP_LOAD_HEAD:
      set_string(value, s.load_head);
      return true;
    case PROP_GROUND_TRUTH:
      set_string(value, s.ground_truth);
      return true;
    case PROP_CONTEXT_FRAMES:
      g_value_set_int(value, s.context_frames);
      return true;
    case PROP_TOPK:
    case PROP_TOPK_OLD_NAME:
      g_value_set_int(value, s.topk);
      return true;
    case PROP_NEIGHBORHOOD:
      g_value_set_int(value, s.neighborhood);
      return true;
    case PROP_TEMPERATURE:
      g_value_set_double(value, s.temperature);
      return true;
    case PROP_DEVICE:
      g_value_set_enum(value, s.device);
      return true;
    default:
      return false;
  }
}

}  // namespace dinoclip::gst
