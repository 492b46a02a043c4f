// dinoclip results as standard GstVideoRegionOfInterestMeta, so generic
// readers (DL Streamer's gvametaconvert/gvawatermark, DeepStream-style apps,
// anything using the GstVideo API) see them. The param structures are shaped
// like DL Streamer's: "detection" (x_min/y_min/x_max/y_max relative to the
// frame, label, label_id, confidence) and "classification" (label, label_id,
// confidence). Documented in docs/meta-api.md. No maths here: the class
// regions come from lib/tasks/mask_regions.
#pragma once

#include <gst/dinoclip/dinoclip-meta.h>
#include <gst/video/video.h>

#include <vector>

namespace dinoclip::gst {

inline constexpr const char* kClassificationRoiType = "clipzeroshot";
inline constexpr const char* kSegmentationRoiType = "dinoseg";

// One full-frame ROI (roi type "clipzeroshot") with a "classification" param:
// label, label_id (index in the classification's labels), confidence (the best
// score), and the ranked top-k as arrays labels / label_ids / confidences (best
// first); and a "detection" param covering the whole frame with the same
// label, label_id and confidence. Returns the meta (owned by the buffer).
GstVideoRegionOfInterestMeta* add_classification_roi(GstBuffer* buffer, GstDinoClassification* classification,
                                                     guint frame_width, guint frame_height);

// One ROI (roi type "dinoseg") per class present in the map, background
// (class 0) left out: the class's bounding box in frame pixels, and a
// "detection" param with the box relative to the frame, label "class-N",
// label_id and class_id N, area (class-map cells) and area_fraction, plus iou
// when class_iou holds a number for the class (per_class_iou against the
// ground truth; empty or NaN: no iou field). Returns how many were added.
guint add_segmentation_rois(GstBuffer* buffer, GstDinoSegmentation* segmentation, guint frame_width,
                            guint frame_height, const std::vector<double>& class_iou = {});

}  // namespace dinoclip::gst
