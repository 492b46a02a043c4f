// Zero-shot classification on constructed embeddings with known answers.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "tasks/zeroshot.h"
#include "test_support.h"

using dinoclip::Error;
using dinoclip::expand_templates;
using dinoclip::ZeroShotClassifier;

namespace {

at::Tensor one_hot_rows(int64_t n, int64_t dim) { return at::eye(n, dim, at::kFloat); }

}  // namespace

TEST(ExpandTemplates, ReplacesEveryPlaceholder) {
  const std::vector<std::string> prompts = expand_templates("dog", {"a photo of a {}.", "{} and {}", "{}"});
  EXPECT_EQ(prompts, (std::vector<std::string>{"a photo of a dog.", "dog and dog", "dog"}));
  EXPECT_EQ(expand_templates("{}", {"a {}"}), std::vector<std::string>{"a {}"});  // a label is not re-expanded
}

TEST(ExpandTemplates, RejectsTemplateWithoutPlaceholder) {
  EXPECT_THROW(expand_templates("dog", {"a photo of a {}.", "a photo"}), Error);
  EXPECT_THROW(expand_templates("dog", {}), Error);
}

TEST(ZeroShotClassifier, PicksTheLabelAlongTheImage) {
  // Labels along axes 0, 1, 2; the image points mostly along axis 1.
  const ZeroShotClassifier classifier(one_hot_rows(3, 4), /*logit_scale=*/100.0);
  const auto results = classifier.classify(at::tensor({0.1f, 2.0f, 0.f, 0.f}), /*top_k=*/3);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].top.size(), 3u);
  EXPECT_EQ(results[0].top[0].label, 1);
  EXPECT_FALSE(results[0].unknown);
  // cos = [0.1, 2, 0] / |(0.1, 2)|; probabilities = softmax(100 cos), by hand.
  const double n = std::sqrt(0.01 + 4.0);
  const double l0 = 100 * 0.1 / n, l1 = 100 * 2.0 / n, l2 = 0.0;
  const double z = std::exp(l0 - l1) + 1.0 + std::exp(l2 - l1);
  EXPECT_NEAR(results[0].top[0].probability, 1.0 / z, 1e-6);
  EXPECT_NEAR(results[0].top[1].probability, std::exp(l0 - l1) / z, 1e-6);
  EXPECT_EQ(results[0].top[1].label, 0);
  EXPECT_EQ(results[0].top[2].label, 2);
}

TEST(ZeroShotClassifier, AveragesNormalisedPromptsThenRenormalises) {
  // Label 0: prompts (2,0,0) and (0,0,3) -> units (1,0,0), (0,0,1) -> mean (.5,0,.5) -> (1,0,1)/sqrt2.
  // Label 1: prompts (0,1,0) twice.
  const at::Tensor prompts =
      at::tensor({2.f, 0.f, 0.f, 0.f, 0.f, 3.f, 0.f, 1.f, 0.f, 0.f, 5.f, 0.f}).reshape({2, 2, 3});
  const ZeroShotClassifier classifier(prompts, 10.0);
  const float s = 1.0f / std::sqrt(2.0f);
  const at::Tensor expected = at::tensor({s, 0.f, s, 0.f, 1.f, 0.f}).reshape({2, 3});
  EXPECT_TENSOR_NEAR(classifier.label_embeddings(), expected, 1e-6);
  // An image along (1,0,1) has cos 1 with label 0 and 0 with label 1: p0 = 1 / (1 + e^-10).
  const at::Tensor probs = classifier.probabilities(at::tensor({1.f, 0.f, 1.f}));
  EXPECT_NEAR(probs[0][0].item<float>(), 1.0 / (1.0 + std::exp(-10.0)), 1e-6);
  EXPECT_NEAR(probs.sum().item<float>(), 1.0, 1e-6);
}

TEST(ZeroShotClassifier, ClassifiesABatchInTopKOrder) {
  const ZeroShotClassifier classifier(one_hot_rows(4, 4));
  // Image b prefers label 3 - b, then 0.
  at::Tensor images = at::zeros({4, 4});
  for (int64_t b = 0; b < 4; ++b) {
    images[b][3 - b] = 1.0f;
    images[b][0] += 0.05f;
  }
  const auto results = classifier.classify(images, /*top_k=*/2);
  ASSERT_EQ(results.size(), 4u);
  for (int64_t b = 0; b < 4; ++b) {
    ASSERT_EQ(results[b].top.size(), 2u);
    EXPECT_EQ(results[b].top[0].label, 3 - b);
    EXPECT_GE(results[b].top[0].probability, results[b].top[1].probability);
    if (b != 3) {
      EXPECT_EQ(results[b].top[1].label, 0);
    }
  }
  EXPECT_EQ(classifier.classify(images, /*top_k=*/10)[0].top.size(), 4u);  // k > labels: all
}

TEST(ZeroShotClassifier, FlagsUnknownBelowThreshold) {
  const ZeroShotClassifier classifier(one_hot_rows(2, 3), 100.0);
  // Equally close to both labels: 0.5 each.
  const auto ambiguous = classifier.classify(at::tensor({1.f, 1.f, 0.f}), 1, /*unknown_threshold=*/0.6);
  EXPECT_TRUE(ambiguous[0].unknown);
  EXPECT_NEAR(ambiguous[0].top[0].probability, 0.5, 1e-6);
  EXPECT_FALSE(classifier.classify(at::tensor({1.f, 1.f, 0.f}), 1, 0.4)[0].unknown);
  EXPECT_FALSE(classifier.classify(at::tensor({1.f, 0.f, 0.f}), 1, 0.6)[0].unknown);
  // Orthogonal to every label: uniform, so any threshold above 1/L marks it unknown.
  EXPECT_TRUE(classifier.classify(at::tensor({0.f, 0.f, 1.f}), 1, 0.51)[0].unknown);
}

TEST(ZeroShotClassifier, RejectsBadInputs) {
  EXPECT_THROW(ZeroShotClassifier(at::empty({0, 4})), Error);        // no labels
  EXPECT_THROW(ZeroShotClassifier(at::empty({2, 0, 4})), Error);     // no prompts
  EXPECT_THROW(ZeroShotClassifier(at::randn({4})), Error);           // wrong rank
  EXPECT_THROW(ZeroShotClassifier(at::zeros({2, 4})), Error);        // zero embedding
  EXPECT_THROW(ZeroShotClassifier(one_hot_rows(2, 4), 0.0), Error);  // logit scale
  EXPECT_THROW(ZeroShotClassifier(one_hot_rows(2, 4), NAN), Error);
  // Opposite prompts cancel: the label has no direction.
  EXPECT_THROW(ZeroShotClassifier(at::tensor({1.f, 0.f, -1.f, 0.f}).reshape({1, 2, 2})), Error);
  const ZeroShotClassifier classifier(one_hot_rows(2, 4));
  EXPECT_THROW(classifier.classify(at::randn({5})), Error);  // dim mismatch
  EXPECT_THROW(classifier.classify(at::randn({2, 5})), Error);
  EXPECT_THROW(classifier.classify(at::randn({1, 2, 4})), Error);
  EXPECT_THROW(classifier.classify(at::randn({4}), 0), Error);  // k <= 0
  EXPECT_THROW(classifier.classify(at::randn({4}), -1), Error);
  EXPECT_THROW(classifier.classify(at::randn({4}), 1, 1.5), Error);  // threshold
  EXPECT_THROW(classifier.classify(at::zeros({4})), Error);          // zero image
}
