// GEnum types behind the elements' enum properties (gst-inspect lists their
// nicks). Values mirror the core's enums; conversions live here.
#pragma once

#include <glib-object.h>

#include "core/device.h"
#include "tasks/video_segmenter.h"
#include "vision/device_preprocess.h"
#include "vision/colormap.h"

G_BEGIN_DECLS

/* CUDA_1 .. CUDA_7 are GPUs 1..7 (nicks "cuda:1" .. "cuda:7"); CUDA is GPU 0. */
typedef enum {
  GST_DINO_DEVICE_AUTO,
  GST_DINO_DEVICE_CPU,
  GST_DINO_DEVICE_CUDA,
  GST_DINO_DEVICE_CUDA_1,
  GST_DINO_DEVICE_CUDA_2,
  GST_DINO_DEVICE_CUDA_3,
  GST_DINO_DEVICE_CUDA_4,
  GST_DINO_DEVICE_CUDA_5,
  GST_DINO_DEVICE_CUDA_6,
  GST_DINO_DEVICE_CUDA_7,
} GstDinoDevice;

typedef enum {
  GST_DINO_PRECISION_FP32,
  GST_DINO_PRECISION_FP16,
  GST_DINO_PRECISION_BF16,
  GST_DINO_PRECISION_TF32,
} GstDinoPrecision;

/* dinofeatures / clipzeroshot scale-method; AUTO resolves by the device. */
typedef enum {
  GST_DINO_SCALE_METHOD_AUTO,
  GST_DINO_SCALE_METHOD_EXACT,
  GST_DINO_SCALE_METHOD_FAST,
} GstDinoScaleMethod;

/* Values follow dinoclip::Colormap. */
typedef enum {
  GST_DINO_COLORMAP_INFERNO,
  GST_DINO_COLORMAP_VIRIDIS,
  GST_DINO_COLORMAP_MAGMA,
  GST_DINO_COLORMAP_PLASMA,
  GST_DINO_COLORMAP_TURBO,
  GST_DINO_COLORMAP_GRAY,
} GstDinoColormap;

typedef enum {
  GST_ATTN_OVERLAY_MODE_AUTO,
  GST_ATTN_OVERLAY_MODE_ATTENTION,
  GST_ATTN_OVERLAY_MODE_HEADS,
  GST_ATTN_OVERLAY_MODE_PCA,
  GST_ATTN_OVERLAY_MODE_MASK,
  GST_ATTN_OVERLAY_MODE_LABEL,
} GstAttnOverlayMode;

typedef enum {
  GST_ATTN_OVERLAY_PCA_REFIT_FIRST,
  GST_ATTN_OVERLAY_PCA_REFIT_PER_FRAME,
  GST_ATTN_OVERLAY_PCA_REFIT_EVERY_N,
} GstAttnOverlayPcaRefit;

/* dinoseg. Values follow dinoclip::SegMethod, HeadKind and LabelMode. */
typedef enum {
  GST_DINO_SEG_METHOD_HEAD,
  GST_DINO_SEG_METHOD_PROPAGATION,
} GstDinoSegMethod;

typedef enum {
  GST_DINO_SEG_HEAD_LINEAR,
  GST_DINO_SEG_HEAD_MLP,
} GstDinoSegHead;

typedef enum {
  GST_DINO_SEG_PATCH_LABELS_SOFT,
  GST_DINO_SEG_PATCH_LABELS_MAJORITY,
} GstDinoSegPatchLabels;

#define GST_TYPE_DINO_SEG_METHOD (gst_dino_seg_method_get_type())
GType gst_dino_seg_method_get_type(void);
#define GST_TYPE_DINO_SEG_HEAD (gst_dino_seg_head_get_type())
GType gst_dino_seg_head_get_type(void);
#define GST_TYPE_DINO_SEG_PATCH_LABELS (gst_dino_seg_patch_labels_get_type())
GType gst_dino_seg_patch_labels_get_type(void);
#define GST_TYPE_DINO_DEVICE (gst_dino_device_get_type())
GType gst_dino_device_get_type(void);
#define GST_TYPE_DINO_PRECISION (gst_dino_precision_get_type())
GType gst_dino_precision_get_type(void);
#define GST_TYPE_DINO_SCALE_METHOD (gst_dino_scale_method_get_type())
GType gst_dino_scale_method_get_type(void);
#define GST_TYPE_DINO_COLORMAP (gst_dino_colormap_get_type())
GType gst_dino_colormap_get_type(void);
#define GST_TYPE_ATTN_OVERLAY_MODE (gst_attn_overlay_mode_get_type())
GType gst_attn_overlay_mode_get_type(void);
#define GST_TYPE_ATTN_OVERLAY_PCA_REFIT (gst_attn_overlay_pca_refit_get_type())
GType gst_attn_overlay_pca_refit_get_type(void);

G_END_DECLS

namespace dinoclip::gst {

// The device and GPU index (resolve_device() takes it).
DeviceSpec to_device_choice(GstDinoDevice device);
Precision to_precision(GstDinoPrecision precision);
// auto: exact on the CPU, fast on a GPU (default_scale_method()).
ScaleMethod to_scale_method(GstDinoScaleMethod method, const c10::Device& device);
Colormap to_colormap(GstDinoColormap colormap);
SegMethod to_seg_method(GstDinoSegMethod method);
HeadKind to_head_kind(GstDinoSegHead head);
LabelMode to_label_mode(GstDinoSegPatchLabels labels);

}  // namespace dinoclip::gst
