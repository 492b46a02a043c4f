#include "common/features_query.h"

namespace dinoclip::gst {
namespace {

constexpr const char* kQueryName = "dinoclip-features-for-image";

}  // namespace

GstQuery* features_for_image_query_new(const std::string& image_path) {
  return gst_query_new_custom(GST_QUERY_CUSTOM,
                              gst_structure_new(kQueryName, "path", G_TYPE_STRING, image_path.c_str(), nullptr));
}

bool parse_features_for_image_query(GstQuery* query, std::string* image_path) {
  if (GST_QUERY_TYPE(query) != GST_QUERY_CUSTOM) return false;
  const GstStructure* s = gst_query_get_structure(query);
  if (!s || !gst_structure_has_name(s, kQueryName)) return false;
  const gchar* path = gst_structure_get_string(s, "path");
  if (!path) return false;
  *image_path = path;
  return true;
}

void set_features_for_image_result(GstQuery* query, GstDinoFeatures* features) {
  gst_structure_set(gst_query_writable_structure(query), "features", GST_TYPE_DINO_FEATURES, features, nullptr);
}

void set_features_for_image_error(GstQuery* query, const std::string& message) {
  gst_structure_set(gst_query_writable_structure(query), "error", G_TYPE_STRING, message.c_str(), nullptr);
}

GstDinoFeatures* features_for_image_result(GstQuery* query, bool answered, std::string* error) {
  const GstStructure* s = gst_query_get_structure(query);
  GstDinoFeatures* features = nullptr;
  if (answered && gst_structure_get(s, "features", GST_TYPE_DINO_FEATURES, &features, nullptr) && features) {
    return features;
  }
  const gchar* message = gst_structure_get_string(s, "error");
  *error = message ? message
                   : "no dinofeatures element upstream answered (annotation-image needs '... ! dinofeatures "
                     "model=... ! dinoseg annotation-image=...'; only queue and converters may sit between them)";
  return nullptr;
}

}  // namespace dinoclip::gst
