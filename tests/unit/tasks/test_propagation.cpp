// Label propagation: exact answers on constructed features (copying, top-k
// weights, the neighbourhood, the context queue), then a moving object in a
// synthetic video through a random-weight tiny DINO.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/npy.h"
#include "synthetic_video.h"
#include "tasks/iou.h"
#include "tasks/label_grid.h"
#include "tasks/propagation.h"
#include "test_support.h"

namespace dinoclip {
namespace {

using testing::FeatureVideo;
using testing::synthetic_feature_video;

constexpr int kGrid = 6;  // 6x6 patch grid for the constructed cases
constexpr int kDim = 64;

// Random unit-ish vectors in 64-D: any two have cosine ~N(0, 1/8), far below 1.
at::Tensor random_features(int64_t n, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::empty({n, kDim}).normal_(0, 1, gen);
}

// A grid tensor [h*w, K] (features or labels) shifted right by `columns`:
// column c takes column c - columns; the first columns get new random values.
at::Tensor shift_right(const at::Tensor& values, int columns, uint64_t seed) {
  const int64_t k = values.size(1);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor shifted = at::empty({kGrid, kGrid, k}).normal_(0, 1, gen);
  shifted.narrow(1, columns, kGrid - columns).copy_(values.reshape({kGrid, kGrid, k}).narrow(1, 0, kGrid - columns));
  return shifted.reshape({kGrid * kGrid, k});
}

// One-hot labels of a class id per patch, ids = patch index % classes.
at::Tensor striped_labels(int classes) {
  return at::one_hot(at::arange(kGrid * kGrid, at::kLong).remainder(classes), classes).to(at::kFloat);
}

// Columns >= first of a [h*w, C] tensor.
at::Tensor from_column(const at::Tensor& labels, int first) {
  return labels.reshape({kGrid, kGrid, -1}).narrow(1, first, kGrid - first);
}

using dinoclip::testing::message_of;

LabelPropagator::Config top1(int neighborhood, int context_frames) {
  LabelPropagator::Config config;
  config.topk = 1;
  config.neighborhood = neighborhood;
  config.context_frames = context_frames;
  return config;
}

TEST(LabelPropagator, DefaultsMirrorTheOfficialScript) {
  const LabelPropagator::Config c;
  EXPECT_EQ(c.context_frames, 7);        // --n_last_frames
  EXPECT_EQ(c.topk, 5);                  // --topk
  EXPECT_EQ(c.neighborhood, 12);         // --size_mask_neighborhood
  EXPECT_DOUBLE_EQ(c.temperature, 0.1);  // exp(bmm(...) / 0.1)
}

TEST(LabelPropagator, SameFrameWithTop1CopiesTheReferenceLabels) {
  const at::Tensor features = random_features(kGrid * kGrid, 1);
  const at::Tensor labels = striped_labels(3);
  LabelPropagator propagator(top1(/*neighborhood=*/0, /*context_frames=*/0));
  propagator.set_reference(features, labels, kGrid, kGrid);
  EXPECT_TENSOR_NEAR(propagator.propagate(features * 2.5), labels, 1e-6);  // scale-free: cosine
}

TEST(LabelPropagator, TopKWeightsAreSoftmaxOfCosinesOverTemperature) {
  // Reference: 2 patches along e0 and e1, labelled class 0 and class 1.
  // Query patch 0 = 3 e0 + 1 e1: cosines 3/sqrt(10) and 1/sqrt(10).
  at::Tensor reference = at::zeros({2, 4});
  reference[0][0] = 1;
  reference[1][1] = 1;
  const at::Tensor labels = at::eye(2);
  at::Tensor query = at::zeros({2, 4});
  query[0][0] = 3;
  query[0][1] = 1;
  query[1][1] = 1;
  for (double temperature : {0.1, 0.7}) {
    LabelPropagator::Config config;
    config.topk = 2;
    config.neighborhood = 0;
    config.temperature = temperature;
    LabelPropagator propagator(config);
    propagator.set_reference(reference, labels, 1, 2);
    const at::Tensor out = propagator.propagate(query);
    const double a = std::exp(3 / std::sqrt(10.0) / temperature), b = std::exp(1 / std::sqrt(10.0) / temperature);
    EXPECT_NEAR(out[0][0].item<double>(), a / (a + b), 1e-6) << "temperature " << temperature;
    EXPECT_NEAR(out[0][1].item<double>(), b / (a + b), 1e-6) << "temperature " << temperature;
  }
}

TEST(LabelPropagator, TopKKeepsOnlyTheKBestContextPatches) {
  // Query = e0; reference patches e0 (class 0), 0.9 e0 + e1 (class 1), e1 (class 2).
  at::Tensor reference = at::zeros({3, 2});
  reference[0][0] = 1;
  reference[1][0] = 0.9;
  reference[1][1] = 1;
  reference[2][1] = 1;
  at::Tensor query = reference.clone();
  LabelPropagator::Config config;
  config.topk = 2;
  config.neighborhood = 0;
  LabelPropagator propagator(config);
  propagator.set_reference(reference, at::eye(3), 1, 3);
  const at::Tensor out = propagator.propagate(query);
  EXPECT_EQ(out[0][2].item<float>(), 0.0f);  // third-best for patch 0: dropped
  EXPECT_GT(out[0][1].item<float>(), 0.0f);
  EXPECT_TENSOR_NEAR(out.sum(1), at::ones({3}), 1e-6);
}

TEST(LabelPropagator, FollowsAShiftWithinTheNeighbourhood) {
  const at::Tensor reference = random_features(kGrid * kGrid, 2);
  const at::Tensor labels = striped_labels(4);
  LabelPropagator propagator(top1(/*neighborhood=*/1, /*context_frames=*/0));
  propagator.set_reference(reference, labels, kGrid, kGrid);
  const at::Tensor out = propagator.propagate(shift_right(reference, 1, 20));
  EXPECT_TENSOR_NEAR(from_column(out, 1), from_column(shift_right(labels, 1, 21), 1), 1e-6);
}

TEST(LabelPropagator, NeighbourhoodHidesMatchesFartherThanItsRadius) {
  const at::Tensor reference = random_features(kGrid * kGrid, 3);
  const at::Tensor labels = striped_labels(5);
  const at::Tensor moved = shift_right(reference, 2, 30);
  const at::Tensor expected = from_column(shift_right(labels, 2, 31), 2);
  LabelPropagator near(top1(/*neighborhood=*/1, /*context_frames=*/0));
  near.set_reference(reference, labels, kGrid, kGrid);
  LabelPropagator whole(top1(/*neighborhood=*/0, /*context_frames=*/0));
  whole.set_reference(reference, labels, kGrid, kGrid);
  EXPECT_TENSOR_NEAR(from_column(whole.propagate(moved), 2), expected, 1e-6);
  EXPECT_GT(testing::max_abs_diff(from_column(near.propagate(moved), 2), expected), 0.5);
}

TEST(LabelPropagator, PreviousFramesCarryLabelsBeyondTheReferencesReach) {
  // The object moves one column per frame; the neighbourhood is one column:
  // at frame 2 only frame 1 (in the queue) still holds each patch's match.
  const at::Tensor reference = random_features(kGrid * kGrid, 4);
  const at::Tensor labels = striped_labels(5);
  const at::Tensor frame1 = shift_right(reference, 1, 40);
  at::Tensor frame2 = shift_right(frame1, 1, 41);
  const at::Tensor expected = from_column(shift_right(shift_right(labels, 1, 42), 1, 43), 2);
  for (int context : {0, 1}) {
    LabelPropagator propagator(top1(/*neighborhood=*/1, context));
    propagator.set_reference(reference, labels, kGrid, kGrid);
    propagator.propagate(frame1);
    EXPECT_EQ(propagator.queued_frames(), context);
    const double error = testing::max_abs_diff(from_column(propagator.propagate(frame2), 2), expected);
    if (context == 1) {
      EXPECT_LT(error, 1e-6);
    } else {
      EXPECT_GT(error, 0.5);
    }
  }
}

TEST(LabelPropagator, QueueKeepsTheLastNFramesAndSetReferenceClearsIt) {
  const at::Tensor reference = random_features(kGrid * kGrid, 5);
  LabelPropagator::Config config;
  config.context_frames = 2;
  LabelPropagator propagator(config);
  propagator.set_reference(reference, striped_labels(2), kGrid, kGrid);
  for (int i = 1; i <= 4; ++i) {
    propagator.propagate(random_features(kGrid * kGrid, 100 + i));
    EXPECT_EQ(propagator.queued_frames(), std::min(i, 2));
  }
  propagator.set_reference(reference, striped_labels(2), kGrid, kGrid);
  EXPECT_EQ(propagator.queued_frames(), 0);
}

TEST(LabelPropagator, PredictMaskRescalesEachClassLikeNormMask) {
  LabelPropagator propagator;
  propagator.set_reference(at::randn({2, 4}), at::eye(2), 1, 2);
  // Patch 0: (0.6, 0.4), patch 1: (1, 0). Raw argmax: class 0 everywhere.
  // Rescaled: class 0 -> (0, 1), class 1 -> (1, 0): patch 0 becomes class 1.
  at::Tensor labels = at::zeros({2, 2});
  labels[0][0] = 0.6;
  labels[0][1] = 0.4;
  labels[1][0] = 1.0;
  const at::Tensor raw = propagator.predict_mask(labels, 1, 2, /*rescale_per_class=*/false);
  const at::Tensor rescaled = propagator.predict_mask(labels, 1, 2);
  EXPECT_EQ(raw[0][0].item<uint8_t>(), 0);
  EXPECT_EQ(rescaled[0][0].item<uint8_t>(), 1);
  EXPECT_EQ(rescaled[0][1].item<uint8_t>(), 0);
}

// Against the dense form of the official algorithm (tests/data/gen/
// gen_propagation_golden.py): 5 frames on a 5x6 grid, queue of 2 (it
// overflows at frame 4), top-5, radius 2, temperature 0.1. Run with query
// blocks of 2 grid rows (so the row bands of the neighbourhood are exercised)
// and of the whole grid.
TEST(LabelPropagator, MatchesTheOfficialDenseComputation) {
  const at::Tensor features = read_npy(testing::test_data("tasks/propagation_features.npy"));
  const at::Tensor reference = read_npy(testing::test_data("tasks/propagation_reference.npy"));
  const at::Tensor expected = read_npy(testing::test_data("tasks/propagation_labels.npy"));
  const at::Tensor masks = read_npy(testing::test_data("tasks/propagation_masks.npy"));
  for (int block : {12, 512}) {
    LabelPropagator::Config config;
    config.context_frames = 2;
    config.topk = 5;
    config.neighborhood = 2;
    config.temperature = 0.1;
    config.query_block = block;
    LabelPropagator propagator(config);
    propagator.set_reference(features[0], reference, 5, 6);
    for (int t = 1; t < 5; ++t) {
      const at::Tensor labels = propagator.propagate(features[t]);
      EXPECT_TENSOR_NEAR(labels, expected[t - 1], 1e-5);
      EXPECT_TRUE(at::equal(propagator.predict_mask(labels, 40, 48), masks[t - 1])) << "frame " << t;
    }
  }
}

// The synthetic video (2 objects moving ~1.3 px per frame, 128x128, 16x16
// patch grid) through a random tiny DINO, frame 0 annotated, defaults.
constexpr int kSize = 128;
constexpr int kFrames = 24;
constexpr uint64_t kSceneSeed = 11;

// Measured: mean IoU frame 1 0.937, frame 23 0.855, frames 1..23 0.878; the
// frame-0 annotation itself scores 0.300 on frame 23. Centroids (x, y) from
// frame 0 to 23: object 1 (74.0, 72.0) -> truth (95.8, 52.3), predicted
// (91.4, 53.0); object 2 (20.5, 83.5) -> truth (45.0, 67.5), predicted (45.2, 67.7).
TEST(LabelPropagatorOnSyntheticVideo, FollowsTheMovingObjects) {
  const FeatureVideo& video = synthetic_feature_video(kFrames, kSceneSeed, kSize);
  LabelPropagator propagator;
  propagator.set_reference(video.features[0],
                           soft_patch_labels(video.masks[0], video.grid_h, video.grid_w, video.num_classes),
                           video.grid_h, video.grid_w);
  std::vector<double> iou;
  Image last;
  for (int i = 1; i < kFrames; ++i) {
    const at::Tensor labels = propagator.propagate(video.features[i]);
    ASSERT_EQ(labels.sizes(), (std::vector<int64_t>{video.grid_h * video.grid_w, video.num_classes}));
    last = mask_tensor_to_image(propagator.predict_mask(labels, video.height, video.width));
    iou.push_back(mean_iou(last, video.masks[i]));
  }
  double sum = 0;
  for (double v : iou) sum += v;
  const double mean = sum / iou.size();
  const double static_iou = mean_iou(video.masks[0], video.masks[kFrames - 1]);
  std::printf("propagation mean IoU: frame 1 %.3f, frame %d %.3f, all %.3f; frame 0's mask on frame %d: %.3f\n",
              iou.front(), kFrames - 1, iou.back(), mean, kFrames - 1, static_iou);
  EXPECT_GT(iou.front(), 0.85);
  EXPECT_GT(iou.back(), 0.72);
  EXPECT_GT(mean, 0.78);
  EXPECT_GT(iou.back() - static_iou, 0.4);  // it tracks; it does not just repeat the annotation

  for (int object = 1; object < video.num_classes; ++object) {
    const auto start = testing::class_centroid(video.masks[0], object);
    const auto truth = testing::class_centroid(video.masks[kFrames - 1], object);
    const auto predicted = testing::class_centroid(last, object);
    const double tx = truth.first - start.first, ty = truth.second - start.second;
    const double px = predicted.first - start.first, py = predicted.second - start.second;
    const double moved = std::hypot(tx, ty);
    ASSERT_GT(moved, 20.0) << "object " << object << " must move for this test to mean anything";
    // Along the true motion: between 70% and 130% of the distance; across it: under a quarter of it.
    const double along = (px * tx + py * ty) / moved, across = std::abs(px * ty - py * tx) / moved;
    EXPECT_GT(along, 0.7 * moved) << "object " << object;
    EXPECT_LT(along, 1.3 * moved) << "object " << object;
    EXPECT_LT(across, 0.25 * moved) << "object " << object;
  }
}

TEST(LabelPropagator, RejectsPropagationBeforeAReferenceAndMismatchedFrames) {
  LabelPropagator propagator;
  std::string msg = message_of([&] { propagator.propagate(at::randn({36, 8})); });
  EXPECT_NE(msg.find("set_reference"), std::string::npos) << msg;
  propagator.set_reference(at::randn({36, 8}), striped_labels(2), kGrid, kGrid);
  msg = message_of([&] { propagator.propagate(at::randn({30, 8})); });
  EXPECT_NE(msg.find("30 patches but the grid holds 36"), std::string::npos) << msg;
  EXPECT_THROW(propagator.propagate(at::randn({36, 9})), Error);
}

TEST(LabelPropagator, RejectsBadReferencesAndConfigs) {
  LabelPropagator propagator;
  EXPECT_THROW(propagator.set_reference(at::randn({36, 8}), striped_labels(2), 5, 6), Error);
  EXPECT_THROW(propagator.set_reference(at::randn({36, 8}), at::zeros({35, 2}), kGrid, kGrid), Error);
  EXPECT_THROW(propagator.set_reference(at::randn({36, 8}), at::zeros({36}, at::kLong), kGrid, kGrid), Error);
  LabelPropagator::Config config;
  config.topk = 0;
  EXPECT_THROW(LabelPropagator{config}, Error);
  config = {};
  config.temperature = 0;
  EXPECT_THROW(LabelPropagator{config}, Error);
  config = {};
  config.neighborhood = -1;
  EXPECT_THROW(LabelPropagator{config}, Error);
}

}  // namespace
}  // namespace dinoclip
