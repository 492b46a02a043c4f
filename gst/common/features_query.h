// A custom upstream query between the plugin's elements: "DINO features of
// this picture, please". dinoseg's annotation-image asks it so that the
// annotation's features come from the very model (and input size) that
// upstream dinofeatures runs on the stream, without loading a second copy.
#pragma once

#include <gst/dinoclip/features-meta.h>
#include <gst/gst.h>

#include <string>

namespace dinoclip::gst {

// A query carrying the picture's path (PNG or JPEG).
GstQuery* features_for_image_query_new(const std::string& image_path);

// The path, if `query` is such a query.
bool parse_features_for_image_query(GstQuery* query, std::string* image_path);

// The answerer's side: the result (the query takes a reference) or why not.
void set_features_for_image_result(GstQuery* query, GstDinoFeatures* features);
void set_features_for_image_error(GstQuery* query, const std::string& message);

// The asker's side: a new reference to the result, or nullptr with *error set
// (to the answerer's message, or a hint when nobody answered).
GstDinoFeatures* features_for_image_result(GstQuery* query, bool answered, std::string* error);

}  // namespace dinoclip::gst
