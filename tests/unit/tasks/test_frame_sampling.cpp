// SamplingInterval parsing and FrameSampler's choice of frames.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "tasks/frame_sampling.h"
#include "test_support.h"

using dinoclip::FrameSampler;
using dinoclip::SamplingInterval;
using dinoclip::testing::message_of;

namespace {

constexpr int64_t kMs = 1000000;

// Frame numbers kept from `count` frames stamped every `frame_ns`.
std::vector<int64_t> kept(const std::string& every, int count, int64_t frame_ns, int64_t start_ns = 0) {
  FrameSampler sampler(SamplingInterval::parse(every));
  std::vector<int64_t> frames;
  for (int i = 0; i < count; ++i) {
    if (sampler.keep(i, start_ns + i * frame_ns)) frames.push_back(i);
  }
  return frames;
}

}  // namespace

TEST(SamplingInterval, ParsesSecondsMillisecondsAndFrames) {
  EXPECT_EQ(SamplingInterval::parse("1s").amount, 1000 * kMs);
  EXPECT_EQ(SamplingInterval::parse("2.5s").amount, 2500 * kMs);
  EXPECT_EQ(SamplingInterval::parse("500ms").amount, 500 * kMs);
  EXPECT_EQ(SamplingInterval::parse("0.04s").amount, 40 * kMs);
  const SamplingInterval frames = SamplingInterval::parse("10f");
  EXPECT_EQ(frames.unit, SamplingInterval::Unit::kFrames);
  EXPECT_EQ(frames.amount, 10);
  EXPECT_EQ(SamplingInterval::parse("1s").unit, SamplingInterval::Unit::kTime);
}

TEST(SamplingInterval, DescribesInTheSyntaxItParses) {
  for (const char* text : {"1s", "500ms", "10f", "2.5s"}) {
    const SamplingInterval parsed = SamplingInterval::parse(text);
    const SamplingInterval again = SamplingInterval::parse(parsed.describe());
    EXPECT_EQ(again.amount, parsed.amount) << text << " -> " << parsed.describe();
    EXPECT_EQ(again.unit, parsed.unit) << text;
  }
  EXPECT_EQ(SamplingInterval::parse("2500ms").describe(), "2.5s");
  EXPECT_EQ(SamplingInterval::parse("500ms").describe(), "500ms");
}

TEST(SamplingInterval, RejectsUnknownUnitsZeroAndFractionalFrames) {
  for (const char* text : {"", "1", "1 s", "1min", "-1s", "0s", "0ms", "0f", "2.5f", "s", "1.2.3s", "abc", ".s"}) {
    const std::string message = message_of([&] { SamplingInterval::parse(text); });
    EXPECT_NE(message.find("not understood"), std::string::npos) << "'" << text << "': " << message;
  }
}

TEST(FrameSampler, KeepsOneFramePerIntervalFromTheFirstTimestamp) {
  // 10 fps for 3 s: one per second -> frames 0, 10, 20; one per 0.5 s -> every 5th.
  EXPECT_EQ(kept("1s", 30, 100 * kMs), (std::vector<int64_t>{0, 10, 20}));
  EXPECT_EQ(kept("500ms", 30, 100 * kMs), (std::vector<int64_t>{0, 5, 10, 15, 20, 25}));
  // Streams need not start at 0.
  EXPECT_EQ(kept("1s", 30, 100 * kMs, 7 * kMs), (std::vector<int64_t>{0, 10, 20}));
}

TEST(FrameSampler, ToleratesTimestampsRoundedJustBelowTheInterval) {
  // 30 fps stamped as 33,333,333 ns: frame 30 is at 999,999,990 ns, i.e. 1 s.
  EXPECT_EQ(kept("1s", 61, 33333333), (std::vector<int64_t>{0, 30, 60}));
  // NTSC 29.97 fps: the first frame at or after each second.
  EXPECT_EQ(kept("1s", 61, 33366667), (std::vector<int64_t>{0, 30, 60}));
}

TEST(FrameSampler, KeepsEveryFrameWhenTheyAreSparserThanTheInterval) {
  EXPECT_EQ(kept("100ms", 4, 1000 * kMs), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(FrameSampler, EveryNthFrameIgnoresTimestamps) {
  FrameSampler sampler(SamplingInterval::parse("7f"));
  std::vector<int64_t> frames;
  for (int i = 0; i < 30; ++i) {
    if (sampler.keep(i, -1)) frames.push_back(i);
  }
  EXPECT_EQ(frames, (std::vector<int64_t>{0, 7, 14, 21, 28}));
}

TEST(FrameSampler, RejectsTimeSamplingOfFramesWithoutTimestamps) {
  FrameSampler sampler(SamplingInterval::parse("1s"));
  const std::string message = message_of([&] { sampler.keep(0, -1); });
  EXPECT_NE(message.find("no timestamp"), std::string::npos) << message;
  EXPECT_NE(message.find("--every"), std::string::npos) << message;
}
