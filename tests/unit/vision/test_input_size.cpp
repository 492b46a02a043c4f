#include <gtest/gtest.h>

#include "core/error.h"
#include "vision/input_size.h"

using namespace dinoclip;

TEST(InputSize, ParsesFixedShortSideAndNative) {
  InputSize fixed = InputSize::parse("480x640");
  EXPECT_EQ(fixed.kind, InputSize::Kind::kFixed);
  EXPECT_EQ(fixed.width, 480);
  EXPECT_EQ(fixed.height, 640);
  EXPECT_EQ(InputSize::parse("short:448").short_side, 448);
  EXPECT_EQ(InputSize::parse("native").kind, InputSize::Kind::kNative);
  EXPECT_EQ(InputSize::parse("short:448").to_string(), "short:448");
}

TEST(InputSize, RejectsMalformedText) {
  for (const char* bad : {"", "480", "480x", "x480", "abc", "short:", "short:-5", "0x480", "480x480x3"}) {
    EXPECT_THROW(InputSize::parse(bad), Error) << bad;
  }
}

TEST(InputSize, ShortSideKeepsAspectAndRoundsToPatch) {
  // 1920x1080 with the shorter side at 448: 796.4x448 -> 800x448 (patch 8).
  ResolvedSize r = resolve_input_size(InputSize::parse("short:448"), 1920, 1080, 8);
  EXPECT_EQ(r.width, 800);
  EXPECT_EQ(r.height, 448);
  r = resolve_input_size(InputSize::parse("short:224"), 640, 480, 16);
  EXPECT_EQ(r.width, 304);  // 298.7 -> 304 (nearest multiple of 16)
  EXPECT_EQ(r.height, 224);
}

TEST(InputSize, NativeCropsToWholePatches) {
  ResolvedSize r = resolve_input_size(InputSize::parse("native"), 333, 250, 16);
  EXPECT_EQ(r.width, 320);
  EXPECT_EQ(r.height, 240);
  EXPECT_THROW(resolve_input_size(InputSize::parse("native"), 7, 100, 8), Error);
}

TEST(InputSize, RejectsFixedSizeNotMultipleOfPatch) {
  try {
    resolve_input_size(InputSize::parse("500x480"), 0, 0, 8);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a multiple of the model's patch size 8"), std::string::npos);
  }
}

namespace {

std::string error_of(const InputSize& size, int frame_width, int frame_height, int patch) {
  try {
    resolve_input_size(size, frame_width, frame_height, patch);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(InputSize, RejectsSidesAboveTheLimitWhenParsed) {
  try {
    InputSize::parse("16385x480");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("16384-pixel limit"), std::string::npos) << e.what();
  }
  EXPECT_THROW(InputSize::parse("short:99999"), Error);
}

// The cases: --size 16384x16384, native on a 4K frame, short:N on an extreme aspect ratio.
TEST(InputSize, RejectsModelInputsAboveThePatchLimitSayingTheLimit) {
  const std::string fixed = error_of(InputSize::parse("16384x16384"), 0, 0, 16);
  EXPECT_NE(fixed.find("1048576 patches"), std::string::npos) << fixed;
  EXPECT_NE(fixed.find("limit of 16384 patches"), std::string::npos) << fixed;
  const std::string native = error_of(InputSize::parse("native"), 3840, 2160, 8);
  EXPECT_NE(native.find("on a 3840x2160 frame"), std::string::npos) << native;
  EXPECT_NE(native.find("short:480"), std::string::npos) << native;
  const std::string wide = error_of(InputSize::parse("short:448"), 100000, 10, 8);
  EXPECT_NE(wide.find("above the limit"), std::string::npos) << wide;
  EXPECT_NE(error_of(InputSize::parse("short:448"), 2147483647, 1, 16).find("above the limit"), std::string::npos);
}

TEST(InputSize, AcceptsSizesUpToTheLimit) {
  const ResolvedSize at_limit = resolve_input_size(InputSize::parse("1024x1024"), 0, 0, 8);  // 128x128 patches
  EXPECT_EQ(at_limit.width, 1024);
  const ResolvedSize davis = resolve_input_size(InputSize::parse("native"), 854, 480, 8);  // DAVIS 480p
  EXPECT_EQ(davis.width, 848);
  EXPECT_EQ(error_of(InputSize::parse("1032x1024"), 0, 0, 8).empty(), false);
}
