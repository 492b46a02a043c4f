#include <gtest/gtest.h>

#include "vision/synthetic.h"

using namespace dinoclip;

TEST(SyntheticScene, MaskMarksExactlyThePaintedObjects) {
  SyntheticScene scene(160, 120, 2, 5);
  SyntheticFrame f0 = scene.render(0);
  ASSERT_EQ(f0.rgb.width, 160);
  ASSERT_EQ(f0.mask.channels, 1);
  int object_pixels = 0, max_id = 0;
  for (int y = 0; y < 120; ++y)
    for (int x = 0; x < 160; ++x) {
      object_pixels += f0.mask.at(x, y) != 0;
      max_id = std::max(max_id, int(f0.mask.at(x, y)));
    }
  EXPECT_GT(object_pixels, 160 * 120 / 20);
  EXPECT_LT(object_pixels, 160 * 120);
  EXPECT_EQ(max_id, 2);
}

TEST(SyntheticScene, DeterministicAndMoving) {
  SyntheticScene a(96, 96, 3, 11), b(96, 96, 3, 11);
  EXPECT_EQ(a.render(4).rgb.pixels, b.render(4).rgb.pixels);
  EXPECT_NE(a.render(0).mask.pixels, a.render(10).mask.pixels);
}
