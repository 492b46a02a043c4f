#include "dinoseg/dinoseg_frames.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "common/meta_tensors.h"
#include "common/roi_params.h"

#define GST_CAT_DEFAULT dino_seg_debug

namespace dinoclip::gst {
namespace {

// The class map as the meta's payload (copied; the tensor may be freed after).
GstDinoSegmentation* segmentation_payload(const at::Tensor& mask, int num_classes) {
  const at::Tensor host = mask.to(at::kCPU).contiguous();
  return gst_dino_segmentation_new(guint(host.size(1)), guint(host.size(0)), guint(num_classes),
                                   host.data_ptr<uint8_t>(), nullptr);
}

// Per-frame IoU against the ground truth, when it has a file for this frame:
// posts 'dinoseg-iou' and returns the per-class IoUs (by class id, NaN where
// undefined) for the ROI metas; empty without a ground truth for this frame.
std::vector<double> report_iou(GstDinoseg* self, DinosegState& state, const at::Tensor& mask, int64_t frame,
                               GstClockTime pts) {
  if (!state.ground_truth) return {};
  const std::optional<FrameIou> iou = state.ground_truth->score(frame, mask);
  if (!iou) {
    GST_DEBUG_OBJECT(self, "no ground truth for frame %" G_GINT64_FORMAT " (%s)", frame,
                     state.ground_truth->path(frame).c_str());
    return {};
  }
  post_dinoseg_message(self, gst_structure_new("dinoseg-iou", "frame", G_TYPE_INT64, frame, "timestamp", G_TYPE_UINT64,
                                               guint64(pts), "iou", G_TYPE_DOUBLE, iou->mean, nullptr));
  return iou->per_class;
}

void attach(GstDinoseg* self, DinosegState& state, GstBuffer* buffer, GstDinoFeatures* features,
            GstDinoSegmentation* segmentation) {
  gst_buffer_add_dino_segmentation_meta(buffer, segmentation, FALSE);
  state.forget_last();
  state.last_features = features;
  state.last_segmentation = segmentation;  // takes the caller's reference
  ++self->priv->frames_segmented;
}

}  // namespace

GstDinoFeatures* features_of(GstBuffer* buffer, bool* carried) {
  GstDinoFeaturesMeta* meta = gst_buffer_get_dino_features_meta(buffer);
  if (!meta) {
    throw Error(
        "a frame has no DINO features: put dinofeatures before dinoseg "
        "('... ! dinofeatures model=dino.pth ! dinoseg annotation=mask.png ! ...')");
  }
  if (carried) *carried = meta->carried;
  return meta->features;
}

PatchGrid patch_grid(GstDinoFeatures* features, c10::Device device) {
  const GstDinoFeaturesShape* shape = gst_dino_features_get_shape(features);
  at::Tensor tokens = patch_tokens(features);
  if (!tokens.defined()) throw Error("the DINO features could not be read (copy to host memory failed)");
  return PatchGrid{tokens.to(device), int(shape->grid_height), int(shape->grid_width)};
}

GstFlowReturn segment_and_push(GstDinoseg* self, DinosegState& state, BufferPtr owned, int64_t frame, at::Tensor mask) {
  owned.reset(gst_buffer_make_writable(owned.release()));
  GstBuffer* buffer = owned.get();
  bool carried = false;
  GstDinoFeatures* features = features_of(buffer, &carried);
  if (carried && features == state.last_features && state.last_segmentation && !mask.defined()) {
    // dinofeatures' interval: same features, same answer; no model step, no propagation step.
    gst_buffer_add_dino_segmentation_meta(buffer, state.last_segmentation, TRUE);
  } else {
    if (!mask.defined()) mask = state.segmenter->segment(patch_grid(features, state.device), state.height, state.width);
    attach(self, state, buffer, features, segmentation_payload(mask, state.segmenter->num_classes()));
    state.last_mask = mask;
  }
  // Carried frames count in the IoU too.
  const std::vector<double> class_iou = report_iou(self, state, state.last_mask, frame, GST_BUFFER_PTS(buffer));
  add_segmentation_rois(buffer, state.last_segmentation, state.width, state.height, class_iou);
  return gst_pad_push(self->srcpad, owned.release());
}

void post_iou_summary(GstDinoseg* self, const DinosegState& state) {
  const IouSummary summary = state.ground_truth->summary();
  if (summary.frames == 0) {
    GST_ELEMENT_WARNING(self, RESOURCE, NOT_FOUND,
                        ("No frame had a ground-truth file, so no IoU was measured (looked for files like '%s'): "
                         "check the ground-truth pattern's folder and numbering (frames are counted from 0)",
                         state.ground_truth->path(std::max<int64_t>(state.current_frame, 0)).c_str()),
                        (nullptr));
  }
  post_dinoseg_message(
      self,
      gst_structure_new("dinoseg-summary", "frames", G_TYPE_INT64, summary.frames, "mean", G_TYPE_DOUBLE, summary.mean,
                        "first", G_TYPE_DOUBLE, summary.first, "last", G_TYPE_DOUBLE, summary.last, "first-frame",
                        G_TYPE_INT64, summary.first_frame, "last-frame", G_TYPE_INT64, summary.last_frame, nullptr));
  GST_INFO_OBJECT(self, "IoU over %" G_GINT64_FORMAT " frames: mean %.4f, first %.4f, last %.4f", summary.frames,
                  summary.mean, summary.first, summary.last);
}

}  // namespace dinoclip::gst
