// dinometapublish method=postgres: a frame's row for a PostgreSQL video index
// (lib/tasks/pg_video_index) from the CLIP image embedding clipzeroshot
// attaches to its classification meta. No maths, no SQL: the row goes to
// lib's PgFrameWriter, which writes it from its own thread.
#pragma once

#include <gst/gst.h>

#include <optional>
#include <string>

#include "tasks/pg_frame_writer.h"

namespace dinoclip::gst {

// A frame's row with the description (JSON) of the model that made its embedding.
struct PgFrame {
  PgFrameRow row;
  std::string model;  // index_model_to_json text; "" when the meta carried none
};

// The row for `buffer`, or nothing when it has no embedding computed for it:
// no classification meta, a carried result (computed on an earlier frame and
// already stored with it), or a classification without an embedding. The
// row's pts is the PTS of the frame the embedding was computed on (with
// async-inference an earlier one than `buffer`), its time that PTS's stream
// time in `segment` (-1 when either is unknown); `frame` is the caller's
// frame count.
std::optional<PgFrame> pg_frame(GstBuffer* buffer, const GstSegment& segment, const std::string& source_id,
                                guint64 frame);

}  // namespace dinoclip::gst
