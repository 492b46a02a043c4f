#include "dinometapublish/dinometapublish_pg.h"

#include <gst/dinoclip/classification-meta.h>

namespace dinoclip::gst {

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
