// dinometapublish method=postgres: a frame's row for a PostgreSQL video index
// (lib/tasks/pg_video_index) from the CLIP image embedding clipzeroshot
// attaches to its classification meta. No maths, no SQL: the row goes to
// lib's PgFrameWriter, which writes it from its own thread.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <mutex>
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

// method=postgres between start and stop: where to, the writer (made on the
// first embedding, for the model it names) and what was said on the bus.
struct PgPublish {
  std::string conninfo, table;
  std::string address;  // for messages: no password
  guint max_queue = 0;
  std::unique_ptr<PgFrameWriter> writer;
  std::string model;  // the description the table was opened for
  bool warned_unreachable = false;
};

// READY->PAUSED: checks the address (no password in it) and the table name;
// connecting waits for the first embedding and happens on the writer's
// thread, so a server that is down never holds up the pipeline. False after
// posting an ERROR on `element`.
bool pg_publish_start(GstElement* element, PgPublish& pg, const std::string& address, const std::string& table,
                      guint max_queue);

// One frame (no row: nothing to queue): queues its row, never waiting for
// the server, and says on the bus once per outage that the server cannot be
// reached (an INFO when it is back), as method=mqtt does. An error no retry
// mends (password, another model's or size's table), or embeddings of
// another model mid-stream: an ERROR and GST_FLOW_ERROR. `writer_lock` is
// held while the writer is installed (others read its counters).
GstFlowReturn pg_publish_frame(GstElement* element, PgPublish& pg, std::optional<PgFrame> frame,
                               std::mutex& writer_lock);

}  // namespace dinoclip::gst
