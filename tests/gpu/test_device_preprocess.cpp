// scale-method=fast on CUDA against the same fast path on the CPU (the
// CPU-side bounds against exact are in tests/unit/vision/test_device_preprocess.cpp).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "gpu_test_util.h"
#include "io/image_file.h"
#include "vision/device_preprocess.h"
#include "test_support.h"

using namespace dinoclip;

namespace {

const c10::Device kCpu(c10::kCPU);

TEST(GpuPreprocess, FastOnCudaMatchesFastOnCpu) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/img1_160x240.png");
  const Image picture = read_image(path);
  at::Tensor cuda = dino_input_on_device(picture.view(), 224, 224, dinoclip::testing::gpu());
  EXPECT_TRUE(cuda.is_cuda());
  EXPECT_TENSOR_NEAR(cuda.cpu(), dino_input_on_device(picture.view(), 224, 224, kCpu), 1e-4);
  at::Tensor clip = clip_input_on_device(picture.view(), 224, dinoclip::testing::gpu());
  EXPECT_TENSOR_NEAR(clip.cpu(), clip_input_on_device(picture.view(), 224, kCpu), 1e-4);
}

}  // namespace
