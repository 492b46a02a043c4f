// GEnum types behind the elements' enum properties (gst-inspect lists their
// nicks). Values mirror the core's enums; conversions live here.
#pragma once

#include <glib-object.h>

#include "core/device.h"
#include "models/position_embedding.h"
#include "tasks/video_segmenter.h"
#include "vision/colormap.h"
#include "vision/device_preprocess.h"

G_BEGIN_DECLS

/* CUDA_1 .. CUDA_7 are GPUs 1..7 (nicks "cuda:1" .. "cuda:7"); CUDA is GPU 0. */
typedef enum {
  GST_DINOCLIP_DEVICE_AUTO,
  GST_DINOCLIP_DEVICE_CPU,
  GST_DINOCLIP_DEVICE_CUDA,
  GST_DINOCLIP_DEVICE_CUDA_1,
  GST_DINOCLIP_DEVICE_CUDA_2,
  GST_DINOCLIP_DEVICE_CUDA_3,
  GST_DINOCLIP_DEVICE_CUDA_4,
  GST_DINOCLIP_DEVICE_CUDA_5,
  GST_DINOCLIP_DEVICE_CUDA_6,
  GST_DINOCLIP_DEVICE_CUDA_7,
} GstDinoclipDevice;

typedef enum {
  GST_DINOCLIP_PRECISION_FP32,
  GST_DINOCLIP_PRECISION_FP16,
  GST_DINOCLIP_PRECISION_BF16,
  GST_DINOCLIP_PRECISION_TF32,
} GstDinoclipPrecision;

/* dinofeatures pos-interpolation; values follow dinoclip::PosInterpolation. */
typedef enum {
  GST_DINOCLIP_POS_INTERPOLATION_AUTO,
  GST_DINOCLIP_POS_INTERPOLATION_OFFSET,
  GST_DINOCLIP_POS_INTERPOLATION_ANTIALIAS,
} GstDinoclipPosInterpolation;

/* dinofeatures / clipzeroshot scale-method; AUTO resolves by the device. */
typedef enum {
  GST_DINOCLIP_SCALE_METHOD_AUTO,
  GST_DINOCLIP_SCALE_METHOD_EXACT,
  GST_DINOCLIP_SCALE_METHOD_FAST,
} GstDinoclipScaleMethod;

/* Values follow dinoclip::Colormap. */
typedef enum {
  GST_DINOCLIP_COLORMAP_INFERNO,
  GST_DINOCLIP_COLORMAP_VIRIDIS,
  GST_DINOCLIP_COLORMAP_MAGMA,
  GST_DINOCLIP_COLORMAP_PLASMA,
  GST_DINOCLIP_COLORMAP_TURBO,
  GST_DINOCLIP_COLORMAP_GRAY,
} GstDinoclipColormap;

typedef enum {
  GST_DINOCLIP_ATTNOVERLAY_MODE_AUTO,
  GST_DINOCLIP_ATTNOVERLAY_MODE_ATTENTION,
  GST_DINOCLIP_ATTNOVERLAY_MODE_HEADS,
  GST_DINOCLIP_ATTNOVERLAY_MODE_PCA,
  GST_DINOCLIP_ATTNOVERLAY_MODE_MASK,
  GST_DINOCLIP_ATTNOVERLAY_MODE_LABEL,
} GstDinoclipAttnoverlayMode;

typedef enum {
  GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_FIRST,
  GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_PER_FRAME,
  GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_EVERY_N,
} GstDinoclipAttnoverlayPcaRefit;

/* dinoseg. Values follow dinoclip::SegMethod, HeadKind and LabelMode. */
typedef enum {
  GST_DINOCLIP_DINOSEG_METHOD_HEAD,
  GST_DINOCLIP_DINOSEG_METHOD_PROPAGATION,
} GstDinoclipDinosegMethod;

typedef enum {
  GST_DINOCLIP_DINOSEG_HEAD_LINEAR,
  GST_DINOCLIP_DINOSEG_HEAD_MLP,
} GstDinoclipDinosegHead;

typedef enum {
  GST_DINOCLIP_DINOSEG_PATCH_LABELS_SOFT,
  GST_DINOCLIP_DINOSEG_PATCH_LABELS_MAJORITY,
} GstDinoclipDinosegPatchLabels;

#define GST_TYPE_DINOCLIP_DINOSEG_METHOD (gst_dinoclip_dinoseg_method_get_type())
GType gst_dinoclip_dinoseg_method_get_type(void);
#define GST_TYPE_DINOCLIP_DINOSEG_HEAD (gst_dinoclip_dinoseg_head_get_type())
GType gst_dinoclip_dinoseg_head_get_type(void);
#define GST_TYPE_DINOCLIP_DINOSEG_PATCH_LABELS (gst_dinoclip_dinoseg_patch_labels_get_type())
GType gst_dinoclip_dinoseg_patch_labels_get_type(void);
#define GST_TYPE_DINOCLIP_DEVICE (gst_dinoclip_device_get_type())
GType gst_dinoclip_device_get_type(void);
#define GST_TYPE_DINOCLIP_PRECISION (gst_dinoclip_precision_get_type())
GType gst_dinoclip_precision_get_type(void);
#define GST_TYPE_DINOCLIP_POS_INTERPOLATION (gst_dinoclip_pos_interpolation_get_type())
GType gst_dinoclip_pos_interpolation_get_type(void);
#define GST_TYPE_DINOCLIP_SCALE_METHOD (gst_dinoclip_scale_method_get_type())
GType gst_dinoclip_scale_method_get_type(void);
#define GST_TYPE_DINOCLIP_COLORMAP (gst_dinoclip_colormap_get_type())
GType gst_dinoclip_colormap_get_type(void);
#define GST_TYPE_DINOCLIP_ATTNOVERLAY_MODE (gst_dinoclip_attnoverlay_mode_get_type())
GType gst_dinoclip_attnoverlay_mode_get_type(void);
#define GST_TYPE_DINOCLIP_ATTNOVERLAY_PCA_REFIT (gst_dinoclip_attnoverlay_pca_refit_get_type())
GType gst_dinoclip_attnoverlay_pca_refit_get_type(void);

G_END_DECLS

namespace dinoclip::gst {

// The device and GPU index (resolve_device() takes it).
DeviceSpec to_device_choice(GstDinoclipDevice device);
Precision to_precision(GstDinoclipPrecision precision);
PosInterpolation to_pos_interpolation(GstDinoclipPosInterpolation recipe);
// auto: exact on the CPU, fast on a GPU (default_scale_method()).
ScaleMethod to_scale_method(GstDinoclipScaleMethod method, const c10::Device& device);
Colormap to_colormap(GstDinoclipColormap colormap);
SegMethod to_seg_method(GstDinoclipDinosegMethod method);
HeadKind to_head_kind(GstDinoclipDinosegHead head);
LabelMode to_label_mode(GstDinoclipDinosegPatchLabels labels);

}  // namespace dinoclip::gst
