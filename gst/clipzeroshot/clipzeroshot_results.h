// clipzeroshot's results as GStreamer sees them: the classification meta
// payload and the bus message structures (names and fields documented in
// docs/elements/clipzeroshot.md). No maths: the scores come from lib/tasks.
#pragma once

#include <gst/dinoclip/classification-meta.h>
#include <gst/gst.h>

#include <string>

#include "tasks/frame_zeroshot.h"
#include "tasks/query_trigger.h"
#include "tasks/zeroshot_texts.h"

namespace dinoclip::gst {

inline constexpr const char* kClassificationMessage = "clipzeroshot";
inline constexpr const char* kQueryMessage = "clipzeroshot-query";
inline constexpr const char* kUnknownLabel = "unknown";

// When a frame's timestamps are, as level and other analysers report them.
struct FrameTimes {
  GstClockTime timestamp = GST_CLOCK_TIME_NONE;  // buffer PTS
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  GstClockTime stream_time = GST_CLOCK_TIME_NONE;
};
FrameTimes frame_times(const GstSegment& segment, GstBuffer* buffer);

// Every label with its probability, the top_k ranked. An unknown frame gets
// one more entry, "unknown", scored at the threshold: all labels are below it,
// so it ranks first (what attnoverlay mode=label draws) while label indices
// 0..L-1 keep their meaning. `scores` must hold labels (result set). The
// image embedding goes with it, described by `embedding_model` (JSON, see
// index_model_to_json; "" leaves the description out).
GstDinoclipClassification* make_classification(const ZeroShotTexts& texts, const FrameScores& scores, guint top_k,
                                               double unknown_threshold, const std::string& embedding_model = "");

// "clipzeroshot": timestamp, stream-time, running-time, duration, label
// ("unknown" when unknown), score (the best label's probability), unknown,
// labels / scores (top-k, best first, GstValueArray), query-score with a query.
GstStructure* classification_structure(const ZeroShotTexts& texts, const FrameScores& scores, const FrameTimes& times);

// "clipzeroshot-query": event ("start" / "end"), query, score, threshold,
// timestamp, stream-time, running-time; an end also has start-timestamp.
GstStructure* query_event_structure(const std::string& query, const QueryEvent& event, double threshold,
                                    const FrameTimes& times);

}  // namespace dinoclip::gst
