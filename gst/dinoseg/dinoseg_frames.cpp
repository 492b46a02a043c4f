#include "dinoseg/dinoseg_frames.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "common/meta_tensors.h"
#include "common/roi_params.h"
#include "core/error.h"
#include "dinofeatures/dinofeatures_payload.h"

#define GST_CAT_DEFAULT dino_seg_debug

namespace dinoclip::gst {
namespace {

// The class map as the meta's payload (copied; the tensor may be freed after).
GstDinoclipSegmentation* segmentation_payload(const at::Tensor& mask, int num_classes) {
  const at::Tensor host = mask.to(at::kCPU).contiguous();
  return gst_dinoclip_segmentation_new(guint(host.size(1)), guint(host.size(0)), guint(num_classes),
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

void attach(GstDinoseg* self, DinosegState& state, GstBuffer* buffer, GstDinoclipFeatures* features,
            GstDinoclipSegmentation* segmentation) {
  gst_buffer_add_dinoclip_segmentation_meta(buffer, segmentation, FALSE);
  state.forget_last();
  state.last_features.reset(gst_dinoclip_features_ref(features));
  state.last_segmentation = segmentation;  // takes the caller's reference
  ++self->priv->frames_segmented;
}


}  // namespace

GstDinoclipFeatures* features_of(GstBuffer* buffer, bool* carried) {
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(buffer);
  if (carried) *carried = meta && meta->carried;
  return meta ? meta->features : nullptr;
}

GstDinoclipFeatures* required_features_of(GstBuffer* buffer, const char* why, bool* carried) {
  GstDinoclipFeatures* features = features_of(buffer, carried);
  if (!features) {
    throw Error(std::string(why) +
                " has no DINO features: put dinofeatures before dinoseg ('... ! dinofeatures model=dino.pth ! "
                "dinoseg annotation=mask.png ! ...'); with dinofeatures async-inference=true, frames leave before "
                "the first result without features: train from annotation-image or load-head instead");
  }
  return features;
}

PatchGrid patch_grid(GstDinoclipFeatures* features, const DinosegState& state) {
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(features);
  const int64_t patches = int64_t(shape->grid_height) * shape->grid_width;
  at::Tensor tokens;
  // A fixed CPU device reads the host copy, which every other host reader shares.
  if (!state.fixed_device || !state.fixed_device->is_cpu()) {
    const at::Tensor resident = resident_tokens(features);
    if (resident.defined()) tokens = resident.narrow(0, 1, patches);
  }
  if (!tokens.defined()) tokens = patch_tokens(features);
  if (!tokens.defined()) throw Error("the DINO features could not be read (copy to host memory failed)");
  if (state.fixed_device) tokens = tokens.to(*state.fixed_device);
  return PatchGrid{tokens, int(shape->grid_height), int(shape->grid_width)};
}

void place_segmenter(DinosegState& state, c10::Device device) {
  if (state.fixed_device || !state.segmenter || !state.segmenter->head()) return;
  if (state.segmenter->head()->device() == device) return;
  CudaDeviceGuard guard(device);
  state.segmenter = VideoSegmenter::from_head(state.segmenter->head()->on(device));
}

namespace {

at::Tensor segment_frame(DinosegState& state, GstDinoclipFeatures* features) {
  const PatchGrid grid = patch_grid(features, state);
  place_segmenter(state, grid.features.device());
  CudaDeviceGuard guard(grid.features.device());
  return state.segmenter->segment(grid, state.height, state.width);
}

}  // namespace

GstFlowReturn pass_through(GstDinoseg* self, DinosegState& state, BufferPtr buffer, int64_t frame) {
  ++state.frames_without_features;
  GST_LOG_OBJECT(self, "frame %" G_GINT64_FORMAT " has no DINO features (dinofeatures had no result yet): passed on",
                 frame);
  return gst_pad_push(self->srcpad, buffer.release());
}

GstFlowReturn segment_and_push(GstDinoseg* self, DinosegState& state, BufferPtr owned, int64_t frame, at::Tensor mask) {
  if (!features_of(owned.get(), nullptr)) return pass_through(self, state, std::move(owned), frame);
  owned.reset(gst_buffer_make_writable(owned.release()));
  GstBuffer* buffer = owned.get();
  bool carried = false;
  GstDinoclipFeatures* features = features_of(buffer, &carried);
  // The same payload (dinoseg holds a reference, so the address names these
  // very features): dinofeatures' interval or async mode carried them.
  if (carried && features == state.last_features.get() && state.last_segmentation && !mask.defined()) {
    // Same features, same answer; no model step, no propagation step.
    gst_buffer_add_dinoclip_segmentation_meta(buffer, state.last_segmentation, TRUE);
  } else {
    if (!mask.defined()) mask = segment_frame(state, features);
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

void warn_if_no_features(GstDinoseg* self, const DinosegState& state) {
  if (state.frames_received == 0 || state.frames_without_features < state.frames_received) return;
  GST_ELEMENT_WARNING(self, STREAM, FAILED,
                      ("None of the %" G_GINT64_FORMAT " frames had DINO features, so nothing was segmented: put "
                       "dinofeatures before dinoseg ('... ! dinofeatures model=dino.pth ! dinoseg ...')",
                       state.frames_received),
                      (nullptr));
}


}  // namespace dinoclip::gst
