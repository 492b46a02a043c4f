#include "tasks/query_trigger.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace dinoclip {

const char* to_string(QueryEvent::Kind kind) { return kind == QueryEvent::Kind::kStart ? "start" : "end"; }

QueryTrigger::QueryTrigger(double threshold, double hysteresis) { set_thresholds(threshold, hysteresis); }

void QueryTrigger::set_thresholds(double threshold, double hysteresis) {
  if (!std::isfinite(threshold))
    throw Error("query threshold must be a finite number, got " + std::to_string(threshold));
  if (!(hysteresis >= 0.0) || !std::isfinite(hysteresis)) {
    throw Error("query hysteresis must be >= 0 (the drop below the threshold that ends an event), got " +
                std::to_string(hysteresis));
  }
  threshold_ = threshold;
  hysteresis_ = hysteresis;
}

std::optional<QueryEvent> QueryTrigger::update(double score, int64_t timestamp) {
  if (!active_ && score > threshold_) {
    active_ = true;
    start_timestamp_ = timestamp;
    return QueryEvent{QueryEvent::Kind::kStart, timestamp, score, timestamp};
  }
  if (active_ && score < threshold_ - hysteresis_) {
    active_ = false;
    return QueryEvent{QueryEvent::Kind::kEnd, timestamp, score, start_timestamp_};
  }
  return std::nullopt;
}

}  // namespace dinoclip
