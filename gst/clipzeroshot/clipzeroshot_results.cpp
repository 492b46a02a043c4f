#include "clipzeroshot/clipzeroshot_results.h"

#include <string>
#include <vector>

namespace dinoclip::gst {
namespace {

void append_string(GValue* array, const std::string& text) {
  GValue value = G_VALUE_INIT;
  g_value_init(&value, G_TYPE_STRING);
  g_value_set_string(&value, text.c_str());
  gst_value_array_append_and_take_value(array, &value);
}

void append_double(GValue* array, double number) {
  GValue value = G_VALUE_INIT;
  g_value_init(&value, G_TYPE_DOUBLE);
  g_value_set_double(&value, number);
  gst_value_array_append_and_take_value(array, &value);
}

void set_times(GstStructure* s, const FrameTimes& times) {
  gst_structure_set(s, "timestamp", G_TYPE_UINT64, times.timestamp, "stream-time", G_TYPE_UINT64, times.stream_time,
                    "running-time", G_TYPE_UINT64, times.running_time, "duration", G_TYPE_UINT64, times.duration,
                    nullptr);
}

}  // namespace

FrameTimes frame_times(const GstSegment& segment, GstBuffer* buffer) {
  FrameTimes times;
  times.timestamp = GST_BUFFER_PTS(buffer);
  times.duration = GST_BUFFER_DURATION(buffer);
  if (segment.format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(times.timestamp)) {
    times.running_time = gst_segment_to_running_time(&segment, GST_FORMAT_TIME, times.timestamp);
    times.stream_time = gst_segment_to_stream_time(&segment, GST_FORMAT_TIME, times.timestamp);
  }
  return times;
}

GstDinoclipClassification* make_classification(const ZeroShotTexts& texts, const FrameScores& scores, guint top_k,
                                               double unknown_threshold, const std::string& embedding_model) {
  std::vector<const gchar*> labels;
  for (const std::string& label : texts.labels) labels.push_back(label.c_str());
  const float* probabilities = scores.probabilities.data_ptr<float>();
  std::vector<gfloat> values(probabilities, probabilities + labels.size());
  if (scores.result->unknown) {
    labels.push_back(kUnknownLabel);
    values.push_back(static_cast<gfloat>(unknown_threshold));
    top_k = top_k + 1;  // the real top-k still follow "unknown"
  }
  GstDinoclipClassification* classification =
      gst_dinoclip_classification_new(labels.data(), values.data(), labels.size(), top_k);
  if (scores.image_embedding.defined()) {
    gst_dinoclip_classification_set_embedding(classification, scores.image_embedding.data_ptr<float>(),
                                              guint(scores.image_embedding.numel()),
                                              embedding_model.empty() ? nullptr : embedding_model.c_str());
  }
  return classification;
}

GstStructure* classification_structure(const ZeroShotTexts& texts, const FrameScores& scores, const FrameTimes& times) {
  const ZeroShotResult& result = *scores.result;
  const LabelProbability& best = result.top.front();
  GstStructure* s = gst_structure_new_empty(kClassificationMessage);
  set_times(s, times);
  gst_structure_set(s, "label", G_TYPE_STRING,
                    result.unknown ? kUnknownLabel : texts.labels[size_t(best.label)].c_str(), "score", G_TYPE_DOUBLE,
                    double(best.probability), "unknown", G_TYPE_BOOLEAN, gboolean(result.unknown), nullptr);
  GValue labels = G_VALUE_INIT, values = G_VALUE_INIT;
  gst_value_array_init(&labels, result.top.size());
  gst_value_array_init(&values, result.top.size());
  for (const LabelProbability& entry : result.top) {
    append_string(&labels, texts.labels[size_t(entry.label)]);
    append_double(&values, entry.probability);
  }
  gst_structure_take_value(s, "labels", &labels);
  gst_structure_take_value(s, "scores", &values);
  if (scores.query_similarity) {
    gst_structure_set(s, "query-score", G_TYPE_DOUBLE, *scores.query_similarity, nullptr);
  }
  return s;
}

GstStructure* query_event_structure(const std::string& query, const QueryEvent& event, double threshold,
                                    const FrameTimes& times) {
  GstStructure* s = gst_structure_new(kQueryMessage, "event", G_TYPE_STRING, to_string(event.kind), "query",
                                      G_TYPE_STRING, query.c_str(), "score", G_TYPE_DOUBLE, event.score, "threshold",
                                      G_TYPE_DOUBLE, threshold, nullptr);
  set_times(s, times);
  if (event.kind == QueryEvent::Kind::kEnd) {
    gst_structure_set(s, "start-timestamp", G_TYPE_UINT64, guint64(event.start_timestamp), nullptr);
  }
  return s;
}

}  // namespace dinoclip::gst
