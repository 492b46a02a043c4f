// The CUDA graph cache's policy, checked on the CPU with a fake capturer:
// which inputs share a graph, when a new one is captured, the bound, the
// fallback to eager after a failed capture, and the switch. The graphs
// themselves are compared with eager runs in tests/gpu/test_gpu_models.cpp.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "models/cuda_graph.h"
#include "models/dino.h"
#include "models/matmul_precision.h"
#include "test_support.h"

using namespace dinoclip;
using dinoclip::testing::message_of;

namespace {

// "Captures" by remembering the forward; a replay runs it and records that
// it did. failing_shapes: batch sizes whose capture throws.
struct FakeCapturer {
  int captures = 0;
  int replays = 0;
  std::vector<int64_t> failing_batches;
  std::vector<int64_t> captured_batches;  // dim 0 of each capture's example

  GraphCapturer capturer() {
    return [this](const at::Tensor& example, const GraphForward& forward) -> std::unique_ptr<CapturedForward> {
      for (int64_t b : failing_batches) {
        if (example.size(0) == b) throw std::runtime_error("operation not permitted when stream is capturing");
      }
      ++captures;
      captured_batches.push_back(example.size(0));
      struct Replay : CapturedForward {
        GraphForward forward;
        int* replays;
        std::vector<at::Tensor> run(const at::Tensor& input) override {
          ++*replays;
          return forward(input);
        }
      };
      auto replay = std::make_unique<Replay>();
      replay->forward = forward;
      replay->replays = &replays;
      return replay;
    };
  }
};

std::vector<at::Tensor> doubled(const at::Tensor& x) { return {x * 2}; }

TEST(GraphKey, DiffersByShapeBatchDtypeAndVariant) {
  const at::Tensor a = at::zeros({1, 3, 224, 224});
  EXPECT_EQ(GraphKey::of(a, 0), GraphKey::of(at::ones({1, 3, 224, 224}), 0)) << "values do not matter";
  EXPECT_FALSE(GraphKey::of(a, 0) == GraphKey::of(at::zeros({2, 3, 224, 224}), 0)) << "batch size";
  EXPECT_FALSE(GraphKey::of(a, 0) == GraphKey::of(at::zeros({1, 3, 480, 480}), 0)) << "input size";
  EXPECT_FALSE(GraphKey::of(a, 0) == GraphKey::of(a.to(at::kBFloat16), 0)) << "precision";
  EXPECT_FALSE(GraphKey::of(a, 0) == GraphKey::of(a, 1)) << "variant (outputs wanted)";
  EXPECT_EQ(GraphKey::of(a, 3).describe(), "[1, 3, 224, 224] Float on cpu, variant 3");
}

TEST(GraphCache, CapturesOncePerShapeAndReplaysAfter) {
  FakeCapturer fake;
  GraphCache cache(4, fake.capturer());
  const at::Tensor x = at::arange(6, at::kFloat).view({2, 3});
  for (int i = 0; i < 5; ++i) {
    std::vector<at::Tensor> out = cache.run(x + i, 0, doubled);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].equal((x + i) * 2)) << "each run returns its own input's result";
  }
  EXPECT_EQ(fake.captures, 1);
  EXPECT_EQ(fake.replays, 5);
  const GraphCacheStats s = cache.stats();
  EXPECT_EQ(s.captures, 1);
  EXPECT_EQ(s.replays, 5);
  EXPECT_EQ(s.failures, 0);
}

TEST(GraphCache, NewBatchSizeOrInputSizeCapturesAgain) {
  FakeCapturer fake;
  GraphCache cache(4, fake.capturer());
  cache.run(at::zeros({16, 3, 8, 8}), 0, doubled);
  cache.run(at::zeros({16, 3, 8, 8}), 0, doubled);
  cache.run(at::zeros({5, 3, 8, 8}), 0, doubled);  // a partial last batch
  cache.run(at::zeros({16, 3, 16, 16}), 0, doubled);  // an input-size change
  cache.run(at::zeros({16, 3, 8, 8}), 1, doubled);  // other outputs wanted
  EXPECT_EQ(fake.captures, 4);
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_TRUE(cache.contains(GraphKey::of(at::zeros({5, 3, 8, 8}), 0)));
}

TEST(GraphCache, KeepsAtMostItsCapacityDroppingTheLeastRecentlyUsed) {
  FakeCapturer fake;
  GraphCache cache(2, fake.capturer());
  const at::Tensor b1 = at::zeros({1, 4}), b2 = at::zeros({2, 4}), b3 = at::zeros({3, 4});
  cache.run(b1, 0, doubled);
  cache.run(b2, 0, doubled);
  cache.run(b1, 0, doubled);  // b1 is now the most recent: b2 goes first
  cache.run(b3, 0, doubled);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.contains(GraphKey::of(b1, 0)));
  EXPECT_FALSE(cache.contains(GraphKey::of(b2, 0)));
  EXPECT_TRUE(cache.contains(GraphKey::of(b3, 0)));
  ASSERT_EQ(cache.keys().size(), 2u);
  EXPECT_EQ(cache.keys()[0], GraphKey::of(b3, 0)) << "most recently used first";
  EXPECT_EQ(cache.stats().evictions, 1);
  cache.run(b2, 0, doubled);  // back again: captured again
  EXPECT_EQ(fake.captures, 4);
  EXPECT_EQ(cache.stats().evictions, 2);
}

TEST(GraphCache, FailedCaptureRunsEagerlyWarnsOnceAndIsNotRetried) {
  FakeCapturer fake;
  fake.failing_batches = {3};
  std::vector<std::string> warnings;
  GraphCache cache(4, fake.capturer(), [&](const std::string& w) { warnings.push_back(w); });
  const at::Tensor x = at::randn({3, 4});
  for (int i = 0; i < 3; ++i) {
    std::vector<at::Tensor> out = cache.run(x, 0, doubled);
    EXPECT_TRUE(out[0].equal(x * 2)) << "the eager result, not an error";
  }
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("CUDA graph capture failed for input [3, 4]"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("runs without graphs"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("not permitted when stream is capturing"), std::string::npos) << "says why";
  const GraphCacheStats s = cache.stats();
  EXPECT_EQ(s.failures, 1);
  EXPECT_EQ(s.eager, 3);
  EXPECT_EQ(s.captures, 0);
  cache.run(at::randn({2, 4}), 0, doubled);  // another shape still gets its graph
  EXPECT_EQ(cache.stats().captures, 1);
}

TEST(GraphCache, PaddedBatchesShareThePowerOfTwoGraph) {
  FakeCapturer fake;
  GraphCache cache(4, fake.capturer(), {}, /*pad_batches=*/true);
  EXPECT_EQ(cache.padded_batch(1), 1);
  EXPECT_EQ(cache.padded_batch(3), 4);
  EXPECT_EQ(cache.padded_batch(16), 16);
  EXPECT_EQ(cache.padded_batch(17), 32);
  for (int64_t n : {3, 4, 3, 1, 5, 7, 8}) {
    const at::Tensor x = at::randn({n, 2});
    std::vector<at::Tensor> out = cache.run(x, 0, doubled);
    ASSERT_EQ(out[0].size(0), n) << "the caller's rows only";
    EXPECT_TRUE(out[0].equal(x * 2));
  }
  EXPECT_EQ(fake.captured_batches, (std::vector<int64_t>{4, 1, 8})) << "captured at the padded sizes";
  EXPECT_TRUE(cache.contains(GraphKey::of(at::zeros({4, 2}), 0)));
  EXPECT_EQ(cache.stats().replays, 7);
  GraphCache unpadded(4, fake.capturer());
  EXPECT_EQ(unpadded.padded_batch(3), 3);
}

TEST(GraphCache, RejectsZeroCapacity) {
  const std::string message = message_of([] { GraphCache cache(0, FakeCapturer().capturer()); });
  EXPECT_NE(message.find("at least 1"), std::string::npos) << message;
}

TEST(GraphCache, SwitchAndDeviceDecideWhetherGraphsAreUsed) {
  EXPECT_FALSE(use_cuda_graphs(true, c10::Device(c10::kCPU))) << "the CPU never uses them";
  EXPECT_FALSE(use_cuda_graphs(false, c10::Device(c10::kCUDA, 0))) << "switched off";
  EXPECT_EQ(use_cuda_graphs(true, c10::Device(c10::kCUDA, 0)), cuda_graphs_supported());
#ifndef DINOCLIP_WITH_CUDA
  EXPECT_FALSE(cuda_graphs_supported()) << "a CPU LibTorch cannot capture";
#endif
}

TEST(GraphCache, CudaCapturerWithoutSupportOrGpuFallsBackToEager) {
  // The real capturer on a CPU input (any build): the capture is refused,
  // the cache warns and returns the eager result.
  std::vector<std::string> warnings;
  GraphCache cache(2, cuda_graph_capturer(), [&](const std::string& w) { warnings.push_back(w); });
  const at::Tensor x = at::randn({2, 3});
  EXPECT_TRUE(cache.run(x, 0, doubled)[0].equal(x * 2));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(cache.stats().failures, 1);
}

TEST(DinoModelGraphs, OffOnTheCpu) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  DinoLoadOptions load;
  load.num_heads = 4;
  load.cuda_graphs = true;  // the default; the CPU ignores it
  DinoModel model = DinoModel::load(weights, load);
  EXPECT_EQ(model.cuda_graphs(), nullptr);
}

TEST(Tf32Precision, ParsesAndIsFloat32OnAGpu) {
  EXPECT_EQ(parse_precision("tf32"), Precision::kTf32);
  EXPECT_STREQ(precision_name(Precision::kTf32), "tf32");
  EXPECT_TRUE(uses_tf32(Precision::kTf32));
  EXPECT_FALSE(uses_tf32(Precision::kFp32));
  EXPECT_FALSE(uses_tf32(Precision::kBf16));
  EXPECT_EQ(resolve_precision(Precision::kTf32, c10::Device(c10::kCUDA, 0)), c10::kFloat);
}

TEST(Tf32Precision, RejectsTheCpu) {
  const std::string message = message_of([] { resolve_precision(Precision::kTf32, c10::Device(c10::kCPU)); });
  EXPECT_NE(message.find("precision=tf32"), std::string::npos) << message;
  EXPECT_NE(message.find("on the CPU use fp32"), std::string::npos) << "says what to use instead: " << message;
}

TEST(Tf32Precision, RejectsUnknownPrecisionListingTf32) {
  const std::string message = message_of([] { parse_precision("tf16"); });
  EXPECT_NE(message.find("tf32"), std::string::npos) << message;
}

TEST(Float32MatmulScope, OnlyFloat32CudaModelsTakeTheSwitch) {
  EXPECT_FALSE(Float32MatmulScope(c10::Device(c10::kCPU), c10::kFloat, true).active());
  EXPECT_FALSE(Float32MatmulScope(c10::Device(c10::kCUDA, 0), c10::kBFloat16, true).active());
  EXPECT_TRUE(Float32MatmulScope(c10::Device(c10::kCUDA, 0), c10::kFloat, false).active());
}

}  // namespace
