// Batched frame preprocessing on CUDA (issue 21 item 2) against the same code
// on the CPU: frames_to_rgb and the batched model inputs on CUDA planes, and
// host frames staged in pinned memory, uploaded by the instance's worker on a
// side stream and prepared there, against the per-frame fast path on the GPU.
// Skipped without a GPU.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <random>

#include "gpu_test_util.h"
#include "runtime/dino_instance.h"
#include "runtime/frame_upload.h"
#include "test_support.h"
#include "vision/color_convert.h"
#include "vision/device_preprocess.h"

namespace dinoclip::testing {
namespace {

struct HostYuv {
  std::vector<std::uint8_t> y, uv;
};

// A host NV12 frame with padded strides; keep_alive owns the bytes.
FramePlanes nv12_frame(int width, int height, std::uint32_t seed) {
  auto owned = std::make_shared<HostYuv>();
  std::mt19937 rng(seed);
  const int stride = width + 7, rows = (height + 1) / 2;
  owned->y.resize(size_t(stride) * height);
  owned->uv.resize(size_t(stride + 1) * rows);
  for (auto* plane : {&owned->y, &owned->uv}) {
    for (auto& b : *plane) b = std::uint8_t(rng());
  }
  FramePlanes frame =
      nv12_frame_planes(owned->y.data(), stride, owned->uv.data(), stride + 1, width, height, YuvMatrix::kBt709, false);
  frame.keep_alive = owned;
  return frame;
}

FramePlanes on_gpu(FramePlanes frame) {
  for (at::Tensor& plane : frame.planes) plane = plane.to(gpu());
  frame.keep_alive.reset();
  return frame;
}

TEST(GpuFrames, BatchedConversionOnCudaEqualsTheCpu) {
  DINOCLIP_REQUIRE_GPU();
  std::vector<FramePlanes> host, cuda;
  for (std::uint32_t i = 0; i < 4; ++i) {
    host.push_back(nv12_frame(77, 45, i));
    cuda.push_back(on_gpu(host.back()));
  }
  const at::Tensor rgb = frames_to_rgb(cuda);
  ASSERT_TRUE(rgb.is_cuda());
  EXPECT_TRUE(at::equal(rgb.cpu(), frames_to_rgb(host))) << "integer arithmetic: the same bytes on both devices";
  EXPECT_TENSOR_NEAR(dino_inputs_from_frames(cuda, 64, 96).cpu(), dino_inputs_from_frames(host, 64, 96), 1e-4);
  EXPECT_TENSOR_NEAR(clip_inputs_from_frames(cuda, 48, ClipCrop::kCenter).cpu(),
                     clip_inputs_from_frames(host, 48, ClipCrop::kCenter), 1e-4);
}

TEST(GpuFrames, StagedHostFramesThroughTheInstanceEqualThePerFrameFastPath) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.safetensors");
  runtime::DinoInstanceOptions options = tiny_dino_on_gpu(weights);
  options.batch = runtime::BatchPolicy{3, std::chrono::milliseconds(60000)};
  auto instance = runtime::acquire_dino_instance("", options);
  options.batch = runtime::BatchPolicy{1, std::chrono::milliseconds(0)};
  auto single = runtime::acquire_dino_instance("", options);
  DinoForwardOptions forward;
  forward.cls_attention = true;
  std::vector<FramePlanes> frames;
  std::vector<runtime::DinoPending> pending;
  for (std::uint32_t i = 0; i < 4; ++i) {
    frames.push_back(nv12_frame(90, 60, 10 + i));
    // As the elements do for a GPU model: a pinned copy, the mapping released.
    FramePlanes staged = runtime::staged_for_device(frames.back(), gpu());
    ASSERT_TRUE(staged.planes[0].is_pinned());
    ASSERT_EQ(staged.keep_alive, nullptr);
    // Frame 3 is already on the GPU: used in place, in a batch of its own.
    const runtime::ClientId client = instance->new_client();
    pending.push_back(instance->submit_frame(client, 64, 96, forward, i == 3 ? on_gpu(frames.back()) : staged));
    if (i == 3) instance->hurry(client);
  }
  const runtime::ClientId one = single->new_client();
  for (size_t i = 0; i < 4; ++i) {
    const DinoOutput got = pending[i].get();
    const at::Tensor input = dino_inputs_from_frames({on_gpu(frames[i])}, 64, 96);
    const DinoOutput expected = single->submit(one, 64, 96, forward, input).get();
    EXPECT_TENSOR_NEAR(got.tokens.cpu(), expected.tokens.cpu(), 1e-4);
    EXPECT_TENSOR_NEAR(got.cls_attention.cpu(), expected.cls_attention.cpu(), 1e-4);
  }
  EXPECT_EQ(instance->stats().frame_batches, 2u) << "the GPU-resident frame has its own batch key";
  EXPECT_EQ(instance->stats().largest_batch, 3);
}

}  // namespace
}  // namespace dinoclip::testing
