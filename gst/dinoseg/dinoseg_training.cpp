#include "dinoseg/dinoseg_training.h"

#include <cmath>
#include <string>

#include "common/features_query.h"
#include "core/error.h"
#include "dinoseg/dinoseg_frames.h"
#include "dinoseg/dinoseg_training_progress.h"
#include "io/image_file.h"

#define GST_CAT_DEFAULT dino_seg_debug

namespace dinoclip::gst {
namespace {

// Each training step as a standard progress message and a 'dinoseg-progress' element message.
ProgressCallback progress_messages(GstDinoseg* self, int total) {
  if (total > 0) post_training_progress(GST_ELEMENT(self), 0, total, NAN);
  return [self, total](int iteration, double loss) {
    GST_DEBUG_OBJECT(self, "training: step %d/%d, loss %.5f", iteration, total, loss);
    post_training_progress(GST_ELEMENT(self), iteration, total, loss);
    post_dinoseg_message(self, gst_structure_new("dinoseg-progress", "iteration", G_TYPE_INT, iteration, "iterations",
                                                 G_TYPE_INT, total, "loss", G_TYPE_DOUBLE, loss, nullptr));
  };
}

void post_trained(GstDinoseg* self, const VideoSegmenter& segmenter, int64_t frame) {
  GstStructure* s =
      gst_structure_new("dinoseg-trained", "method", G_TYPE_STRING, seg_method_name(segmenter.method()), "classes",
                        G_TYPE_INT, segmenter.num_classes(), "frame", G_TYPE_INT64, frame, nullptr);
  if (segmenter.head()) {
    const TrainReport& report = segmenter.head()->report();
    gst_structure_set(s, "accuracy", G_TYPE_DOUBLE, report.train_accuracy, "loss", G_TYPE_DOUBLE, report.final_loss,
                      "milliseconds", G_TYPE_DOUBLE, report.milliseconds, nullptr);
    self->priv->train_accuracy = report.train_accuracy;
  }
  self->priv->trained = true;
  post_dinoseg_message(self, s);
}

// Trains on `annotated` (the features of what the annotation annotates; -1 =
// annotation-image), then reports and saves the head.
void train(GstDinoseg* self, DinosegState& state, const PatchGrid& annotated, int64_t frame) {
  // On the features' device (with its GPU current: nothing lands on GPU 0).
  CudaDeviceGuard guard(annotated.features.device());
  state.segmenter = VideoSegmenter::from_annotation(annotated, *state.annotation, state.config,
                                                    progress_messages(self, state.settings.num_iters));
  post_trained(self, *state.segmenter, frame);
  if (!state.settings.save_head.empty() && state.segmenter->head()) {
    state.segmenter->head()->save(state.settings.save_head);
    GST_INFO_OBJECT(self, "saved the head to %s", state.settings.save_head.c_str());
  }
}

}  // namespace

void check_annotation_size(const DinosegState& state, int width, int height, const char* of_what) {
  if (!state.annotation) return;
  if (state.annotation->width != width || state.annotation->height != height) {
    throw Error("the annotation '" + state.settings.annotation + "' is " + std::to_string(state.annotation->width) +
                "x" + std::to_string(state.annotation->height) + " but " + of_what + " is " + std::to_string(width) +
                "x" + std::to_string(height) + ": the mask must have the size of the frame it annotates");
  }
}

void train_on_annotation_image(GstDinoseg* self, DinosegState& state) {
  GstQuery* query = features_for_image_query_new(state.settings.annotation_image);
  const bool answered = gst_pad_peer_query(self->sinkpad, query);
  std::string error;
  GstDinoclipFeatures* features = features_for_image_result(query, answered, &error);
  gst_query_unref(query);
  if (!features) throw Error("annotation-image '" + state.settings.annotation_image + "': " + error);
  try {
    const Image picture = read_image(state.settings.annotation_image);
    check_annotation_size(state, picture.width, picture.height, "annotation-image");
    train(self, state, patch_grid(features, state), -1);
  } catch (...) {
    gst_dinoclip_features_unref(features);
    throw;
  }
  gst_dinoclip_features_unref(features);
}

void train_on_annotated_frame(GstDinoseg* self, DinosegState& state, GstBuffer* buffer, int64_t frame) {
  check_annotation_size(state, state.width, state.height, "the video");
  bool carried = false;
  const std::string which = "annotation-frame " + std::to_string(frame);
  GstDinoclipFeatures* features = required_features_of(buffer, which.c_str(), &carried);
  if (carried) {
    throw Error("annotation-frame " + std::to_string(frame) +
                " arrived with DINO features carried from an earlier "
                "frame (dinofeatures computes only every interval-th frame), so the mask would be learnt on another "
                "frame's features: annotate a frame dinofeatures computes (a multiple of its interval, counted from "
                "the first frame), or set dinofeatures interval=1");
  }
  GST_INFO_OBJECT(self, "frame %" G_GINT64_FORMAT " is the annotated one: setting up %s (%zu frames held)", frame,
                  seg_method_name(state.config.method), state.held.size());
  train(self, state, patch_grid(features, state), frame);
}

}  // namespace dinoclip::gst
