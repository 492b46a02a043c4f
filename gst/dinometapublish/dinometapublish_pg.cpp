#include "dinometapublish/dinometapublish_pg.h"

#include <gst/dinoclip/classification-meta.h>

#include <algorithm>

#include "io/postgres.h"
#include "tasks/video_index.h"

namespace dinoclip::gst {
namespace {

constexpr guint kPgBatch = 64;  // frames per transaction at most

GstFlowReturn report_status(GstElement* element, PgPublish& pg) {
  const std::string fatal = pg.writer->fatal_error();
  if (!fatal.empty()) {
    GST_ELEMENT_ERROR(element, RESOURCE, OPEN_WRITE,
                      ("Cannot store embeddings in %s, table %s: %s", pg.address.c_str(), pg.table.c_str(),
                       fatal.c_str()),
                      ("method=postgres address=%s table=%s", pg.address.c_str(), pg.table.c_str()));
    return GST_FLOW_ERROR;
  }
  const bool connected = pg.writer->connected();
  if (!pg.warned_unreachable && !connected) {
    const std::string problem = pg.writer->last_error();
    if (problem.empty()) return GST_FLOW_OK;  // the first connection is still being made
    pg.warned_unreachable = true;
    GST_ELEMENT_WARNING(element, RESOURCE, WRITE,
                        ("PostgreSQL at %s unreachable (%s): frames' embeddings are being dropped (the newest %u are "
                         "kept for when it is back; see 'dropped'); retrying in the background",
                         pg.address.c_str(), problem.c_str(), pg.max_queue),
                        ("check that PostgreSQL listens at address=%s", pg.address.c_str()));
  } else if (pg.warned_unreachable && connected) {
    pg.warned_unreachable = false;
    GST_ELEMENT_INFO(element, RESOURCE, WRITE,
                     ("Connected to PostgreSQL at %s again; %" G_GUINT64_FORMAT " embeddings dropped so far",
                      pg.address.c_str(), guint64(pg.writer->dropped())),
                     (nullptr));
  }
  return GST_FLOW_OK;
}

}  // namespace

bool pg_publish_start(GstElement* element, PgPublish& pg, const std::string& address, const std::string& table,
                      guint max_queue) {
  try {
    check_postgres_address(address, "address");
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(element, RESOURCE, SETTINGS, ("Bad PostgreSQL address: %s", e.what()),
                      ("method=postgres takes a libpq connection string, e.g. address=\"host=db.example dbname=videos "
                       "user=me\" or postgresql://me@db.example:5432/videos; the password comes from $PGPASSWORD or "
                       "~/.pgpass"));
    return false;
  }
  try {
    check_index_table_name(table);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(element, RESOURCE, SETTINGS, ("Bad table property: %s", e.what()), (nullptr));
    return false;
  }
  pg.conninfo = address;
  pg.table = table;
  pg.address = describe_postgres_address(address);
  pg.max_queue = max_queue;
  return true;
}

GstFlowReturn pg_publish_frame(GstElement* element, PgPublish& pg, std::optional<PgFrame> frame,
                               std::mutex& writer_lock) {
  if (!frame) return pg.writer ? report_status(element, pg) : GST_FLOW_OK;
  if (frame->model.empty()) {
    GST_ELEMENT_ERROR(element, STREAM, FORMAT, ("A frame's CLIP embedding came without its model's description"),
                      ("set it with gst_dinoclip_classification_set_embedding(..., model) as clipzeroshot does: an "
                       "index never mixes embedding spaces"));
    return GST_FLOW_ERROR;
  }
  if (!pg.writer) {
    PgFrameWriter::Options options;
    options.conninfo = pg.conninfo;
    options.table = pg.table;
    options.model = index_model_from_json(frame->model);
    options.max_queued = std::max<guint>(1, pg.max_queue);
    options.batch = kPgBatch;
    options.connect_in_background = true;
    auto writer = std::make_unique<PgFrameWriter>(std::move(options));
    std::lock_guard<std::mutex> lock(writer_lock);
    pg.writer = std::move(writer);
    pg.model = frame->model;
  } else if (frame->model != pg.model) {
    const IndexModel now = index_model_from_json(frame->model);
    const IndexModel before = index_model_from_json(pg.model);
    GST_ELEMENT_ERROR(element, STREAM, FORMAT,
                      ("Frames' CLIP embeddings now come from another model (%s, %s) than before (%s, %s)",
                       now.name.c_str(), now.weights.c_str(), before.name.c_str(), before.weights.c_str()),
                      ("table %s holds one model's embeddings: restart the pipeline with another table",
                       pg.table.c_str()));
    return GST_FLOW_ERROR;
  }
  pg.writer->push(std::move(frame->row));  // a full queue drops and counts it
  return report_status(element, pg);
}

std::optional<PgFrame> pg_frame(GstBuffer* buffer, const GstSegment& segment, const std::string& source_id,
                                guint64 frame) {
  const GstDinoclipClassificationMeta* meta = gst_buffer_get_dinoclip_classification_meta(buffer);
  if (!meta || !meta->classification || meta->carried) return std::nullopt;
  guint dim = 0;
  const gfloat* embedding = gst_dinoclip_classification_get_embedding(meta->classification, &dim);
  if (!embedding || dim == 0) return std::nullopt;
  PgFrame out;
  const gchar* model = gst_dinoclip_classification_get_embedding_model(meta->classification);
  out.model = model ? model : "";
  const GstClockTime pts = GST_CLOCK_TIME_IS_VALID(meta->source_pts) ? meta->source_pts : GST_BUFFER_PTS(buffer);
  GstClockTime stream_time = GST_CLOCK_TIME_NONE;
  if (segment.format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(pts)) {
    stream_time = gst_segment_to_stream_time(&segment, GST_FORMAT_TIME, pts);
  }
  out.row.video = source_id;
  out.row.source_id = source_id;
  out.row.pts_ns = GST_CLOCK_TIME_IS_VALID(pts) ? int64_t(pts) : -1;
  out.row.time_ns = GST_CLOCK_TIME_IS_VALID(stream_time) ? int64_t(stream_time) : -1;
  out.row.frame = int64_t(frame);
  out.row.embedding.assign(embedding, embedding + dim);
  return out;
}

}  // namespace dinoclip::gst
