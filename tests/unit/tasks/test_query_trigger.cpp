// Event mode: start/end events with hysteresis on constructed score sequences.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "tasks/query_trigger.h"

using dinoclip::Error;
using dinoclip::QueryEvent;
using dinoclip::QueryTrigger;

namespace {

struct Fired {
  QueryEvent::Kind kind;
  int64_t timestamp;
  int64_t start_timestamp;
};

// Feeds scores at timestamps 0, 10, 20, ... and collects the events.
std::vector<Fired> run(QueryTrigger& trigger, const std::vector<double>& scores) {
  std::vector<Fired> fired;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (auto event = trigger.update(scores[i], int64_t(i) * 10)) {
      EXPECT_EQ(event->score, scores[i]);
      fired.push_back({event->kind, event->timestamp, event->start_timestamp});
    }
  }
  return fired;
}

}  // namespace

TEST(QueryTrigger, StartsAboveThresholdAndEndsBelowTheBand) {
  QueryTrigger trigger(/*threshold=*/0.3, /*hysteresis=*/0.05);
  // 0.31 starts; 0.27 and 0.26 are inside the band (>= 0.25): still on; 0.24 ends.
  const auto fired = run(trigger, {0.1, 0.2, 0.31, 0.27, 0.26, 0.24, 0.2});
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].kind, QueryEvent::Kind::kStart);
  EXPECT_EQ(fired[0].timestamp, 20);
  EXPECT_EQ(fired[1].kind, QueryEvent::Kind::kEnd);
  EXPECT_EQ(fired[1].timestamp, 50);
  EXPECT_EQ(fired[1].start_timestamp, 20);
  EXPECT_FALSE(trigger.active());
}

TEST(QueryTrigger, ScoreHoveringAtTheThresholdFiresOnce) {
  QueryTrigger trigger(0.3, 0.05);
  const auto fired = run(trigger, {0.29, 0.31, 0.29, 0.31, 0.28, 0.32, 0.3});
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].kind, QueryEvent::Kind::kStart);
  EXPECT_TRUE(trigger.active());
}

TEST(QueryTrigger, ZeroHysteresisEndsJustBelowTheThreshold) {
  QueryTrigger trigger(0.3, 0.0);
  const auto fired = run(trigger, {0.4, 0.3, 0.29, 0.31});
  ASSERT_EQ(fired.size(), 3u);  // start at 0.4, 0.3 is not below 0.3, end at 0.29, start again at 0.31
  EXPECT_EQ(fired[1].kind, QueryEvent::Kind::kEnd);
  EXPECT_EQ(fired[1].timestamp, 20);
  EXPECT_EQ(fired[2].kind, QueryEvent::Kind::kStart);
}

TEST(QueryTrigger, NanScoresFireNothing) {
  QueryTrigger trigger(0.3, 0.05);
  EXPECT_TRUE(run(trigger, {NAN, 0.5, NAN}).size() == 1u);
  EXPECT_TRUE(trigger.active());
}

TEST(QueryTrigger, ResetForgetsTheActiveEventWithoutFiring) {
  QueryTrigger trigger(0.3, 0.05);
  ASSERT_TRUE(trigger.update(0.5, 0).has_value());
  trigger.reset();
  EXPECT_FALSE(trigger.active());
  EXPECT_FALSE(trigger.update(0.1, 10).has_value());  // no end for a forgotten start
  EXPECT_EQ(trigger.update(0.5, 20)->kind, QueryEvent::Kind::kStart);
}

TEST(QueryTrigger, RejectsBadThresholds) {
  EXPECT_THROW(QueryTrigger(0.3, -0.01), Error);
  EXPECT_THROW(QueryTrigger(0.3, NAN), Error);
  EXPECT_THROW(QueryTrigger(INFINITY, 0.0), Error);
  QueryTrigger trigger(0.3, 0.05);
  EXPECT_THROW(trigger.set_thresholds(0.3, -1.0), Error);
  EXPECT_EQ(trigger.hysteresis(), 0.05);  // unchanged after the refusal
}
