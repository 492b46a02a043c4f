#include "common/roi_params.h"

#include <cmath>
#include <string>

#include "tasks/mask_regions.h"

namespace dinoclip::gst {
namespace {

void set_box(GstStructure* s, double x_min, double y_min, double x_max, double y_max) {
  gst_structure_set(s, "x_min", G_TYPE_DOUBLE, x_min, "y_min", G_TYPE_DOUBLE, y_min, "x_max", G_TYPE_DOUBLE, x_max,
                    "y_max", G_TYPE_DOUBLE, y_max, nullptr);
}

void set_label(GstStructure* s, const gchar* label, gint label_id) {
  gst_structure_set(s, "label", G_TYPE_STRING, label, "label_id", G_TYPE_INT, label_id, nullptr);
}

// The ranked top-k as three GstValueArrays (best first).
void set_ranked(GstStructure* s, GstDinoClassification* classification) {
  const guint top_k = gst_dino_classification_get_top_k(classification);
  GValue labels = G_VALUE_INIT, ids = G_VALUE_INIT, confidences = G_VALUE_INIT;
  gst_value_array_init(&labels, top_k);
  gst_value_array_init(&ids, top_k);
  gst_value_array_init(&confidences, top_k);
  for (guint rank = 0; rank < top_k; ++rank) {
    guint index = 0;
    const gchar* label = nullptr;
    gfloat score = 0;
    gst_dino_classification_get_ranked(classification, rank, &index, &label, &score);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_STRING);
    g_value_set_string(&v, label);
    gst_value_array_append_and_take_value(&labels, &v);
    g_value_init(&v, G_TYPE_INT);
    g_value_set_int(&v, gint(index));
    gst_value_array_append_and_take_value(&ids, &v);
    g_value_init(&v, G_TYPE_DOUBLE);
    g_value_set_double(&v, score);
    gst_value_array_append_and_take_value(&confidences, &v);
  }
  gst_structure_take_value(s, "labels", &labels);
  gst_structure_take_value(s, "label_ids", &ids);
  gst_structure_take_value(s, "confidences", &confidences);
}

}  // namespace

GstVideoRegionOfInterestMeta* add_classification_roi(GstBuffer* buffer, GstDinoClassification* classification,
                                                     guint frame_width, guint frame_height) {
  guint best = 0;
  const gchar* label = nullptr;
  gfloat confidence = 0;
  if (!gst_dino_classification_get_ranked(classification, 0, &best, &label, &confidence)) return nullptr;
  GstVideoRegionOfInterestMeta* roi =
      gst_buffer_add_video_region_of_interest_meta(buffer, kClassificationRoiType, 0, 0, frame_width, frame_height);

  GstStructure* classified = gst_structure_new_empty("classification");
  set_label(classified, label, gint(best));
  gst_structure_set(classified, "confidence", G_TYPE_DOUBLE, double(confidence), nullptr);
  set_ranked(classified, classification);
  gst_video_region_of_interest_meta_add_param(roi, classified);

  GstStructure* detection = gst_structure_new_empty("detection");
  set_box(detection, 0, 0, 1, 1);
  set_label(detection, label, gint(best));
  gst_structure_set(detection, "confidence", G_TYPE_DOUBLE, double(confidence), nullptr);
  gst_video_region_of_interest_meta_add_param(roi, detection);
  return roi;
}

guint add_segmentation_rois(GstBuffer* buffer, GstDinoSegmentation* segmentation, guint frame_width,
                            guint frame_height, const std::vector<double>& class_iou) {
  const int map_width = int(gst_dino_segmentation_get_width(segmentation));
  const int map_height = int(gst_dino_segmentation_get_height(segmentation));
  const double cells = double(map_width) * map_height;
  guint added = 0;
  for (const ClassRegion& region :
       class_regions(gst_dino_segmentation_get_class_map(segmentation), map_width, map_height, map_width)) {
    if (region.class_id == 0) continue;  // background
    const PixelBox box = scale_region(region, map_width, map_height, int(frame_width), int(frame_height));
    GstVideoRegionOfInterestMeta* roi = gst_buffer_add_video_region_of_interest_meta(
        buffer, kSegmentationRoiType, guint(box.x), guint(box.y), guint(box.width), guint(box.height));
    roi->id = region.class_id;

    GstStructure* detection = gst_structure_new_empty("detection");
    set_box(detection, double(region.x_min) / map_width, double(region.y_min) / map_height,
            double(region.x_max) / map_width, double(region.y_max) / map_height);
    const std::string label = "class-" + std::to_string(region.class_id);
    set_label(detection, label.c_str(), region.class_id);
    gst_structure_set(detection, "class_id", G_TYPE_INT, region.class_id, "area", G_TYPE_INT64, gint64(region.area),
                      "area_fraction", G_TYPE_DOUBLE, double(region.area) / cells, nullptr);
    if (size_t(region.class_id) < class_iou.size() && !std::isnan(class_iou[size_t(region.class_id)])) {
      gst_structure_set(detection, "iou", G_TYPE_DOUBLE, class_iou[size_t(region.class_id)], nullptr);
    }
    gst_video_region_of_interest_meta_add_param(roi, detection);
    ++added;
  }
  return added;
}

}  // namespace dinoclip::gst
