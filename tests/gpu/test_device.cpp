// Device names as users write them (device=cuda:1, --device cpu): parsing
// runs everywhere; resolving a GPU index needs CUDA.
#include <gtest/gtest.h>

#include "core/error.h"
#include "gpu_test_util.h"
#include "test_support.h"

using namespace dinoclip;
using dinoclip::testing::message_of;

namespace {

TEST(DeviceSpec, ParsesAutoCpuCudaAndIndex) {
  EXPECT_EQ(parse_device("auto").choice, DeviceChoice::kAuto);
  EXPECT_EQ(parse_device("cpu").choice, DeviceChoice::kCpu);
  DeviceSpec cuda = parse_device("cuda");
  EXPECT_EQ(cuda.choice, DeviceChoice::kCuda);
  EXPECT_EQ(cuda.cuda_index, 0);
  DeviceSpec second = parse_device("cuda:1");
  EXPECT_EQ(second.choice, DeviceChoice::kCuda);
  EXPECT_EQ(second.cuda_index, 1);
  EXPECT_EQ(parse_device("cuda:12").cuda_index, 12);
  EXPECT_EQ(parse_device_choice("cuda:3"), DeviceChoice::kCuda);
}

TEST(DeviceSpec, RejectsMalformedIndex) {
  for (const char* bad : {"cuda:", "cuda:x", "cuda:-1", "cuda:1a", "cuda: 1", "cuda:99999"}) {
    const std::string message = message_of([&] { parse_device(bad); });
    EXPECT_NE(message.find("must be a number"), std::string::npos) << bad << ": " << message;
  }
}

TEST(DeviceSpec, RejectsUnknownNamesListingTheValidOnes) {
  for (const char* bad : {"gpu", "CUDA", "", "cpu:0", "mps"}) {
    const std::string message = message_of([&] { parse_device(bad); });
    EXPECT_NE(message.find("use auto, cpu, cuda or cuda:N"), std::string::npos) << bad << ": " << message;
  }
}

TEST(DeviceSpec, CpuAndAutoResolveWithoutAGpu) {
  EXPECT_TRUE(resolve_device(parse_device("cpu")).is_cpu());
  const c10::Device automatic = resolve_device(parse_device("auto"));
  EXPECT_EQ(automatic.is_cuda(), cuda_available());
}

TEST(DeviceSpec, CudaWithoutAGpuSaysWhatIsMissing) {
  if (cuda_available()) GTEST_SKIP() << "this machine has a GPU: device=cuda is valid here";
  const std::string message = message_of([] { resolve_device(parse_device("cuda:1")); });
  EXPECT_NE(message.find("device=cuda"), std::string::npos) << message;
  EXPECT_NE(message.find("device=cpu"), std::string::npos) << "the error says what to use instead: " << message;
  EXPECT_EQ(cuda_device_count(), 0);
}

TEST(GpuDevice, IndexPastTheLastGpuIsRejected) {
  DINOCLIP_REQUIRE_GPU();
  const int count = cuda_device_count();
  ASSERT_GE(count, 1);
  EXPECT_EQ(resolve_device(parse_device("cuda:0")), c10::Device(c10::kCUDA, 0));
  const std::string message = message_of([&] { resolve_device(parse_device("cuda:" + std::to_string(count))); });
  EXPECT_NE(message.find("has " + std::to_string(count) + " CUDA GPU(s)"), std::string::npos) << message;
}

}  // namespace

#ifdef DINOCLIP_WITH_CUDA
#include <ATen/ATen.h>
#include <ATen/DeviceAccelerator.h>

#include "runtime/device_memory.h"
#include "runtime/dino_instance.h"

namespace {

int64_t reserved_on_gpu0() { return at::accelerator::getDeviceStats(0).reserved_bytes[0].current; }

// Issue 24 item 10: a stopped pipeline gives its GPU memory back. Releasing
// the last instance on the GPU empties LibTorch's cache of freed blocks, so
// what the process reserves afterwards is no more than before the instance.
TEST(GpuMemory, ReleasingTheLastInstanceOnAGpuReturnsItsCachedMemory) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(model, "dino_tiny/dino_tiny.safetensors");
  const runtime::DinoInstanceOptions options = dinoclip::testing::tiny_dino_on_gpu(model);
  at::getDeviceAllocator(c10::kCUDA)->emptyCache();
  const int64_t before = reserved_on_gpu0();
  int64_t while_running = 0;
  {
    std::shared_ptr<runtime::DinoInstance> instance = runtime::acquire_dino_instance("", options);
    EXPECT_EQ(runtime::device_memory_users(0), 1);
    const runtime::ClientId client = instance->new_client();
    DinoForwardOptions forward;
    forward.cls_attention = true;
    for (int size : {224, 448}) {
      const at::Tensor input = at::rand({1, 3, size, size}, at::TensorOptions().device(dinoclip::testing::gpu()));
      DinoOutput out = instance->submit(client, size, size, forward, input).get();
      EXPECT_TRUE(out.tokens.is_cuda());
    }
    while_running = reserved_on_gpu0();
  }
  EXPECT_EQ(runtime::device_memory_users(0), 0);
  EXPECT_GT(while_running, before) << "the model reserved nothing: the test shows nothing";
  EXPECT_LE(reserved_on_gpu0(), before) << "reserved memory was kept after the last instance went";
}

}  // namespace
#endif  // DINOCLIP_WITH_CUDA
