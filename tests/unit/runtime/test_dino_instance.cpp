// DINO through the shared instance on the tiny fixture: batched results equal
// one-at-a-time ones (1e-5), clients share one model, mismatches are refused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "io/image_file.h"
#include "runtime/dino_instance.h"
#include "test_support.h"
#include "vision/preprocess.h"

namespace dinoclip::runtime {
namespace {

using namespace std::chrono_literals;
using dinoclip::testing::fixture_file;

constexpr double kBatchTolerance = 1e-5;  // batch of N vs batch of 1, same code

DinoInstanceOptions tiny_options(const std::string& path, int batch, std::chrono::milliseconds timeout) {
  DinoInstanceOptions options;
  options.model_path = path;
  options.load.num_heads = 4;  // the fixture's head count is not derivable from its width
  options.batch = BatchPolicy{batch, timeout};
  return options;
}

// Four different pictures at one size: the fixture's images resized to 64x64.
std::vector<at::Tensor> four_inputs() {
  std::vector<at::Tensor> inputs;
  for (const char* name : {"img0_224x224.png", "img1_160x240.png", "img2_96x96.png", "img3_64x96.png"}) {
    const Image picture = read_image(fixture_file(std::string("dino_tiny/") + name));
    inputs.push_back(dino_input(picture.view(), 64, 64));
  }
  return inputs;
}

TEST(DinoInstance, FourClientsBatchedEqualOneAtATime) {
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/dino_tiny.safetensors");
  const std::vector<at::Tensor> inputs = four_inputs();
  auto single = acquire_dino_instance("", tiny_options(path, 1, 0ms));
  // The batch runs as soon as the fourth item arrives; the long timeout only keeps
  // a slow client thread (a loaded machine) from splitting it.
  auto batched = acquire_dino_instance("", tiny_options(path, 4, 60000ms));
  DinoForwardOptions forward;

  std::vector<DinoOutput> expected;
  const ClientId one = single->new_client();
  for (const auto& input : inputs) expected.push_back(single->submit(one, 64, 64, forward, input).get());

  std::vector<DinoOutput> got(4);
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      const ClientId id = batched->new_client();
      got[c] = batched->submit(id, 64, 64, forward, inputs[c]).get();
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(batched->stats().largest_batch, 4);
  EXPECT_EQ(batched->stats().batches, 1u);
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(got[c].grid_h, 8);
    EXPECT_EQ(got[c].grid_w, 8);
    EXPECT_EQ(got[c].tokens.sizes(), expected[c].tokens.sizes());
    EXPECT_LT((got[c].tokens - expected[c].tokens).abs().max().item<double>(), kBatchTolerance) << "client " << c;
    EXPECT_LT((got[c].cls_attention - expected[c].cls_attention).abs().max().item<double>(), kBatchTolerance);
  }
}

TEST(DinoInstance, OneAtATimeEqualsTheModelItself) {
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/dino_tiny.safetensors");
  const at::Tensor input = four_inputs()[1];
  DinoLoadOptions load;
  load.num_heads = 4;
  const DinoOutput direct = DinoModel::load(path, load).forward(input);
  auto instance = acquire_dino_instance("", tiny_options(path, 1, 0ms));
  const DinoOutput served = instance->submit(instance->new_client(), 64, 64, {}, input).get();
  EXPECT_TRUE(at::equal(served.tokens, direct.tokens));
  EXPECT_TRUE(at::equal(served.cls_attention, direct.cls_attention));
}

TEST(DinoInstance, SameIdSharesTheLoadedModel) {
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/dino_tiny.safetensors");
  auto a = acquire_dino_instance("unit-shared", tiny_options(path, 2, 5ms));
  auto b = acquire_dino_instance("unit-shared", tiny_options(path, 2, 5ms));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(acquire_dino_instance("", tiny_options(path, 2, 5ms)).get(), a.get());
}

TEST(DinoInstance, RejectsTheSameIdWithOtherBatchingOrHeads) {
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/dino_tiny.safetensors");
  auto held = acquire_dino_instance("unit-mismatch", tiny_options(path, 2, 5ms));
  try {
    acquire_dino_instance("unit-mismatch", tiny_options(path, 4, 5ms));
    FAIL() << "a batch-size mismatch was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch-size differs: \"4\" here, \"2\""), std::string::npos) << e.what();
  }
  DinoInstanceOptions other_heads = tiny_options(path, 2, 5ms);
  other_heads.load.num_heads = 0;
  EXPECT_THROW(acquire_dino_instance("unit-mismatch", other_heads), Error);
  DinoInstanceOptions other_recipe = tiny_options(path, 2, 5ms);
  other_recipe.load.pos_interpolation = PosInterpolation::kScaleOffset;  // loads alone; must not share
  try {
    acquire_dino_instance("unit-mismatch", other_recipe);
    FAIL() << "a pos-interpolation mismatch was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pos-interpolation differs"), std::string::npos) << e.what();
  }
}

TEST(DinoInstance, SettingsNameTf32AndCudaGraphsOnAGpuOnly) {
  // No model is loaded: only what a sharing check compares.
  DinoInstanceOptions options = tiny_options("m.safetensors", 1, 0ms);
  auto value = [](const InstanceSettings& settings, const std::string& name) {
    for (const auto& [key, v] : settings)
      if (key == name) return v;
    return std::string("(absent)");
  };
  EXPECT_EQ(value(dino_instance_settings(options), "precision"), "fp32");
  EXPECT_EQ(value(dino_instance_settings(options), "cuda-graphs"), "(absent)") << "the CPU has no graphs to share";
  options.load.device = c10::Device(c10::kCUDA, 0);
  options.load.tf32 = true;
  EXPECT_EQ(value(dino_instance_settings(options), "precision"), "tf32");
  EXPECT_EQ(value(dino_instance_settings(options), "cuda-graphs"), "on");
  DinoInstanceOptions eager = options;
  eager.load.cuda_graphs = false;
  EXPECT_NE(describe_mismatch(dino_instance_settings(eager), dino_instance_settings(options)).find(
                "cuda-graphs differs"),
            std::string::npos);
  DinoInstanceOptions exact = options;
  exact.load.tf32 = false;
  EXPECT_NE(describe_mismatch(dino_instance_settings(exact), dino_instance_settings(options)).find(
                "precision differs"),
            std::string::npos);
}

TEST(DinoInstance, RejectsInputsNotMultipleOfThePatch) {
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/dino_tiny.safetensors");
  auto instance = acquire_dino_instance("", tiny_options(path, 1, 0ms));
  EXPECT_THROW(instance->submit(instance->new_client(), 60, 64, {}, at::zeros({1, 3, 60, 64})), Error);
}

}  // namespace
}  // namespace dinoclip::runtime
