#include "dinometapublish/dinometapublish_json.h"

#include <gst/dinoclip/dinoclip-meta.h>
#include <gst/video/video.h>

#include <nlohmann/json.hpp>

#include <cstring>

#include "common/roi_params.h"

namespace dinoclip::gst {
namespace {

using nlohmann::json;

// A clock time as a number of nanoseconds, or null when unknown.
json clock_time(GstClockTime t) { return GST_CLOCK_TIME_IS_VALID(t) ? json(guint64(t)) : json(nullptr); }

// Host float32 bytes (little-endian on every platform dinoclip builds for) as base64.
std::string base64_floats(const gfloat* data, gsize n_floats) {
  gchar* encoded = g_base64_encode(reinterpret_cast<const guchar*>(data), n_floats * sizeof(gfloat));
  std::string text(encoded);
  g_free(encoded);
  return text;
}

json features_json(GstDinoFeaturesMeta* meta, const FrameJsonContext& context) {
  const GstDinoFeaturesShape* shape = gst_dino_features_get_shape(meta->features);
  json out = {{"grid_height", shape->grid_height}, {"grid_width", shape->grid_width}, {"dim", shape->dim},
              {"n_heads", shape->n_heads},         {"patch_size", shape->patch_size},
              {"input_width", shape->input_width}, {"input_height", shape->input_height},
              {"carried", bool(meta->carried)},    {"source_timestamp", clock_time(meta->source_pts)}};
  if (context.include_attention && shape->n_heads > 0) {
    gsize n = 0;
    if (const gfloat* attention = gst_dino_features_get_cls_attention(meta->features, &n)) {
      out["cls_attention"] = {{"shape", {shape->n_heads, shape->grid_height * shape->grid_width}},
                              {"dtype", "float32"},
                              {"base64", base64_floats(attention, n)}};
    }
  }
  if (context.include_embedding) {
    gsize n = 0;
    if (const gfloat* cls = gst_dino_features_get_cls_token(meta->features, &n)) {
      out["embedding"] = {{"shape", {n}}, {"dtype", "float32"}, {"base64", base64_floats(cls, n)}};
    }
  }
  return out;
}

json classification_json(GstDinoClassificationMeta* meta) {
  GstDinoClassification* c = meta->classification;
  json top = json::array();
  for (guint rank = 0; rank < gst_dino_classification_get_top_k(c); ++rank) {
    guint index = 0;
    const gchar* label = nullptr;
    gfloat score = 0;
    gst_dino_classification_get_ranked(c, rank, &index, &label, &score);
    top.push_back({{"label", label}, {"label_id", index}, {"confidence", score}});
  }
  json out = {{"carried", bool(meta->carried)}, {"top", top}};
  if (!top.empty()) {
    out["label"] = top[0]["label"];
    out["label_id"] = top[0]["label_id"];
    out["confidence"] = top[0]["confidence"];
  }
  return out;
}

// The "dinoseg" ROIs (one per object class) as plain objects.
json classes_json(GstBuffer* buffer) {
  json classes = json::array();
  gpointer state = nullptr;
  while (GstMeta* meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    if (std::strcmp(g_quark_to_string(roi->roi_type), kSegmentationRoiType) != 0) continue;
    const GstStructure* detection = gst_video_region_of_interest_meta_get_param(roi, "detection");
    if (!detection) continue;
    json entry = {{"bbox", {{"x", roi->x}, {"y", roi->y}, {"width", roi->w}, {"height", roi->h}}}};
    gint class_id = 0;
    gint64 area = 0;
    gdouble number = 0;
    if (gst_structure_get_int(detection, "class_id", &class_id)) entry["class_id"] = class_id;
    if (const gchar* label = gst_structure_get_string(detection, "label")) entry["label"] = label;
    if (gst_structure_get_int64(detection, "area", &area)) entry["area"] = area;
    if (gst_structure_get_double(detection, "area_fraction", &number)) entry["area_fraction"] = number;
    if (gst_structure_get_double(detection, "iou", &number)) entry["iou"] = number;
    classes.push_back(entry);
  }
  return classes;
}

json segmentation_json(GstDinoSegmentationMeta* meta, GstBuffer* buffer) {
  GstDinoSegmentation* s = meta->segmentation;
  return {{"width", gst_dino_segmentation_get_width(s)},
          {"height", gst_dino_segmentation_get_height(s)},
          {"n_classes", gst_dino_segmentation_get_n_classes(s)},
          {"carried", bool(meta->carried)},
          {"classes", classes_json(buffer)}};
}

}  // namespace

std::string frame_json(GstBuffer* buffer, const FrameJsonContext& context) {
  json line = {{"frame", context.frame},
               {"timestamp", clock_time(context.timestamp)},
               {"duration", clock_time(context.duration)},
               {"running_time", clock_time(context.running_time)},
               {"stream_time", clock_time(context.stream_time)}};
  if (!context.stream_id.empty()) line["stream_id"] = context.stream_id;
  if (context.width > 0) line["resolution"] = {{"width", context.width}, {"height", context.height}};
  if (GstDinoFeaturesMeta* meta = gst_buffer_get_dino_features_meta(buffer)) {
    line["features"] = features_json(meta, context);
  }
  if (GstDinoClassificationMeta* meta = gst_buffer_get_dino_classification_meta(buffer)) {
    line["classification"] = classification_json(meta);
  }
  if (GstDinoSegmentationMeta* meta = gst_buffer_get_dino_segmentation_meta(buffer)) {
    line["segmentation"] = segmentation_json(meta, buffer);
  }
  // Labels may hold any bytes a user typed: replace invalid UTF-8 rather than throw.
  return line.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace dinoclip::gst
