#include "clipzeroshot/clipzeroshot_properties.h"

#include "inference/inference_properties.h"

#include <gst/gst.h>

#include "common/enums.h"
#include "clipzeroshot/gstclipzeroshot.h"
#include "common/param_flags.h"

GType gst_clip_zero_shot_crop_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_CLIP_ZERO_SHOT_CROP_CENTER, "shorter side to the model size, centre square (CLIP's preprocessing)",
       "center"},
      {GST_CLIP_ZERO_SHOT_CROP_FULL, "the whole frame squashed to the model size (nothing at the sides is lost)",
       "full"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstClipZeroShotCrop", values));
  return type;
}

namespace dinoclip::gst {
namespace {

using namespace clipzeroshot_props;

void install_model_properties(GObjectClass* klass) {
  g_object_class_install_property(
      klass, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "Path to OpenAI CLIP ViT weights: the released TorchScript archive (ViT-B-32.pt, "
                          "ViT-B-16.pt, ViT-L-14.pt), a state_dict .pth or an OpenAI-layout .safetensors. Read in "
                          "READY->PAUSED; a missing or non-CLIP file is an error then. No default: required",
                          nullptr, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_VOCAB,
      g_param_spec_string("vocab", "Vocabulary",
                          "Path to CLIP's BPE vocabulary bpe_simple_vocab_16e6.txt.gz. Unset: $DINOCLIP_VOCAB, then "
                          "that file in $DINOCLIP_MODELS_DIR, ~/.cache/dinoclip, /usr/share/dinoclip/models. Read in "
                          "READY->PAUSED",
                          nullptr, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_DEVICE,
      g_param_spec_enum("device", "Device",
                        "Where the model runs: auto = cuda when this build and machine have it, else cpu. "
                        "Applied in READY->PAUSED",
                        GST_TYPE_DINO_DEVICE, GST_DINO_DEVICE_AUTO, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision",
                        "Compute precision: fp32 anywhere, tf32 (fp32 with TF32 tensor-core products) and fp16 on CUDA only, bf16 on CUDA or CPU; an unsupported "
                        "choice is an error in READY->PAUSED. Scores are float32 whatever this is",
                        GST_TYPE_DINO_PRECISION, GST_DINO_PRECISION_FP32, kParamLoadTime));
}

void install_text_properties(GObjectClass* klass) {
  g_object_class_install_property(
      klass, PROP_LABELS,
      g_param_spec_string("labels", "Labels",
                          "Labels separated by ';' (\"a person;a cat;an empty room\"), trimmed; an empty entry is an "
                          "error. Texts longer than CLIP's 77 tokens are truncated. May change while PLAYING: the "
                          "text is re-encoded off the streaming thread and swapped in whole",
                          nullptr, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_LABELS_FILE,
      g_param_spec_string("labels-file", "Labels file",
                          "UTF-8 file with one label per line (blank lines and lines starting with '#' skipped); "
                          "instead of 'labels' (setting both is an error). May change while PLAYING",
                          nullptr, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_TEMPLATE,
      g_param_spec_string("template", "Template",
                          "Prompt template, \"{}\" standing for the label; several separated by '|' are averaged "
                          "(CLIP's prompt ensembling). May change while PLAYING",
                          kDefaultTemplate, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_QUERY,
      g_param_spec_string("query", "Query",
                          "Event mode: a text (\"a person on a bicycle\") whose cosine similarity with each "
                          "classified frame is tracked; a clipzeroshot-query message is posted when it rises above "
                          "query-threshold (start) and when it falls below query-threshold - hysteresis (end). "
                          "Empty: off. May change while PLAYING",
                          nullptr, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_QUERY_THRESHOLD,
      g_param_spec_double("query-threshold", "Query threshold",
                          "Cosine similarity (-1 to 1) above which the query event starts; matching CLIP pairs "
                          "typically score 0.25-0.35. May change while PLAYING",
                          -1.0, 1.0, kDefaultQueryThreshold, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_HYSTERESIS,
      g_param_spec_double("hysteresis", "Hysteresis",
                          "How far (cosine, 0 to 2) below query-threshold the similarity must fall to end the "
                          "event, so a score hovering at the threshold does not fire every frame. May change while "
                          "PLAYING",
                          0.0, 2.0, kDefaultHysteresis, kParamAnyTime));
}

void install_frame_properties(GObjectClass* klass) {
  g_object_class_install_property(
      klass, PROP_CROP,
      g_param_spec_enum("crop", "Crop",
                        "What the model sees: center (CLIP's preprocessing: shorter side resized, centre square) or "
                        "full (the whole frame squashed to a square). May change while PLAYING",
                        GST_TYPE_CLIP_ZERO_SHOT_CROP, GST_CLIP_ZERO_SHOT_CROP_CENTER, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_TOP_K,
      g_param_spec_uint("top-k", "Top k",
                        "How many best labels the meta ranks and the message lists (1-1000; more than the labels "
                        "gives all). May change while PLAYING",
                        1, kMaxTopK, 5, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_UNKNOWN_THRESHOLD,
      g_param_spec_double("unknown-threshold", "Unknown threshold",
                          "Probability (0-1) below which the best label is reported as \"unknown\"; 0 = never. "
                          "May change while PLAYING",
                          0.0, 1.0, 0.0, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_INFERENCES,
      g_param_spec_uint64("inferences", "Inferences", "Frames classified since READY->PAUSED (read-only)", 0,
                          G_MAXUINT64, 0, kParamReadOnly));
  g_object_class_install_property(
      klass, PROP_TEXT_ENCODINGS,
      g_param_spec_uint64("text-encodings", "Text encodings",
                          "Label/query sets encoded since READY->PAUSED: 1 at start, +1 per applied change "
                          "(read-only)",
                          0, G_MAXUINT64, 0, kParamReadOnly));
}

}  // namespace

void install_clipzeroshot_properties(GObjectClass* klass) {
  install_model_properties(klass);
  install_text_properties(klass);
  install_frame_properties(klass);
  install_inference_properties(klass, clipzeroshot_props::PROP_INFERENCE_FIRST);
}

}  // namespace dinoclip::gst
