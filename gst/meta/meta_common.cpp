#include "meta_common.h"

#include <gst/video/video.h>

namespace dinoclip_meta {

bool whole_frame_payload_survives(GQuark type, gpointer data) {
  if (GST_META_TRANSFORM_IS_COPY(type)) {
    const auto* copy = static_cast<const GstMetaTransformCopy*>(data);
    return !copy->region;
  }
  return type == gst_video_meta_transform_scale_get_quark();
}

}  // namespace dinoclip_meta
