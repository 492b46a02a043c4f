// Reads GstVideoRegionOfInterestMeta the way a generic application would:
// only the GstVideo API, no dinoclip header. Shared by the element tests
// that check the ROIs clipzeroshot and dinoseg attach.
#pragma once

#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace dinoclip::testing {

// A copy of one ROI: its box and its param structures (owned copies).
struct RoiCopy {
  std::string type;
  gint id = 0;
  guint x = 0, y = 0, w = 0, h = 0;
  std::vector<GstStructure*> params;

  RoiCopy() = default;
  RoiCopy(const RoiCopy&) = delete;
  RoiCopy& operator=(const RoiCopy&) = delete;
  RoiCopy(RoiCopy&& other) noexcept { *this = std::move(other); }
  RoiCopy& operator=(RoiCopy&& other) noexcept {
    std::swap(type, other.type);
    id = other.id, x = other.x, y = other.y, w = other.w, h = other.h;
    std::swap(params, other.params);
    return *this;
  }
  ~RoiCopy() {
    for (GstStructure* s : params) gst_structure_free(s);
  }
  // The param named `name`, or nullptr.
  const GstStructure* param(const char* name) const {
    for (GstStructure* s : params) {
      if (gst_structure_has_name(s, name)) return s;
    }
    return nullptr;
  }
};

// Every ROI on `buffer` whose roi type is `type`, in the order attached.
inline std::vector<RoiCopy> rois_of_type(GstBuffer* buffer, const char* type) {
  std::vector<RoiCopy> found;
  gpointer state = nullptr;
  while (GstMeta* meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    if (g_quark_to_string(roi->roi_type) != std::string(type)) continue;
    RoiCopy copy;
    copy.type = type;
    copy.id = roi->id;
    copy.x = roi->x, copy.y = roi->y, copy.w = roi->w, copy.h = roi->h;
    for (GList* l = roi->params; l; l = l->next) copy.params.push_back(gst_structure_copy(GST_STRUCTURE(l->data)));
    found.push_back(std::move(copy));
  }
  return found;
}

inline double double_field(const GstStructure* s, const char* field) {
  double value = -1;
  if (!s || !gst_structure_get_double(s, field, &value)) ADD_FAILURE() << "no double field " << field;
  return value;
}

inline int int_field(const GstStructure* s, const char* field) {
  int value = -1;
  if (!s || !gst_structure_get_int(s, field, &value)) ADD_FAILURE() << "no int field " << field;
  return value;
}

inline std::string string_field(const GstStructure* s, const char* field) {
  const gchar* value = s ? gst_structure_get_string(s, field) : nullptr;
  if (!value) ADD_FAILURE() << "no string field " << field;
  return value ? value : "";
}

}  // namespace dinoclip::testing
