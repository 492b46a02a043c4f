// FramePattern: printf-style per-frame paths without printf.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/frame_pattern.h"
#include "test_support.h"

namespace dinoclip {
namespace {

using testing::message_of;

TEST(FramePattern, FormatsTheFrameNumberLikePrintf) {
  EXPECT_EQ(FramePattern::parse("gt/%05d.png").path(42), "gt/00042.png");
  EXPECT_EQ(FramePattern::parse("gt/%05d.png").path(123456), "gt/123456.png");
  EXPECT_EQ(FramePattern::parse("f%d.png").path(7), "f7.png");
  EXPECT_EQ(FramePattern::parse("f%3d.png").path(7), "f  7.png");
  EXPECT_EQ(FramePattern::parse("100%%/%02d%%.png").path(3), "100%/03%.png");
  EXPECT_EQ(FramePattern::parse("%d").path(0), "0");
}

TEST(FramePattern, RejectsPatternsPrintfWouldMisread) {
  for (const char* bad : {"gt/00000.png", "gt/%s.png", "gt/%05d_%05d.png", "gt/%x.png", "gt/%ld.png", "gt/%",
                          "gt/%05"}) {
    const std::string message = message_of([&] { FramePattern::parse(bad); });
    EXPECT_NE(message.find(bad), std::string::npos) << bad << ": " << message;
    EXPECT_NE(message.find("%05d"), std::string::npos) << "no example of a valid pattern: " << message;
  }
}

TEST(FramePattern, RejectsNegativeFrames) {
  EXPECT_THROW(FramePattern::parse("%d.png").path(-1), Error);
}

}  // namespace
}  // namespace dinoclip
