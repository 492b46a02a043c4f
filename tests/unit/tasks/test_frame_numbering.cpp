// FrameNumbering: the source's frame counter, else stream time x frame rate,
// else arrival order; seeks and dropped frames keep numbers right.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "tasks/frame_numbering.h"

namespace dinoclip {
namespace {

constexpr int64_t kSecond = 1000000000;
constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

FramePosition at_time(int64_t ns) { return FramePosition{std::nullopt, ns}; }

TEST(FrameNumbering, CountsByArrivalWithoutOffsetOrTime) {
  FrameNumbering n;
  EXPECT_EQ(n.number({}), 0);
  EXPECT_EQ(n.number({}), 1);
  EXPECT_EQ(n.number({}), 2);
}

TEST(FrameNumbering, NumbersByStreamTimeTimesFramerate) {
  FrameNumbering n;
  n.set_framerate(25, 1);
  EXPECT_EQ(n.number(at_time(0)), 0);
  EXPECT_EQ(n.number(at_time(kSecond / 25 * 7)), 7);  // frames 1-6 dropped by a decoder
  EXPECT_EQ(n.number(at_time(kSecond / 25 * 8)), 8);
  EXPECT_EQ(n.number(at_time(0)), 0);  // a seek back to the start
}

TEST(FrameNumbering, RoundsTimestampsToTheNearestFrame) {
  FrameNumbering n;
  n.set_framerate(30000, 1001);  // NTSC: 33.366 ms frames, truncated timestamps
  EXPECT_EQ(n.number(at_time(1001 * kSecond / 30000 * 100)), 100);
  EXPECT_EQ(n.number(at_time(1001 * kSecond / 30000 * 100 + 16000000)), 100);  // 16 ms late: still 100
  EXPECT_EQ(n.number(at_time(1001 * kSecond / 30000 * 100 + 17000000)), 101);  // past half a frame
}

TEST(FrameNumbering, PrefersTheSourcesFrameCounterOverTime) {
  FrameNumbering n;
  n.set_framerate(25, 1);
  EXPECT_EQ(n.number(FramePosition{12, 0}), 12);
  EXPECT_EQ(n.number({}), 13);  // then arrival continues from it
}

TEST(FrameNumbering, IgnoresTimeWithoutAFramerate) {
  FrameNumbering n;
  n.set_framerate(0, 1);  // variable frame rate
  EXPECT_EQ(n.number(at_time(5 * kSecond)), 0);
  EXPECT_EQ(n.number(at_time(6 * kSecond)), 1);
  n.set_framerate(-3, 0);
  EXPECT_FALSE(n.has_framerate());
}

TEST(FrameNumbering, HugeTimestampsDoNotOverflow) {
  FrameNumbering n;
  n.set_framerate(1000, 1);
  const int64_t ten_years = int64_t(10) * 365 * 24 * 3600 * kSecond;
  EXPECT_EQ(n.number(at_time(ten_years)), ten_years / 1000000);
  EXPECT_GE(n.number(at_time(std::numeric_limits<int64_t>::max())), 0);
}

TEST(FrameNumbering, OnlyOneFramePerBufferOffsetsAreFrameCounters) {
  EXPECT_TRUE(offset_is_frame_counter(7, 8, kNone));        // videotestsrc
  EXPECT_FALSE(offset_is_frame_counter(4096, 9000, kNone));  // multifilesrc: bytes
  EXPECT_FALSE(offset_is_frame_counter(kNone, kNone, kNone)); // decoders
  EXPECT_FALSE(offset_is_frame_counter(7, kNone, kNone));
}

}  // namespace
}  // namespace dinoclip
