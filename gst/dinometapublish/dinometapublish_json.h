// One frame's dinoclip results as one JSON object (dinometapublish's line).
// Reads our metas and the generic "dinoseg" ROIs (per-class box, area, IoU);
// the field list is documented in docs/elements/dinometapublish.md. No maths
// here: the numbers were computed by the elements (and lib/) upstream.
#pragma once

#include <gst/gst.h>

#include <string>

namespace dinoclip::gst {

struct FrameJsonContext {
  std::string stream_id;                       // empty: field left out
  guint64 frame = 0;                           // this element's frame counter, from 0
  GstClockTime timestamp = GST_CLOCK_TIME_NONE;  // PTS
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  GstClockTime stream_time = GST_CLOCK_TIME_NONE;
  gint width = 0, height = 0;                  // frame size from the caps; 0: not video caps
  bool include_attention = false;              // CLS attention as base64 float32 (little-endian)
  bool include_embedding = false;              // the CLS token as base64 float32
};

// The JSON text, one line (no newline at the end). Sections appear only for
// the metas present: "features", "classification", "segmentation".
std::string frame_json(GstBuffer* buffer, const FrameJsonContext& context);

}  // namespace dinoclip::gst
