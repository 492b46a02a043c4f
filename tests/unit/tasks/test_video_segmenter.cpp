// VideoSegmenter (head or propagation behind one interface) and IouSeries,
// on the synthetic feature video and hand-made cases.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "synthetic_video.h"
#include "tasks/iou.h"
#include "tasks/label_grid.h"
#include "tasks/video_segmenter.h"
#include "test_support.h"

namespace dinoclip {
namespace {

using testing::FeatureVideo;
using testing::message_of;
using testing::synthetic_feature_video;

constexpr int kSize = 96;

PatchGrid grid_of(const FeatureVideo& video, int frame) {
  return PatchGrid{video.features[frame], video.grid_h, video.grid_w};
}

TEST(VideoSegmenter, HeadMethodIsTheSegHeadTrainedOnTheMask) {
  const FeatureVideo& video = synthetic_feature_video(6, /*scene_seed=*/4, kSize);
  VideoSegmenterConfig config;
  config.head.num_iters = 60;
  VideoSegmenter segmenter = VideoSegmenter::from_annotation(grid_of(video, 0), video.masks[0], config);
  const SegHead direct = SegHead::train_on_mask(video.features[0], video.masks[0], video.grid_h, video.grid_w,
                                                config.head);
  ASSERT_TRUE(segmenter.head().has_value());
  EXPECT_EQ(segmenter.num_classes(), video.num_classes);
  for (int i = 0; i < 6; ++i) {
    const at::Tensor expected = direct.predict_mask(video.features[i], video.grid_h, video.grid_w, kSize, kSize);
    EXPECT_TRUE(at::equal(segmenter.segment(grid_of(video, i), kSize, kSize), expected)) << "frame " << i;
  }
}

TEST(VideoSegmenter, NumClassesReservesIdsTheAnnotationDoesNotUse) {
  const FeatureVideo& video = synthetic_feature_video(1, /*scene_seed=*/4, kSize);
  VideoSegmenterConfig config;
  config.head.num_iters = 10;
  config.num_classes = 5;
  VideoSegmenter segmenter = VideoSegmenter::from_annotation(grid_of(video, 0), video.masks[0], config);
  EXPECT_EQ(segmenter.num_classes(), 5);
  EXPECT_EQ(segmenter.head()->num_classes(), 5);
}

TEST(VideoSegmenter, RejectsAnnotationsWithTooManyOrTooFewClasses) {
  const FeatureVideo& video = synthetic_feature_video(1, /*scene_seed=*/4, kSize);
  VideoSegmenterConfig config;
  config.num_classes = 2;  // the mask has ids 0..2
  std::string message = message_of([&] { VideoSegmenter::from_annotation(grid_of(video, 0), video.masks[0], config); });
  EXPECT_NE(message.find("annotation"), std::string::npos) << message;
  EXPECT_NE(message.find("2"), std::string::npos) << message;

  Image background(kSize, kSize, 1);
  message = message_of([&] { VideoSegmenter::from_annotation(grid_of(video, 0), background, {}); });
  EXPECT_NE(message.find("single class"), std::string::npos) << message;

  message = message_of([&] {
    VideoSegmenter::from_annotation(PatchGrid{video.features[0], video.grid_h + 1, video.grid_w}, video.masks[0], {});
  });
  EXPECT_NE(message.find("grid"), std::string::npos) << message;
}

// The bad-input matrix's "mask with 200 classes" row: every id 0..199 used
// (stripes narrower than a patch) trains a 200-class head whose masks stay
// within those ids.
TEST(VideoSegmenter, TrainsAMaskUsingTwoHundredClassIds) {
  const FeatureVideo& video = synthetic_feature_video(2, /*scene_seed=*/4, kSize);
  Image mask(kSize, kSize, 1);
  for (int y = 0; y < kSize; ++y) {
    for (int x = 0; x < kSize; ++x) mask.at(x, y) = std::uint8_t((y * kSize + x) % 200);
  }
  VideoSegmenterConfig config;
  config.head.num_iters = 5;
  VideoSegmenter segmenter = VideoSegmenter::from_annotation(grid_of(video, 0), mask, config);
  EXPECT_EQ(segmenter.num_classes(), 200);
  ASSERT_TRUE(segmenter.head().has_value());
  EXPECT_EQ(segmenter.head()->num_classes(), 200);
  const at::Tensor out = segmenter.segment(grid_of(video, 1), kSize, kSize);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{kSize, kSize}));
  EXPECT_LT(out.max().item<int>(), 200);
}

// Frames before the annotated one are propagated backwards from it, nearest
// first; frames after it start again from the annotation alone.
TEST(VideoSegmenter, PropagationWalksPrecedingFramesBackwardsThenRestarts) {
  const FeatureVideo& video = synthetic_feature_video(6, /*scene_seed=*/4, kSize);
  const int annotated = 3;
  VideoSegmenterConfig config;
  config.method = SegMethod::kPropagation;
  VideoSegmenter segmenter = VideoSegmenter::from_annotation(grid_of(video, annotated), video.masks[annotated], config);
  EXPECT_FALSE(segmenter.head().has_value());
  std::vector<PatchGrid> before;
  for (int i = 0; i < annotated; ++i) before.push_back(grid_of(video, i));
  const std::vector<at::Tensor> masks = segmenter.segment_preceding(before, kSize, kSize);
  const at::Tensor after = segmenter.segment(grid_of(video, 4), kSize, kSize);

  const at::Tensor reference_labels =
      soft_patch_labels(video.masks[annotated], video.grid_h, video.grid_w, video.num_classes);
  LabelPropagator backwards(config.propagation);
  backwards.set_reference(video.features[annotated], reference_labels, video.grid_h, video.grid_w);
  for (int i = annotated - 1; i >= 0; --i) {
    const at::Tensor expected = backwards.predict_mask(backwards.propagate(video.features[i]), kSize, kSize);
    EXPECT_TRUE(at::equal(masks[i], expected)) << "frame " << i;
  }
  LabelPropagator forwards(config.propagation);
  forwards.set_reference(video.features[annotated], reference_labels, video.grid_h, video.grid_w);
  EXPECT_TRUE(at::equal(after, forwards.predict_mask(forwards.propagate(video.features[4]), kSize, kSize)))
      << "the frame after the annotation saw context from before it";
}

TEST(VideoSegmenter, PropagationRejectsAnotherGrid) {
  const FeatureVideo& video = synthetic_feature_video(1, /*scene_seed=*/4, kSize);
  VideoSegmenterConfig config;
  config.method = SegMethod::kPropagation;
  VideoSegmenter segmenter = VideoSegmenter::from_annotation(grid_of(video, 0), video.masks[0], config);
  const at::Tensor other = at::randn({4 * 4, video.features.size(2)});
  const std::string message = message_of([&] { segmenter.segment(PatchGrid{other, 4, 4}, kSize, kSize); });
  EXPECT_NE(message.find("input-size"), std::string::npos) << message;
}

TEST(IouSeries, SummarisesMeanFirstAndLastByFrameNumberSkippingNaN) {
  IouSeries series;
  series.add(2, 0.5);
  series.add(0, 0.3);
  series.add(5, std::numeric_limits<double>::quiet_NaN());
  series.add(4, 0.7);
  const IouSummary s = series.summary();
  EXPECT_EQ(s.frames, 3);
  EXPECT_DOUBLE_EQ(s.mean, 0.5);
  EXPECT_DOUBLE_EQ(s.first, 0.3);
  EXPECT_DOUBLE_EQ(s.last, 0.7);
  EXPECT_EQ(s.first_frame, 0);
  EXPECT_EQ(s.last_frame, 4);
  series.clear();
  EXPECT_EQ(series.summary().frames, 0);
  EXPECT_TRUE(std::isnan(series.summary().mean));
  EXPECT_TRUE(std::isnan(series.summary().first));
}

TEST(IouSeries, AFrameScoredAgainAfterASeekReplacesItsEarlierIou) {
  IouSeries series;
  series.add(0, 0.2);
  series.add(1, 0.4);
  series.add(0, 0.6);  // played again after a seek back
  const IouSummary s = series.summary();
  EXPECT_EQ(s.frames, 2);
  EXPECT_DOUBLE_EQ(s.mean, 0.5);
  EXPECT_DOUBLE_EQ(s.first, 0.6);
}

}  // namespace
}  // namespace dinoclip
