// Masks -> patch-grid targets, and per-patch scores -> masks, on hand-made masks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "tasks/label_grid.h"
#include "test_support.h"

namespace dinoclip {
namespace {

Image mask_from_rows(const std::vector<std::vector<int>>& rows) {
  Image mask(int(rows[0].size()), int(rows.size()), 1);
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) mask.at(x, y) = uint8_t(rows[y][x]);
  }
  return mask;
}

at::Tensor rows_tensor(const std::vector<std::vector<float>>& rows) {
  at::Tensor t = at::empty({int64_t(rows.size()), int64_t(rows[0].size())}, at::kFloat);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) t[r][c] = rows[r][c];
  }
  return t;
}

using dinoclip::testing::message_of;

TEST(SoftPatchLabels, DivisibleFrameGivesEachCellsClassFractions) {
  const Image mask = mask_from_rows({{0, 0, 1, 1},  //
                                     {0, 1, 1, 2},
                                     {2, 2, 0, 0},
                                     {2, 2, 0, 1}});
  const at::Tensor expected = rows_tensor({{0.75f, 0.25f, 0.f},    // top-left 2x2: three 0s, one 1
                                           {0.f, 0.75f, 0.25f},    // top-right: three 1s, one 2
                                           {0.f, 0.f, 1.f},        // bottom-left: all 2
                                           {0.75f, 0.25f, 0.f}});  // bottom-right
  EXPECT_TENSOR_NEAR(soft_patch_labels(mask, 2, 2, 3), expected, 1e-7);
}

TEST(SoftPatchLabels, SplitsBorderPixelsByArea) {
  // Width 3 into 2 cells of 1.5 pixels: pixel 1 is half in each cell.
  const Image mask = mask_from_rows({{1, 0, 0}});
  const at::Tensor expected = rows_tensor({{1.f / 3, 2.f / 3},  // pixel 0 (class 1) + half of pixel 1 (class 0)
                                           {1.f, 0.f}});        // half of pixel 1 + pixel 2, both class 0
  EXPECT_TENSOR_NEAR(soft_patch_labels(mask, 1, 2, 2), expected, 1e-6);
  EXPECT_EQ(majority_patch_labels(mask, 1, 2, 2)[0].item<int64_t>(), 1);
  EXPECT_EQ(majority_patch_labels(mask, 1, 2, 2)[1].item<int64_t>(), 0);
}

TEST(SoftPatchLabels, RowsSumToOneAndAreasAreConservedOnAnOddFrame) {
  Image mask(7, 5, 1);
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 7; ++x) mask.at(x, y) = uint8_t((x * 3 + y * 5) % 4);
  }
  const at::Tensor soft = soft_patch_labels(mask, 2, 3, 4);  // cells of 7/3 x 5/2 pixels
  ASSERT_EQ(soft.sizes(), (std::vector<int64_t>{6, 4}));
  EXPECT_TENSOR_NEAR(soft.sum(1), at::ones({6}), 1e-6);
  const double cell_area = (7.0 / 3) * (5.0 / 2);
  for (int c = 0; c < 4; ++c) {
    long pixels = 0;
    for (uint8_t id : mask.pixels) pixels += id == c;
    EXPECT_NEAR(soft.select(1, c).sum().item<double>() * cell_area, double(pixels), 1e-4) << "class " << c;
  }
}

TEST(MajorityPatchLabels, TiesGoToTheLowestId) {
  const Image mask = mask_from_rows({{2, 1}, {1, 2}});  // half 1, half 2, no 0
  const at::Tensor majority = majority_patch_labels(mask, 1, 1, 3);
  EXPECT_EQ(majority.scalar_type(), at::kLong);
  EXPECT_EQ(majority[0].item<int64_t>(), 1);
}

TEST(CountClasses, IsLargestIdPlusOne) {
  EXPECT_EQ(count_classes(mask_from_rows({{0, 2}, {2, 0}})), 3);
  EXPECT_EQ(count_classes(mask_from_rows({{0, 0}})), 1);
}

TEST(UpsampleGridScores, MatchesBilinearWithoutCornerAlignment) {
  // 1x2 grid -> 1x4: source x = (x + 0.5) / 2 - 0.5 = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
  const at::Tensor scores = rows_tensor({{0.f, 4.f}, {1.f, 0.f}});  // cell 0: (0, 4), cell 1: (1, 0)
  const at::Tensor up = upsample_grid_scores(scores, 1, 2, 1, 4);
  EXPECT_TENSOR_NEAR(up[0][0], rows_tensor({{0.f, 0.25f, 0.75f, 1.f}})[0], 1e-6);
  EXPECT_TENSOR_NEAR(up[1][0], rows_tensor({{4.f, 3.f, 1.f, 0.f}})[0], 1e-6);
  // argmax per pixel: (0 vs 4), (0.25 vs 3), (0.75 vs 1), (1 vs 0).
  const at::Tensor mask = grid_scores_to_mask(scores, 1, 2, 1, 4);
  EXPECT_EQ(mask.scalar_type(), at::kByte);
  EXPECT_EQ(std::vector<uint8_t>(mask.data_ptr<uint8_t>(), mask.data_ptr<uint8_t>() + 4),
            (std::vector<uint8_t>{1, 1, 1, 0}));
}

TEST(GridScoresToMask, RoundTripsAPatchAlignedMask) {
  const Image mask = mask_from_rows({{0, 0, 3, 3, 0, 0},  //
                                     {0, 0, 3, 3, 0, 0},
                                     {1, 1, 0, 0, 0, 0},
                                     {1, 1, 0, 0, 0, 0}});
  const at::Tensor soft = soft_patch_labels(mask, 2, 3, 4);
  // Each pixel's own cell weighs at least 9/16 in the bilinear blend, so every
  // cell keeps its class up to its edge.
  const Image back = mask_tensor_to_image(grid_scores_to_mask(soft, 2, 3, 4, 6));
  EXPECT_EQ(back.pixels, mask.pixels);
}

TEST(MaskConversion, TensorAndImageRoundTrip) {
  const Image mask = mask_from_rows({{0, 1, 2}, {3, 4, 5}});
  const at::Tensor t = mask_image_to_tensor(mask);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t[1][2].item<uint8_t>(), 5);
  EXPECT_EQ(mask_tensor_to_image(t).pixels, mask.pixels);
}

TEST(LabelGrid, RejectsIdsAtOrAboveNumClassesNamingTheIdAndLimit) {
  const Image mask = mask_from_rows({{0, 1}, {5, 0}});
  const std::string msg = message_of([&] { soft_patch_labels(mask, 1, 1, 3); });
  EXPECT_NE(msg.find("class id 5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("below 3"), std::string::npos) << msg;
}

TEST(LabelGrid, RejectsAMaskOfAnotherSizeThanTheFrame) {
  const Image mask(10, 8, 1);
  const std::string msg = message_of([&] { check_mask(mask, 12, 8, 2, "the annotation"); });
  EXPECT_NE(msg.find("10x8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("12x8"), std::string::npos) << msg;
}

TEST(LabelGrid, RejectsRgbEmptyMasksAndEmptyGrids) {
  EXPECT_THROW(soft_patch_labels(Image(4, 4, 3), 2, 2, 2), Error);
  EXPECT_THROW(count_classes(Image()), Error);
  EXPECT_THROW(soft_patch_labels(Image(4, 4, 1), 0, 2, 2), Error);
  EXPECT_THROW(soft_patch_labels(Image(4, 4, 1), 2, 2, 0), Error);
}

TEST(GridScoresToMask, RejectsScoresThatDoNotMatchTheGrid) {
  EXPECT_THROW(grid_scores_to_mask(at::zeros({5, 2}), 2, 2, 8, 8), Error);
  EXPECT_THROW(grid_scores_to_mask(at::zeros({4}), 2, 2, 8, 8), Error);
  EXPECT_THROW(grid_scores_to_mask(at::zeros({4, 2}), 2, 2, 0, 8), Error);
  EXPECT_THROW(mask_tensor_to_image(at::zeros({2, 2}, at::kFloat)), Error);
}

}  // namespace
}  // namespace dinoclip
