// Segmentation head: training on constructed features with known answers, on
// a synthetic video through a random-weight tiny DINO, save/load, rejections.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/safetensors_writer.h"
#include "models/random_weights.h"
#include "synthetic_video.h"
#include "tasks/iou.h"
#include "tasks/label_grid.h"
#include "tasks/seg_head.h"
#include "test_support.h"

namespace dinoclip {
namespace {

using testing::FeatureVideo;
using testing::synthetic_feature_video;

// Two Gaussian clusters in 16-D (unit noise, centres +-0.75 in every
// dimension: 6 standard deviations apart), class = cluster. The class is
// spread over all dimensions, as in DINO features; with one informative
// dimension among 15 noise ones, Adam (which moves every weight by about the
// learning rate per step) needs more than the default 500 steps at 1e-3.
struct Clusters {
  at::Tensor features;  // [2n, 16]
  at::Tensor ids;       // [2n] int64
};

Clusters make_clusters(int64_t n, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor centres = at::full({2, 16}, 0.75);
  centres[1].neg_();
  at::Tensor ids = at::cat({at::zeros({n}, at::kLong), at::ones({n}, at::kLong)});
  at::Tensor features = centres.index_select(0, ids) + at::empty({2 * n, 16}).normal_(0, 1, gen);
  return {features, ids};
}

using dinoclip::testing::message_of;

// Mean IoU of `head` over frames [first, last] of `video`.
double video_mean_iou(const SegHead& head, const FeatureVideo& video, int first, int last) {
  double sum = 0;
  for (int i = first; i <= last; ++i) {
    const at::Tensor pred = head.predict_mask(video.features[i], video.grid_h, video.grid_w, video.height, video.width);
    sum += mean_iou(mask_tensor_to_image(pred), video.masks[i]);
  }
  return sum / (last - first + 1);
}

TEST(SegHead, LinearHeadSeparatesClusters) {
  const Clusters data = make_clusters(100, 1);
  const SegHead head = SegHead::train(data.features, data.ids, SegHeadConfig{});
  EXPECT_EQ(head.num_classes(), 2);
  EXPECT_EQ(head.feature_dim(), 16);
  EXPECT_DOUBLE_EQ(head.report().train_accuracy, 1.0);
  EXPECT_LT(head.report().final_loss, 0.2);
  const Clusters test = make_clusters(100, 2);
  const double accuracy = head.logits(test.features).argmax(1).eq(test.ids).to(at::kDouble).mean().item<double>();
  EXPECT_GT(accuracy, 0.98);
}

TEST(SegHead, MlpHeadLearnsXorThatNoLinearHeadCan) {
  // Labels by the sign of x0 * x1: not linearly separable.
  at::Generator gen = at::detail::createCPUGenerator(5);
  const at::Tensor features = at::empty({400, 2}).uniform_(-1, 1, gen);
  const at::Tensor ids = (features.select(1, 0) * features.select(1, 1) > 0).to(at::kLong);
  SegHeadConfig config;
  config.labels = LabelMode::kMajority;
  config.num_iters = 500;
  config.learning_rate = 1e-2;
  config.kind = HeadKind::kLinear;
  const double linear = SegHead::train(features, ids, config).report().train_accuracy;
  config.kind = HeadKind::kMlp;
  const double mlp = SegHead::train(features, ids, config).report().train_accuracy;
  EXPECT_LT(linear, 0.75);  // a line gets at most ~3 quadrants of 4
  EXPECT_GT(mlp, 0.95);
}

TEST(SegHead, OnItsOwnDeviceIsTheSameHead) {
  const Clusters data = make_clusters(50, 3);
  const SegHead head = SegHead::train(data.features, data.ids, SegHeadConfig{});
  const SegHead same = head.on(c10::kCPU);
  EXPECT_TRUE(same.device().is_cpu());
  EXPECT_TRUE(at::equal(same.logits(data.features), head.logits(data.features)));
}

TEST(SegHead, TrainingIsDeterministicForASeed) {
  const Clusters data = make_clusters(50, 3);
  SegHeadConfig config;
  config.kind = HeadKind::kMlp;
  config.hidden = 8;
  config.num_iters = 20;
  const at::Tensor a = SegHead::train(data.features, data.ids, config).logits(data.features);
  const at::Tensor b = SegHead::train(data.features, data.ids, config).logits(data.features);
  config.seed = 1;
  const at::Tensor c = SegHead::train(data.features, data.ids, config).logits(data.features);
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_GT(testing::max_abs_diff(a, c), 1e-3);
}

TEST(SegHead, ReportsProgressEveryKIterationsAndAtTheEnd) {
  const Clusters data = make_clusters(20, 4);
  SegHeadConfig config;
  config.num_iters = 120;
  config.report_every = 50;
  std::vector<int> iterations;
  std::vector<double> losses;
  const SegHead head = SegHead::train(data.features, data.ids, config, [&](int iteration, double loss) {
    iterations.push_back(iteration);
    losses.push_back(loss);
  });
  EXPECT_EQ(iterations, (std::vector<int>{50, 100, 120}));
  EXPECT_GT(losses.front(), losses.back());
  EXPECT_DOUBLE_EQ(losses.back(), head.report().final_loss);
  EXPECT_GT(head.report().milliseconds, 0.0);
}

TEST(SegHead, SoftAndIdTargetsGiveTheSameMajorityTraining) {
  const Clusters data = make_clusters(30, 6);
  SegHeadConfig config;
  config.labels = LabelMode::kMajority;
  config.num_iters = 30;
  const at::Tensor one_hot = at::one_hot(data.ids, 2).to(at::kFloat);
  const at::Tensor a = SegHead::train(data.features, data.ids, config).logits(data.features);
  const at::Tensor b = SegHead::train(data.features, one_hot, config).logits(data.features);
  EXPECT_TENSOR_NEAR(a, b, 1e-5);
}

TEST(SegHead, UntrainedHeadIsTheInitialisation) {
  const Clusters data = make_clusters(30, 7);
  SegHeadConfig config;
  config.num_iters = 0;
  const SegHead head = SegHead::train(data.features, data.ids, config);
  EXPECT_NEAR(head.report().final_loss, std::log(2.0), 0.05);  // logits start near 0 (DINO probe init)
}

// The synthetic video (2 objects, 128x128, 16x16 patch grid) through a random
// tiny DINO: frame 0 annotated, frames 1..23 segmented. Random features are
// far less linearly separable than DINO's, so the MLP does much better here.
constexpr int kSize = 128;
constexpr int kFrames = 24;
constexpr uint64_t kSceneSeed = 11;

struct HeadIous {
  double trained, untrained, shuffled;
};

// Mean IoU over frames 1..kFrames-1 of a head trained on frame 0 with the
// defaults, the same head untrained (num_iters 0), and one trained on frame
// 0's patch labels shuffled across patches.
HeadIous head_ious(HeadKind kind) {
  const FeatureVideo& video = synthetic_feature_video(kFrames, kSceneSeed, kSize);
  const Image& annotation = video.masks[0];
  SegHeadConfig config;
  config.kind = kind;
  const SegHead trained = SegHead::train_on_mask(video.features[0], annotation, video.grid_h, video.grid_w, config);
  const at::Tensor targets = soft_patch_labels(annotation, video.grid_h, video.grid_w, video.num_classes);
  at::Generator gen = at::detail::createCPUGenerator(3);
  const at::Tensor shuffled_targets = targets.index_select(0, at::randperm(targets.size(0), gen, at::kLong));
  const SegHead shuffled = SegHead::train(video.features[0], shuffled_targets, config);
  config.num_iters = 0;
  const SegHead untrained = SegHead::train(video.features[0], targets, config);
  const HeadIous iou{video_mean_iou(trained, video, 1, kFrames - 1), video_mean_iou(untrained, video, 1, kFrames - 1),
                     video_mean_iou(shuffled, video, 1, kFrames - 1)};
  std::printf(
      "%s head, mean IoU frames 1..%d: trained %.3f (frame 1 %.3f, frame %d %.3f), untrained %.3f, "
      "shuffled labels %.3f\n",
      head_kind_name(kind), kFrames - 1, iou.trained, video_mean_iou(trained, video, 1, 1), kFrames - 1,
      video_mean_iou(trained, video, kFrames - 1, kFrames - 1), iou.untrained, iou.shuffled);
  return iou;
}

// Measured: trained 0.578 (frame 1 0.761, frame 23 0.475), untrained 0.186, shuffled 0.296.
TEST(SegHeadOnSyntheticVideo, TrainedLinearHeadBeatsUntrainedAndShuffledLabels) {
  const HeadIous iou = head_ious(HeadKind::kLinear);
  EXPECT_GT(iou.trained, 0.48);
  EXPECT_GT(iou.trained - iou.untrained, 0.3);
  EXPECT_GT(iou.trained - iou.shuffled, 0.18);
}

// Measured: trained 0.744 (frame 1 0.916, frame 23 0.649), untrained 0.172, shuffled 0.282.
TEST(SegHeadOnSyntheticVideo, TrainedMlpHeadBeatsUntrainedAndShuffledLabels) {
  const HeadIous iou = head_ious(HeadKind::kMlp);
  EXPECT_GT(iou.trained, 0.65);
  EXPECT_GT(iou.trained - iou.untrained, 0.45);
  EXPECT_GT(iou.trained - iou.shuffled, 0.35);
}

TEST(SegHead, SaveLoadGivesIdenticalMasks) {
  const FeatureVideo& video = synthetic_feature_video(kFrames, kSceneSeed, kSize);
  for (HeadKind kind : {HeadKind::kLinear, HeadKind::kMlp}) {
    SegHeadConfig config;
    config.kind = kind;
    config.hidden = 32;
    config.num_iters = 50;
    config.learning_rate = 2e-3;
    config.seed = 17;
    config.labels = LabelMode::kMajority;
    const SegHead head = SegHead::train_on_mask(video.features[0], video.masks[0], video.grid_h, video.grid_w, config);
    const std::string path = testing::temp_dir() + "/head_" + head_kind_name(kind) + ".safetensors";
    head.save(path);
    const SegHead loaded = SegHead::load(path);
    EXPECT_EQ(loaded.config().kind, kind);
    EXPECT_EQ(loaded.num_classes(), head.num_classes());
    EXPECT_EQ(loaded.feature_dim(), head.feature_dim());
    if (kind == HeadKind::kMlp) {
      EXPECT_EQ(loaded.config().hidden, 32);
    }
    // The training settings and results come back from the file's metadata.
    EXPECT_EQ(loaded.config().num_iters, 50);
    EXPECT_DOUBLE_EQ(loaded.config().learning_rate, 2e-3);
    EXPECT_EQ(loaded.config().seed, 17u);
    EXPECT_EQ(loaded.config().labels, LabelMode::kMajority);
    EXPECT_NEAR(loaded.report().train_accuracy, head.report().train_accuracy, 1e-6);
    EXPECT_NEAR(loaded.report().final_loss, head.report().final_loss, 1e-6 * std::max(1.0, head.report().final_loss));
    EXPECT_TRUE(at::equal(loaded.logits(video.features[5]), head.logits(video.features[5])));
    const at::Tensor a = head.predict_mask(video.features[5], video.grid_h, video.grid_w, kSize, kSize);
    const at::Tensor b = loaded.predict_mask(video.features[5], video.grid_h, video.grid_w, kSize, kSize);
    EXPECT_TRUE(at::equal(a, b)) << head_kind_name(kind);
  }
}

TEST(SegHead, RejectsFeatureAndTargetRowCountMismatch) {
  const std::string msg = message_of([] {
    SegHead::train(at::randn({10, 4}), at::zeros({9}, at::kLong), SegHeadConfig{});
  });
  EXPECT_NE(msg.find("10 feature rows but 9 target rows"), std::string::npos) << msg;
}

TEST(SegHead, RejectsAnAnnotationWithASingleClass) {
  const at::Tensor features = at::randn({8, 4});
  const std::string expected = "the annotation has a single class";
  std::string msg = message_of([&] { SegHead::train(features, at::zeros({8}, at::kLong), SegHeadConfig{}); });
  EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  // Two columns, but every patch is class 1.
  msg = message_of([&] { SegHead::train(features, at::ones({8}, at::kLong), SegHeadConfig{}); });
  EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  msg = message_of([&] { SegHead::train_on_mask(features, Image(4, 2, 1), 2, 4, SegHeadConfig{}); });
  EXPECT_NE(msg.find(expected), std::string::npos) << msg;
}

TEST(SegHead, RejectsNonFiniteFeaturesAndADivergingLoss) {
  const Clusters data = make_clusters(20, 8);
  at::Tensor bad = data.features.clone();
  bad[3][2] = NAN;
  std::string msg = message_of([&] { SegHead::train(bad, data.ids, SegHeadConfig{}); });
  EXPECT_NE(msg.find("NaN"), std::string::npos) << msg;
  SegHeadConfig reckless;
  reckless.learning_rate = 1e37;
  reckless.num_iters = 20;
  msg = message_of([&] { SegHead::train(data.features, data.ids, reckless); });
  EXPECT_NE(msg.find("lower the learning rate"), std::string::npos) << msg;
}

TEST(SegHead, RejectsBadTargetsConfigsAndFeatureWidths) {
  const Clusters data = make_clusters(10, 9);
  EXPECT_THROW(SegHead::train(data.features, at::full({20, 2}, 0.7), SegHeadConfig{}), Error);  // rows sum 1.4
  EXPECT_THROW(SegHead::train(data.features, data.ids.to(at::kInt), SegHeadConfig{}), Error);
  EXPECT_THROW(SegHead::train(data.features.unsqueeze(0), data.ids, SegHeadConfig{}), Error);
  SegHeadConfig bad;
  bad.learning_rate = 0;
  EXPECT_THROW(SegHead::train(data.features, data.ids, bad), Error);
  SegHeadConfig quick;
  quick.num_iters = 1;
  const SegHead head = SegHead::train(data.features, data.ids, quick);
  EXPECT_THROW(head.logits(at::randn({3, 15})), Error);
  EXPECT_THROW(head.predict_mask(at::randn({5, 16}), 2, 2, 8, 8), Error);
}

TEST(SegHead, LoadRejectsAFileThatIsNotAHead) {
  const std::string path = testing::temp_dir() + "/not_a_head.safetensors";
  save_safetensors(path, {{"blocks.0.weight", at::zeros({2, 2})}});
  const std::string msg = message_of([&] { SegHead::load(path); });
  EXPECT_NE(msg.find("not a dinoclip segmentation head"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(PatchFeatures, DropsClsAndRejectsBadIndices) {
  const at::Tensor tokens = at::arange(2 * 5 * 3, at::kFloat).reshape({2, 5, 3});
  EXPECT_TRUE(at::equal(patch_features(tokens, 1), tokens[1].narrow(0, 1, 4)));
  EXPECT_THROW(patch_features(tokens, 2), Error);
  EXPECT_THROW(patch_features(at::zeros({5, 3})), Error);
}

}  // namespace
}  // namespace dinoclip
