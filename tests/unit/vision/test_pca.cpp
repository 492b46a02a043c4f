#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "test_support.h"
#include "vision/pca.h"

using namespace dinoclip;

TEST(Pca, RecoversTheDominantAxisWithAFixedSign) {
  at::manual_seed(1);
  // Points along (0, 3, 4)/5 with small noise: the first component is that axis.
  at::Tensor t = at::linspace(-10, 10, 200).unsqueeze(1);
  at::Tensor axis = at::tensor({0.0f, 0.6f, 0.8f});
  at::Tensor tokens = t * axis + 0.01 * at::randn({200, 3});
  PcaBasis basis = fit_pca(tokens, 3);
  at::Tensor first = basis.components[0].to(at::kFloat);
  EXPECT_TENSOR_NEAR(first, axis, 1e-3);  // sign: largest entry positive
  PcaBasis flipped = fit_pca(-tokens, 3);
  EXPECT_TENSOR_NEAR(flipped.components[0].to(at::kFloat), axis, 1e-3);
}

TEST(Pca, ProjectionIsMinMaxScaledAndClamped) {
  at::Tensor tokens = at::tensor({0.0f, 1.0f, 2.0f, 3.0f}).view({4, 1}) * at::tensor({1.0f, 0.0f});
  PcaBasis basis = fit_pca(tokens, 1);
  at::Tensor p = project_pca(basis, tokens);
  EXPECT_NEAR(p.min().item<float>(), 0.0f, 1e-6);
  EXPECT_NEAR(p.max().item<float>(), 1.0f, 1e-6);
  at::Tensor outside = project_pca(basis, at::tensor({10.0f, 0.0f}).view({1, 2}));
  EXPECT_NEAR(outside.item<float>(), 1.0f, 1e-6);
}

TEST(Pca, RejectsBadShapes) {
  EXPECT_THROW(fit_pca(at::randn({10, 2}), 3), Error);
  EXPECT_THROW(fit_pca(at::randn({1, 4}), 1), Error);
  PcaBasis basis = fit_pca(at::randn({10, 4}), 3);
  EXPECT_THROW(project_pca(basis, at::randn({5, 3})), Error);
}
