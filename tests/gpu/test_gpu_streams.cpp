// Issue 24 item 13: a GPU result is read on whatever stream the reading thread
// has, not only on the legacy default stream. The producer writes on one
// non-default stream while that stream is kept busy, the reader's thread has
// another non-default stream current; the deferred host copy and
// resident_tokens() must still see the finished values (they wait on the
// producer's event). Skipped without a GPU.
#include <ATen/ATen.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <gst/dinoclip/dinoclip-meta.h>

#include <thread>

#include "dinofeatures/dinofeatures_payload.h"
#include "element_test_util.h"
#include "gpu_test_util.h"
#include "runtime/dino_instance.h"
#include "runtime/outputs_ready.h"

namespace dinoclip::testing {
namespace {

struct PayloadDeleter {
  void operator()(GstDinoclipFeatures* f) const { gst_dinoclip_features_unref(f); }
};
using Payload = std::unique_ptr<GstDinoclipFeatures, PayloadDeleter>;

c10::Stream pool_stream() { return c10::impl::VirtualGuardImpl(c10::kCUDA).getStreamFromGlobalPool(gpu()); }

// Keeps the current stream busy for a while (a chain of large products), so
// that work queued after it on that stream finishes well after other streams'.
void keep_stream_busy() {
  at::Tensor a = at::randn({4096, 4096}, at::TensorOptions().device(gpu()));
  for (int i = 0; i < 40; ++i) a = at::mm(a, a).div_(4096.0f);
}

// A fake DINO result written on a busy non-default stream, with the
// producer's event: tokens [1, 1 + 4 * 6, 16] all `value`, no attention.
struct Produced {
  DinoOutput output;
  std::shared_ptr<const runtime::OutputsReady> ready;
};

Produced produce_on_busy_stream(float value) {
  Produced produced;
  const c10::StreamGuard producer(pool_stream());
  at::Tensor tokens = at::zeros({1, 25, 16}, at::TensorOptions().device(gpu()));
  keep_stream_busy();
  tokens.fill_(value);
  produced.output.tokens = tokens;
  produced.output.grid_h = 4;
  produced.output.grid_w = 6;
  produced.ready = runtime::OutputsReady::record(gpu());
  return produced;
}

TEST(GpuStreams, DeferredHostCopyOnAnotherStreamWaitsForTheProducer) {
  DINOCLIP_REQUIRE_GPU();
  for (int round = 0; round < 3; ++round) {
    Produced produced = produce_on_busy_stream(7.0f + round);
    Payload payload(gst::make_features_payload(produced.output, /*patch_size=*/8, produced.ready));
    at::Tensor host;
    std::thread reader([&] {
      const c10::StreamGuard other(pool_stream());  // the reading thread's current stream: not the default one
      host = meta_tokens(payload.get());
    });
    reader.join();
    ASSERT_TRUE(host.defined());
    EXPECT_EQ(host.min().item<float>(), 7.0f + round) << "the host copy ran before the producer's writes";
    EXPECT_EQ(host.max().item<float>(), 7.0f + round);
  }
}

TEST(GpuStreams, ResidentTokensOnAnotherStreamWaitForTheProducer) {
  DINOCLIP_REQUIRE_GPU();
  for (int round = 0; round < 3; ++round) {
    Produced produced = produce_on_busy_stream(3.0f + round);
    Payload payload(gst::make_features_payload(produced.output, /*patch_size=*/8, produced.ready));
    float low = 0, high = 0;
    std::thread reader([&] {
      const c10::StreamGuard other(pool_stream());
      const at::Tensor resident = gst::resident_tokens(payload.get());
      ASSERT_TRUE(resident.is_cuda());
      // Reduced on this thread's stream, then read back.
      low = resident.min().item<float>();
      high = resident.max().item<float>();
    });
    reader.join();
    EXPECT_EQ(low, 3.0f + round) << "resident tokens were read before the producer's writes";
    EXPECT_EQ(high, 3.0f + round);
  }
}

// Through the shared instance: the worker's outputs carry an event on a GPU
// (none on the CPU), and a reader on another stream gets the CPU's numbers.
TEST(GpuStreams, InstanceOutputsCarryTheWorkersEvent) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  runtime::DinoInstanceOptions options = tiny_dino_on_gpu(weights);
  auto instance = runtime::acquire_dino_instance("", options);
  const at::Tensor input = at::rand({1, 3, 64, 96});
  runtime::BatchOutputs outputs = instance->submit(instance->new_client(), 64, 96, {}, input).take_future().get();
  ASSERT_NE(outputs.ready, nullptr);
  options.load.device = c10::Device(c10::kCPU);
  auto cpu = runtime::acquire_dino_instance("", options);
  runtime::BatchOutputs expected = cpu->submit(cpu->new_client(), 64, 96, {}, input).take_future().get();
  EXPECT_EQ(expected.ready, nullptr);
  Payload payload(gst::make_features_payload(runtime::dino_output(outputs, 8, 12), 8, outputs.ready));
  at::Tensor host;
  std::thread reader([&] {
    const c10::StreamGuard other(pool_stream());
    host = meta_tokens(payload.get());
  });
  reader.join();
  EXPECT_TENSOR_NEAR(host, expected[0][0], 1e-4);
}

}  // namespace
}  // namespace dinoclip::testing
