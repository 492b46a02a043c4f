// IoU on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "tasks/iou.h"

namespace dinoclip {
namespace {

Image row_mask(const std::vector<int>& ids) {
  Image mask(int(ids.size()), 1, 1);
  for (size_t i = 0; i < ids.size(); ++i) mask.pixels[i] = uint8_t(ids[i]);
  return mask;
}

TEST(PerClassIou, HandComputedTwoClasses) {
  const Image truth = row_mask({0, 0, 1, 1});
  const Image pred = row_mask({0, 1, 1, 1});
  const std::vector<double> iou = per_class_iou(pred, truth, 2);
  ASSERT_EQ(iou.size(), 2u);
  EXPECT_DOUBLE_EQ(iou[0], 1.0 / 2);  // {0} / {0, 1}
  EXPECT_DOUBLE_EQ(iou[1], 2.0 / 3);  // {2, 3} / {1, 2, 3}
}

TEST(PerClassIou, ClassInNeitherMaskIsNaN) {
  const std::vector<double> iou = per_class_iou(row_mask({0, 2}), row_mask({0, 2}), 3);
  EXPECT_DOUBLE_EQ(iou[0], 1.0);
  EXPECT_TRUE(std::isnan(iou[1]));
  EXPECT_DOUBLE_EQ(iou[2], 1.0);
}

TEST(MeanIou, AveragesClassesInTruthOrPredictionIncludingBackground) {
  const Image truth = row_mask({0, 0, 1, 1});
  const Image pred = row_mask({0, 1, 1, 1});
  EXPECT_DOUBLE_EQ(mean_iou(pred, truth), (0.5 + 2.0 / 3) / 2);
  MeanIouOptions objects_only;
  objects_only.exclude_background = true;
  EXPECT_DOUBLE_EQ(mean_iou(pred, truth, objects_only), 2.0 / 3);
}

TEST(MeanIou, ClassOnlyPredictedCountsAsZeroAndAbsentClassIsSkipped) {
  const Image truth = row_mask({0, 0, 0, 0});
  const Image pred = row_mask({0, 0, 0, 2});
  // class 0: 3/4; class 2: 0/1; class 1 in neither: skipped.
  EXPECT_DOUBLE_EQ(mean_iou(pred, truth), (0.75 + 0.0) / 2);
}

TEST(MeanIou, PerfectPredictionIsOneOnA2dMask) {
  Image mask(5, 3, 1);
  mask.at(1, 1) = 1;
  mask.at(2, 1) = 3;
  EXPECT_DOUBLE_EQ(mean_iou(mask, mask), 1.0);
}

TEST(MeanIou, AllBackgroundWithoutBackgroundIsNaN) {
  MeanIouOptions objects_only;
  objects_only.exclude_background = true;
  EXPECT_TRUE(std::isnan(mean_iou(row_mask({0, 0}), row_mask({0, 0}), objects_only)));
}

TEST(Iou, RejectsMasksOfDifferentSizes) {
  try {
    mean_iou(Image(4, 3, 1), Image(4, 4, 1));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("4x3"), std::string::npos) << e.what();
  }
}

TEST(Iou, RejectsIdsAboveNumClassesAndColourMasks) {
  EXPECT_THROW(per_class_iou(row_mask({0, 3}), row_mask({0, 1}), 2), Error);
  EXPECT_THROW(per_class_iou(row_mask({0, 1}), row_mask({0, 1}), 0), Error);
  EXPECT_THROW(mean_iou(Image(2, 2, 3), Image(2, 2, 1)), Error);
}

}  // namespace
}  // namespace dinoclip
