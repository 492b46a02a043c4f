#include "common/enums.h"

#include <string>

GType gst_dinoclip_device_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_DEVICE_AUTO, "CUDA when this build and machine have it, else the CPU", "auto"},
      {GST_DINOCLIP_DEVICE_CPU, "CPU", "cpu"},
      {GST_DINOCLIP_DEVICE_CUDA, "CUDA GPU 0 (an error when there is none)", "cuda"},
      {GST_DINOCLIP_DEVICE_CUDA_1, "CUDA GPU 1 (an error when the machine has fewer GPUs)", "cuda:1"},
      {GST_DINOCLIP_DEVICE_CUDA_2, "CUDA GPU 2", "cuda:2"},
      {GST_DINOCLIP_DEVICE_CUDA_3, "CUDA GPU 3", "cuda:3"},
      {GST_DINOCLIP_DEVICE_CUDA_4, "CUDA GPU 4", "cuda:4"},
      {GST_DINOCLIP_DEVICE_CUDA_5, "CUDA GPU 5", "cuda:5"},
      {GST_DINOCLIP_DEVICE_CUDA_6, "CUDA GPU 6", "cuda:6"},
      {GST_DINOCLIP_DEVICE_CUDA_7, "CUDA GPU 7", "cuda:7"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoclipDevice", values));
  return type;
}

GType gst_dinoclip_precision_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_PRECISION_FP32, "32-bit float (any device)", "fp32"},
      {GST_DINOCLIP_PRECISION_FP16, "16-bit float (CUDA only)", "fp16"},
      {GST_DINOCLIP_PRECISION_BF16, "bfloat16 (CUDA or CPU)", "bf16"},
      {GST_DINOCLIP_PRECISION_TF32, "32-bit float, matrix products on TF32 tensor cores (CUDA only)", "tf32"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoclipPrecision", values));
  return type;
}

GType gst_dinoclip_pos_interpolation_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_POS_INTERPOLATION_AUTO,
       "from the checkpoint (DINOv2 with registers: antialias, without: offset; other families: their own)", "auto"},
      {GST_DINOCLIP_POS_INTERPOLATION_OFFSET,
       "bicubic by scale factor (n + 0.1) / M (DINO v1, DINOv2 without registers)", "offset"},
      {GST_DINOCLIP_POS_INTERPOLATION_ANTIALIAS, "antialiased bicubic by output size (DINOv2 with registers)",
       "antialias"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstDinoclipPosInterpolation", values));
  return type;
}

GType gst_dinoclip_dinoseg_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_DINOSEG_METHOD_HEAD,
       "a head trained on the annotated frame's patch features, applied to each frame", "head"},
      {GST_DINOCLIP_DINOSEG_METHOD_PROPAGATION,
       "DINO's label propagation from the annotated frame and the last frames (no training)", "propagation"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoclipDinosegMethod", values));
  return type;
}

GType gst_dinoclip_dinoseg_head_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_DINOSEG_HEAD_LINEAR, "one linear layer on the patch features (fast: ~0.5 s for 500 steps at 60x60)",
       "linear"},
      {GST_DINOCLIP_DINOSEG_HEAD_MLP, "linear -> GELU -> linear, hidden-size wide (~4 s for 500 steps at 60x60)",
       "mlp"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoclipDinosegHead", values));
  return type;
}

GType gst_dinoclip_dinoseg_patch_labels_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_DINOSEG_PATCH_LABELS_SOFT, "each patch's class fractions (area-weighted), soft cross-entropy",
       "soft"},
      {GST_DINOCLIP_DINOSEG_PATCH_LABELS_MAJORITY, "each patch's majority class, ordinary cross-entropy", "majority"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstDinoclipDinosegPatchLabels", values));
  return type;
}

GType gst_dinoclip_colormap_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_COLORMAP_INFERNO, "matplotlib inferno (black-purple-yellow)", "inferno"},
      {GST_DINOCLIP_COLORMAP_VIRIDIS, "matplotlib viridis (purple-green-yellow)", "viridis"},
      {GST_DINOCLIP_COLORMAP_MAGMA, "matplotlib magma (black-purple-white)", "magma"},
      {GST_DINOCLIP_COLORMAP_PLASMA, "matplotlib plasma (blue-purple-yellow)", "plasma"},
      {GST_DINOCLIP_COLORMAP_TURBO, "turbo (rainbow, blue-red)", "turbo"},
      {GST_DINOCLIP_COLORMAP_GRAY, "grey ramp (black-white)", "gray"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoclipColormap", values));
  return type;
}

GType gst_dinoclip_attnoverlay_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_ATTNOVERLAY_MODE_AUTO,
       "whatever is attached: the segmentation mask, else the attention (else PCA), plus the label", "auto"},
      {GST_DINOCLIP_ATTNOVERLAY_MODE_ATTENTION, "CLS attention heatmap (one head or their mean), bilinear",
       "attention"},
      {GST_DINOCLIP_ATTNOVERLAY_MODE_HEADS, "every head's CLS attention, side by side in a strip of tiles", "heads"},
      {GST_DINOCLIP_ATTNOVERLAY_MODE_PCA, "top-3 principal components of the patch tokens as RGB", "pca"},
      {GST_DINOCLIP_ATTNOVERLAY_MODE_MASK, "segmentation class map (GstDinoclipSegmentationMeta) in palette colours",
       "mask"},
      {GST_DINOCLIP_ATTNOVERLAY_MODE_LABEL, "top label and score (GstDinoclipClassificationMeta) as text", "label"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoclipAttnoverlayMode", values));
  return type;
}

GType gst_dinoclip_scale_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_SCALE_METHOD_AUTO, "exact on the CPU, fast on a GPU", "auto"},
      {GST_DINOCLIP_SCALE_METHOD_EXACT,
       "PIL-exact resize on the CPU, as the Python references (the input then moves to the device)", "exact"},
      {GST_DINOCLIP_SCALE_METHOD_FAST,
       "the frame goes to the model's device once as 8-bit RGB; antialiased resize and normalisation run there "
       "(within about one 8-bit level of exact)",
       "fast"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDinoclipScaleMethod", values));
  return type;
}

GType gst_dinoclip_attnoverlay_pca_refit_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_FIRST, "fit on the first result, keep it (stable colours)", "first"},
      {GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_PER_FRAME, "fit on every new result (colours may flicker)", "per-frame"},
      {GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_EVERY_N, "fit again every pca-refit-interval new results", "every-n"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstDinoclipAttnoverlayPcaRefit", values));
  return type;
}

namespace dinoclip::gst {

DeviceSpec to_device_choice(GstDinoclipDevice device) {
  // The nick is the core's own device name, so one parser serves both.
  GEnumClass* enum_class = G_ENUM_CLASS(g_type_class_ref(gst_dinoclip_device_get_type()));
  const GEnumValue* value = g_enum_get_value(enum_class, device);
  const std::string nick = value ? value->value_nick : "auto";
  g_type_class_unref(enum_class);
  return parse_device(nick);
}

Precision to_precision(GstDinoclipPrecision precision) {
  switch (precision) {
    case GST_DINOCLIP_PRECISION_FP16:
      return Precision::kFp16;
    case GST_DINOCLIP_PRECISION_BF16:
      return Precision::kBf16;
    case GST_DINOCLIP_PRECISION_TF32:
      return Precision::kTf32;
    case GST_DINOCLIP_PRECISION_FP32:
      break;
  }
  return Precision::kFp32;
}

PosInterpolation to_pos_interpolation(GstDinoclipPosInterpolation recipe) {
  switch (recipe) {
    case GST_DINOCLIP_POS_INTERPOLATION_OFFSET:
      return PosInterpolation::kScaleOffset;
    case GST_DINOCLIP_POS_INTERPOLATION_ANTIALIAS:
      return PosInterpolation::kSizeAntialiased;
    case GST_DINOCLIP_POS_INTERPOLATION_AUTO:
      break;
  }
  return PosInterpolation::kAuto;
}

ScaleMethod to_scale_method(GstDinoclipScaleMethod method, const c10::Device& device) {
  switch (method) {
    case GST_DINOCLIP_SCALE_METHOD_EXACT:
      return ScaleMethod::kExact;
    case GST_DINOCLIP_SCALE_METHOD_FAST:
      return ScaleMethod::kFast;
    case GST_DINOCLIP_SCALE_METHOD_AUTO:
      break;
  }
  return default_scale_method(device);
}

Colormap to_colormap(GstDinoclipColormap colormap) {
  switch (colormap) {
    case GST_DINOCLIP_COLORMAP_VIRIDIS:
      return Colormap::kViridis;
    case GST_DINOCLIP_COLORMAP_MAGMA:
      return Colormap::kMagma;
    case GST_DINOCLIP_COLORMAP_PLASMA:
      return Colormap::kPlasma;
    case GST_DINOCLIP_COLORMAP_TURBO:
      return Colormap::kTurbo;
    case GST_DINOCLIP_COLORMAP_GRAY:
      return Colormap::kGray;
    case GST_DINOCLIP_COLORMAP_INFERNO:
      break;
  }
  return Colormap::kInferno;
}

SegMethod to_seg_method(GstDinoclipDinosegMethod method) {
  return method == GST_DINOCLIP_DINOSEG_METHOD_PROPAGATION ? SegMethod::kPropagation : SegMethod::kHead;
}

HeadKind to_head_kind(GstDinoclipDinosegHead head) {
  return head == GST_DINOCLIP_DINOSEG_HEAD_MLP ? HeadKind::kMlp : HeadKind::kLinear;
}

LabelMode to_label_mode(GstDinoclipDinosegPatchLabels labels) {
  return labels == GST_DINOCLIP_DINOSEG_PATCH_LABELS_MAJORITY ? LabelMode::kMajority : LabelMode::kSoft;
}

}  // namespace dinoclip::gst
