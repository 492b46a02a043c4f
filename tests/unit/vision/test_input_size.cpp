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
