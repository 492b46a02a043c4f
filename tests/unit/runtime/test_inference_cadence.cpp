// inference-interval / skip-late / carry, as every inference element decides.
#include <gtest/gtest.h>

#include <string>

#include "runtime/inference_cadence.h"

namespace dinoclip::runtime {
namespace {

// One letter per frame: I infer, c carry, s skipped as late.
std::string run(InferenceCadence& cadence, const CadenceSettings& settings, const std::string& late_frames) {
  std::string out;
  bool have = false;
  for (char late : late_frames) {
    switch (cadence.decide(settings, have, late == 'L')) {
      case InferenceCadence::Decision::kInfer: out += 'I'; have = true; break;
      case InferenceCadence::Decision::kCarry: out += 'c'; break;
      case InferenceCadence::Decision::kSkipLate: out += 's'; break;
    }
  }
  return out;
}

TEST(InferenceCadence, EveryNthFrameIsInferred) {
  InferenceCadence cadence;
  EXPECT_EQ(run(cadence, {3, true}, "........"), "IccIccIc");
  EXPECT_EQ(cadence.inferences(), 3u);
}

TEST(InferenceCadence, LateFramesCarryAndAreCountedOnlyWhenDue) {
  InferenceCadence cadence;
  EXPECT_EQ(run(cadence, {2, true}, ".LL.LL"), "IcsIcs");
  EXPECT_EQ(cadence.skipped(), 2u);
}

TEST(InferenceCadence, TheFirstFrameIsInferredEvenWhenLate) {
  InferenceCadence cadence;
  EXPECT_EQ(run(cadence, {1, true}, "LLL"), "Iss");
}

TEST(InferenceCadence, SkipLateOffInfersLateFrames) {
  InferenceCadence cadence;
  EXPECT_EQ(run(cadence, {1, false}, "LLL"), "III");
  EXPECT_EQ(cadence.skipped(), 0u);
}

TEST(InferenceCadence, ResetStartsTheIntervalAgain) {
  InferenceCadence cadence;
  EXPECT_EQ(run(cadence, {3, true}, ".."), "Ic");
  cadence.reset();
  EXPECT_EQ(run(cadence, {3, true}, "..."), "Icc");  // no result held by this run: infers first
}

}  // namespace
}  // namespace dinoclip::runtime
