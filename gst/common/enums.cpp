#include "common/enums.h"

#include <string>

GType gst_dino_device_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINO_DEVICE_AUTO, "CUDA when this build and machine have it, else the CPU", "auto"},
      {GST_DINO_DEVICE_CPU, "CPU", "cpu"},
      {GST_DINO_DEVICE_CUDA, "CUDA GPU 0 (an error when there is none)", "cuda"},
      {GST_DINO_DEVICE_CUDA_1, "CUDA GPU 1 (an error when the machine has fewer GPUs)", "cuda:1"},
      {GST_DINO_DEVICE_CUDA_2, "CUDA GPU 2", "cuda:2"},
      {GST_DINO_DEVICE_CUDA_3, "CUDA GPU 3", "cuda:3"},
      {GST_DINO_DEVICE_CUDA_4, "CUDA GPU 4", "cuda:4"},
      {GST_DINO_DEVICE_CUDA_5, "CUDA GPU 5", "cuda:5"},
      {GST_DINO_DEVICE_CUDA_6, "CUDA GPU 6", "cuda:6"},
      {GST_DINO_DEVICE_CUDA_7, "CUDA GPU 7", "cuda:7"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoDevice", values));
  return type;
}

GType gst_dino_precision_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINO_PRECISION_FP32, "32-bit float (any device)", "fp32"},
      {GST_DINO_PRECISION_FP16, "16-bit float (CUDA only)", "fp16"},
      {GST_DINO_PRECISION_BF16, "bfloat16 (CUDA or CPU)", "bf16"},
      {GST_DINO_PRECISION_TF32, "32-bit float, matrix products on TF32 tensor cores (CUDA only)", "tf32"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoPrecision", values));
  return type;
}

GType gst_dino_seg_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINO_SEG_METHOD_HEAD, "a head trained on the annotated frame's patch features, applied to each frame",
       "head"},
      {GST_DINO_SEG_METHOD_PROPAGATION,
       "DINO's label propagation from the annotated frame and the last frames (no training)", "propagation"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoSegMethod", values));
  return type;
}

GType gst_dino_seg_head_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINO_SEG_HEAD_LINEAR, "one linear layer on the patch features (fast: ~0.5 s for 500 steps at 60x60)",
       "linear"},
      {GST_DINO_SEG_HEAD_MLP, "linear -> GELU -> linear, hidden-size wide (~4 s for 500 steps at 60x60)", "mlp"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoSegHead", values));
  return type;
}

GType gst_dino_seg_patch_labels_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINO_SEG_PATCH_LABELS_SOFT, "each patch's class fractions (area-weighted), soft cross-entropy", "soft"},
      {GST_DINO_SEG_PATCH_LABELS_MAJORITY, "each patch's majority class, ordinary cross-entropy", "majority"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoSegPatchLabels", values));
  return type;
}

GType gst_dino_colormap_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINO_COLORMAP_INFERNO, "matplotlib inferno (black-purple-yellow)", "inferno"},
      {GST_DINO_COLORMAP_VIRIDIS, "matplotlib viridis (purple-green-yellow)", "viridis"},
      {GST_DINO_COLORMAP_MAGMA, "matplotlib magma (black-purple-white)", "magma"},
      {GST_DINO_COLORMAP_PLASMA, "matplotlib plasma (blue-purple-yellow)", "plasma"},
      {GST_DINO_COLORMAP_TURBO, "turbo (rainbow, blue-red)", "turbo"},
      {GST_DINO_COLORMAP_GRAY, "grey ramp (black-white)", "gray"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoColormap", values));
  return type;
}

GType gst_attn_overlay_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_ATTN_OVERLAY_MODE_AUTO,
       "whatever is attached: the segmentation mask, else the attention (else PCA), plus the label", "auto"},
      {GST_ATTN_OVERLAY_MODE_ATTENTION, "CLS attention heatmap (one head or their mean), bilinear", "attention"},
      {GST_ATTN_OVERLAY_MODE_HEADS, "every head's CLS attention, side by side in a strip of tiles", "heads"},
      {GST_ATTN_OVERLAY_MODE_PCA, "top-3 principal components of the patch tokens as RGB", "pca"},
      {GST_ATTN_OVERLAY_MODE_MASK, "segmentation class map (GstDinoSegmentationMeta) in palette colours", "mask"},
      {GST_ATTN_OVERLAY_MODE_LABEL, "top label and score (GstDinoClassificationMeta) as text", "label"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAttnOverlayMode", values));
  return type;
}

GType gst_dino_scale_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINO_SCALE_METHOD_AUTO, "exact on the CPU, fast on a GPU", "auto"},
      {GST_DINO_SCALE_METHOD_EXACT,
       "PIL-exact resize on the CPU, as the Python references (the input then moves to the device)", "exact"},
      {GST_DINO_SCALE_METHOD_FAST,
       "the frame goes to the model's device once as 8-bit RGB; antialiased resize and normalisation run there "
       "(within about one 8-bit level of exact)",
       "fast"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoScaleMethod", values));
  return type;
}

GType gst_attn_overlay_pca_refit_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_ATTN_OVERLAY_PCA_REFIT_FIRST, "fit on the first result, keep it (stable colours)", "first"},
      {GST_ATTN_OVERLAY_PCA_REFIT_PER_FRAME, "fit on every new result (colours may flicker)", "per-frame"},
      {GST_ATTN_OVERLAY_PCA_REFIT_EVERY_N, "fit again every pca-refit-interval new results", "every-n"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAttnOverlayPcaRefit", values));
  return type;
}

namespace dinoclip::gst {

DeviceSpec to_device_choice(GstDinoDevice device) {
  // The nick is the core's own device name, so one parser serves both.
  GEnumClass* enum_class = G_ENUM_CLASS(g_type_class_ref(gst_dino_device_get_type()));
  const GEnumValue* value = g_enum_get_value(enum_class, device);
  const std::string nick = value ? value->value_nick : "auto";
  g_type_class_unref(enum_class);
  return parse_device(nick);
}

Precision to_precision(GstDinoPrecision precision) {
  switch (precision) {
    case GST_DINO_PRECISION_FP16:
      return Precision::kFp16;
    case GST_DINO_PRECISION_BF16:
      return Precision::kBf16;
    case GST_DINO_PRECISION_TF32:
      return Precision::kTf32;
    case GST_DINO_PRECISION_FP32:
      break;
  }
  return Precision::kFp32;
}

ScaleMethod to_scale_method(GstDinoScaleMethod method, const c10::Device& device) {
  switch (method) {
    case GST_DINO_SCALE_METHOD_EXACT:
      return ScaleMethod::kExact;
    case GST_DINO_SCALE_METHOD_FAST:
      return ScaleMethod::kFast;
    case GST_DINO_SCALE_METHOD_AUTO:
      break;
  }
  return default_scale_method(device);
}

Colormap to_colormap(GstDinoColormap colormap) {
  switch (colormap) {
    case GST_DINO_COLORMAP_VIRIDIS:
      return Colormap::kViridis;
    case GST_DINO_COLORMAP_MAGMA:
      return Colormap::kMagma;
    case GST_DINO_COLORMAP_PLASMA:
      return Colormap::kPlasma;
    case GST_DINO_COLORMAP_TURBO:
      return Colormap::kTurbo;
    case GST_DINO_COLORMAP_GRAY:
      return Colormap::kGray;
    case GST_DINO_COLORMAP_INFERNO:
      break;
  }
  return Colormap::kInferno;
}

SegMethod to_seg_method(GstDinoSegMethod method) {
  return method == GST_DINO_SEG_METHOD_PROPAGATION ? SegMethod::kPropagation : SegMethod::kHead;
}

HeadKind to_head_kind(GstDinoSegHead head) { return head == GST_DINO_SEG_HEAD_MLP ? HeadKind::kMlp : HeadKind::kLinear; }

LabelMode to_label_mode(GstDinoSegPatchLabels labels) {
  return labels == GST_DINO_SEG_PATCH_LABELS_MAJORITY ? LabelMode::kMajority : LabelMode::kSoft;
}

}  // namespace dinoclip::gst
