// AnnotatedFrameWait: dinoseg's hold / train decision and its two refusals.
#include <gtest/gtest.h>

#include <string>

#include "tasks/annotated_frame_wait.h"
#include "test_support.h"

namespace dinoclip {
namespace {

using Step = AnnotatedFrameWait::Step;
using testing::message_of;

TEST(AnnotatedFrameWait, HoldsFramesBeforeTheAnnotatedOneAndTrainsOnIt) {
  const AnnotatedFrameWait wait(/*annotation_frame=*/3, /*max_held=*/10);
  EXPECT_EQ(wait.next(0), Step::kHold);
  EXPECT_EQ(wait.next(2), Step::kHold);
  EXPECT_EQ(wait.next(3), Step::kTrain);
}

TEST(AnnotatedFrameWait, FrameZeroAnnotatedTrainsOnTheFirstFrame) {
  const AnnotatedFrameWait wait(0, 0);
  EXPECT_EQ(wait.next(0), Step::kTrain);
}

TEST(AnnotatedFrameWait, RejectsAStreamThatWentPastTheAnnotatedFrame) {
  const AnnotatedFrameWait wait(3, 10);
  const std::string message = message_of([&] { wait.next(4); });
  EXPECT_NE(message.find("annotation-frame 3 never arrived"), std::string::npos) << message;
  EXPECT_NE(message.find("went on to frame 4"), std::string::npos) << message;
}

TEST(AnnotatedFrameWait, HasRoomUpToMaxHeldThenRejectsNamingTheSetting) {
  const AnnotatedFrameWait wait(100, 2);
  EXPECT_EQ(message_of([&] { wait.check_room(0); }), "(no error)");
  EXPECT_EQ(message_of([&] { wait.check_room(1); }), "(no error)");
  const std::string message = message_of([&] { wait.check_room(2); });
  EXPECT_NE(message.find("max-held-frames=2"), std::string::npos) << message;
  EXPECT_NE(message.find("annotation-frame 100"), std::string::npos) << message;
}

TEST(AnnotatedFrameWait, RejectsHoldingAnyFrameWithMaxHeldZero) {
  const AnnotatedFrameWait wait(1, 0);
  EXPECT_NE(message_of([&] { wait.check_room(0); }).find("max-held-frames=0"), std::string::npos);
}

}  // namespace
}  // namespace dinoclip
