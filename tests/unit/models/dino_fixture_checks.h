// What the DINOv2 and DINOv3 fixture tests check alike: one forward pass
// (full attention, two intermediate layers) against the official code's
// outputs stored as <prefix>_*.npy (../shared/fixtures/dinov{2,3}_tiny).
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "io/npy.h"
#include "models/dino.h"
#include "test_support.h"

namespace dinoclip::testing {

// The fixtures' READMEs: float32 on the CPU, <= 1e-5 on tokens, <= 1e-6 on attention probabilities.
constexpr double kFixtureTokenTolerance = 1e-5;
constexpr double kFixtureAttentionTolerance = 1e-6;

inline at::Tensor fixture_array(const std::string& prefix, const std::string& what) {
  return read_npy(fixture_file(prefix + "_" + what + ".npy"));
}

inline DinoForwardOptions fixture_forward_options() {
  DinoForwardOptions options;
  options.full_attention = true;
  options.intermediate_layers = 2;
  return options;
}

// `registers`: the fixture's name for them ("registers", "storage").
inline void expect_official_outputs(const DinoOutput& out, const std::string& prefix, const std::string& registers,
                                    int grid_h, int grid_w) {
  ASSERT_EQ(out.grid_h, grid_h);
  ASSERT_EQ(out.grid_w, grid_w);
  const int64_t patches = int64_t(grid_h) * grid_w, dim = out.tokens.size(2);
  ASSERT_EQ(out.tokens.sizes(), (std::vector<int64_t>{1, 1 + patches, dim}));
  EXPECT_TENSOR_NEAR(out.tokens[0][0], fixture_array(prefix, "cls"), kFixtureTokenTolerance);
  EXPECT_TENSOR_NEAR(out.tokens[0].narrow(0, 1, patches), fixture_array(prefix, "patch_tokens"),
                     kFixtureTokenTolerance);
  EXPECT_TENSOR_NEAR(out.registers[0], fixture_array(prefix, registers), kFixtureTokenTolerance);
  EXPECT_TENSOR_NEAR(out.attention[0], fixture_array(prefix, "attn_full"), kFixtureAttentionTolerance);
  EXPECT_TENSOR_NEAR(out.cls_attention[0], fixture_array(prefix, "attn_cls"), kFixtureAttentionTolerance);

  // get_intermediate_layers(n=2, reshape=True, return_class_token=True, norm=True).
  ASSERT_EQ(out.intermediate.size(), 2u);
  const char* names[] = {"inter_m2", "inter_m1"};
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(names[i]);
    const at::Tensor& layer = out.intermediate[i][0];  // [1 + hw, D]
    EXPECT_TENSOR_NEAR(layer[0], fixture_array(prefix, std::string(names[i]) + "_cls"), kFixtureTokenTolerance);
    const at::Tensor map = layer.narrow(0, 1, patches).t().reshape({dim, grid_h, grid_w});
    EXPECT_TENSOR_NEAR(map, fixture_array(prefix, std::string(names[i]) + "_patch"), kFixtureTokenTolerance);
  }
  EXPECT_TENSOR_NEAR(out.intermediate[1], out.tokens, 0.0);  // the last intermediate layer is the output
}

}  // namespace dinoclip::testing
