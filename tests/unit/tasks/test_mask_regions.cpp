// class_regions / scale_region on hand-drawn class maps.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "tasks/mask_regions.h"

namespace dinoclip {
namespace {

// 5 x 4 map:      x: 0 1 2 3 4
//   y=0              0 0 0 0 0
//   y=1              0 2 2 0 0
//   y=2              0 2 0 0 7
//   y=3              0 0 0 0 7
const std::vector<std::uint8_t> kMap = {0, 0, 0, 0, 0,  //
                                        0, 2, 2, 0, 0,  //
                                        0, 2, 0, 0, 7,  //
                                        0, 0, 0, 0, 7};

TEST(ClassRegions, BoxesAndAreasOfEveryPresentClass) {
  const std::vector<ClassRegion> regions = class_regions(kMap.data(), 5, 4, 5);
  ASSERT_EQ(regions.size(), 3u);
  EXPECT_EQ(regions[0].class_id, 0);
  EXPECT_EQ(regions[0].area, 15);
  EXPECT_EQ(regions[0].x_min, 0);
  EXPECT_EQ(regions[0].x_max, 5);
  EXPECT_EQ(regions[0].y_min, 0);
  EXPECT_EQ(regions[0].y_max, 4);

  EXPECT_EQ(regions[1].class_id, 2);
  EXPECT_EQ(regions[1].area, 3);
  EXPECT_EQ(regions[1].x_min, 1);
  EXPECT_EQ(regions[1].x_max, 3);  // exclusive
  EXPECT_EQ(regions[1].y_min, 1);
  EXPECT_EQ(regions[1].y_max, 3);

  EXPECT_EQ(regions[2].class_id, 7);
  EXPECT_EQ(regions[2].area, 2);
  EXPECT_EQ(regions[2].x_min, 4);
  EXPECT_EQ(regions[2].x_max, 5);
  EXPECT_EQ(regions[2].y_min, 2);
  EXPECT_EQ(regions[2].y_max, 4);
}

TEST(ClassRegions, ReadsRowsThroughTheStride) {
  // The same map with 3 padding bytes per row that hold a class of their own.
  std::vector<std::uint8_t> padded;
  for (int y = 0; y < 4; ++y) {
    padded.insert(padded.end(), kMap.begin() + y * 5, kMap.begin() + y * 5 + 5);
    padded.insert(padded.end(), {9, 9, 9});
  }
  const std::vector<ClassRegion> regions = class_regions(padded.data(), 5, 4, 8);
  ASSERT_EQ(regions.size(), 3u);  // no class 9
  EXPECT_EQ(regions[2].class_id, 7);
  EXPECT_EQ(regions[2].area, 2);
}

TEST(ClassRegions, Id255IsAClassLikeAnyOther) {
  const std::vector<std::uint8_t> map = {255, 0};
  const std::vector<ClassRegion> regions = class_regions(map.data(), 2, 1, 2);
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[1].class_id, 255);
  EXPECT_EQ(regions[1].x_max, 1);
}

TEST(ClassRegions, RejectsBadInput) {
  EXPECT_THROW(class_regions(nullptr, 2, 2, 2), Error);
  EXPECT_THROW(class_regions(kMap.data(), 0, 4, 5), Error);
  EXPECT_THROW(class_regions(kMap.data(), 5, 4, 4), Error);
}

TEST(ScaleRegion, SameGridIsIdentity) {
  const ClassRegion region{2, 1, 1, 3, 3, 3};
  const PixelBox box = scale_region(region, 5, 4, 5, 4);
  EXPECT_EQ(box.x, 1);
  EXPECT_EQ(box.y, 1);
  EXPECT_EQ(box.width, 2);
  EXPECT_EQ(box.height, 2);
}

TEST(ScaleRegion, RoundsOutwardToCoverEveryCell) {
  // Cells 1..2 of 3 across 10 pixels: cell 1 starts at 3.33 (-> 3), cell 2 ends at 10.
  const ClassRegion region{1, 1, 0, 3, 1, 2};
  const PixelBox box = scale_region(region, 3, 1, 10, 7);
  EXPECT_EQ(box.x, 3);
  EXPECT_EQ(box.width, 7);
  EXPECT_EQ(box.y, 0);
  EXPECT_EQ(box.height, 7);
  EXPECT_THROW(scale_region(region, 0, 1, 10, 7), Error);
}

}  // namespace
}  // namespace dinoclip
