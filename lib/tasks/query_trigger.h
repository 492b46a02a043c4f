// Event mode for a text query on video: "it appeared" when the query's
// similarity rises above a threshold, "it left" when it falls clearly below
// it. The hysteresis band keeps a score that hovers around the threshold from
// firing an event on every frame.
#pragma once

#include <cstdint>
#include <optional>

namespace dinoclip {

struct QueryEvent {
  enum class Kind { kStart, kEnd };
  Kind kind;
  int64_t timestamp;        // of the frame that crossed (the caller's unit, e.g. ns)
  double score;             // its similarity
  int64_t start_timestamp;  // kEnd: when the matching kStart fired; kStart: == timestamp
};

const char* to_string(QueryEvent::Kind kind);  // "start" / "end"

class QueryTrigger {
 public:
  // Starts inactive. An event starts when score > threshold and ends when
  // score < threshold - hysteresis. Throws dinoclip::Error on a negative or
  // non-finite hysteresis or a non-finite threshold.
  QueryTrigger(double threshold, double hysteresis);

  // Feeds one frame's similarity; returns the event it causes, if any.
  std::optional<QueryEvent> update(double score, int64_t timestamp);

  // New thresholds apply from the next update; the active state is kept.
  void set_thresholds(double threshold, double hysteresis);

  // Back to inactive with no event (a seek, a new query).
  void reset() { active_ = false; }

  bool active() const { return active_; }
  double threshold() const { return threshold_; }
  double hysteresis() const { return hysteresis_; }

 private:
  double threshold_ = 0.0;
  double hysteresis_ = 0.0;
  bool active_ = false;
  int64_t start_timestamp_ = 0;
};

}  // namespace dinoclip
