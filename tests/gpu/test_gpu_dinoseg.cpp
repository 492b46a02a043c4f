// dinoseg on the features' device (issue 24 item 9): device=auto trains and
// segments where dinofeatures left the features, reading its tensors in place
// (no host round trip), and touches no other GPU. The GPU cases compare with
// the CPU and skip without a GPU (the cuda:1 one without two); the payload
// cases run everywhere.
#include <gst/dinoclip/dinoclip-meta.h>

#if defined(DINOCLIP_WITH_CUDA) && __has_include(<c10/core/CachingDeviceAllocator.h>)
#include <c10/core/CachingDeviceAllocator.h>
#define DINOCLIP_HAVE_DEVICE_STATS 1
#endif

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "dinofeatures/dinofeatures_payload.h"
#include "element_test_util.h"
#include "gpu_test_util.h"
#include "io/image_file.h"
#include "io/npy.h"
#include "models/dino.h"
#include "tasks/seg_head.h"
#include "vision/overlay.h"
#include "vision/synthetic.h"

namespace dinoclip::testing {
namespace {

constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr GstClockTime kFrame = GST_SECOND / 30;
constexpr int kWidth = 96, kHeight = 64;
constexpr int kFrames = 4;
// Class maps from GPU features against the CPU's: the features differ by
// ~1e-5, which flips only patches whose two best classes are that close.
constexpr double kMinAgreement = 0.99;
// A head trained on each device: full-batch AdamW from the same seed, only the
// summation order differs (GpuSegHead.TrainsOnCudaAndAgreesWithCpu: >= 98% of
// the patches agree).
constexpr double kMinTrainedAgreement = 0.97;

struct PayloadDeleter {
  void operator()(GstDinoclipFeatures* f) const { gst_dinoclip_features_unref(f); }
};
using Payload = std::unique_ptr<GstDinoclipFeatures, PayloadDeleter>;

DinoOutput tiny_output(const std::string& weights, const std::string& input_path, c10::Device device) {
  DinoLoadOptions load;
  load.num_heads = 4;
  load.device = device;
  return DinoModel::load(weights, load).forward(read_npy(input_path).to(device));
}

TEST(FeaturesPayload, ResidentTokensAreTheModelsTensorWithoutACopy) {
  DINOCLIP_REQUIRE_FIXTURE(weights, kModel);
  DINOCLIP_REQUIRE_FIXTURE(input_path, "dino_tiny/img3_64x96_input.npy");
  Payload payload(gst::make_features_payload(tiny_output(weights, input_path, c10::kCPU), /*patch_size=*/8));
  const at::Tensor resident = gst::resident_tokens(payload.get());
  ASSERT_TRUE(resident.defined());
  EXPECT_TRUE(resident.is_cpu());
  EXPECT_EQ(resident.data_ptr(), static_cast<const void*>(gst_dinoclip_features_get_tokens(payload.get(), nullptr)));
  // Another producer's payload: no tensors to reach, read its host arrays.
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(payload.get());
  Payload other(gst_dinoclip_features_new(shape, gst_dinoclip_features_get_tokens(payload.get(), nullptr),
                                          gst_dinoclip_features_get_cls_attention(payload.get(), nullptr)));
  EXPECT_FALSE(gst::resident_tokens(other.get()).defined());
}

TEST(GpuFeaturesPayload, ResidentTokensStayOnTheGpuAfterAHostRead) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(weights, kModel);
  DINOCLIP_REQUIRE_FIXTURE(input_path, "dino_tiny/img3_64x96_input.npy");
  Payload payload(gst::make_features_payload(tiny_output(weights, input_path, gpu()), /*patch_size=*/8));
  const at::Tensor before = gst::resident_tokens(payload.get());
  ASSERT_TRUE(before.defined());
  EXPECT_EQ(before.device(), gpu());
  ASSERT_NE(gst_dinoclip_features_get_tokens(payload.get(), nullptr), nullptr);  // another element reads the host copy
  const at::Tensor after = gst::resident_tokens(payload.get());
  EXPECT_EQ(after.device(), gpu());
  EXPECT_EQ(after.data_ptr(), before.data_ptr()) << "the same GPU tensor, not replaced by the host copy";
  EXPECT_TENSOR_NEAR(after.cpu().to(at::kFloat), meta_tokens(payload.get()), 0.0);
}

struct Scene {
  SyntheticScene scene{kWidth, kHeight, /*objects=*/2, /*seed=*/4};
  std::string mask = temp_dir() + "/gpu_dinoseg_mask.png";
  Scene() { write_palette_png(mask, scene.render(0).mask, davis_palette()); }
};

// The class maps of `dinofeatures device=FEATURES ! dinoseg SEG` for frames 0..kFrames-1.
std::vector<std::vector<guint8>> class_maps(const std::string& model, Scene& scene, const std::string& features_device,
                                            const std::string& seg_properties) {
  const std::string launch = "dinofeatures model=\"" + model +
                             "\" heads=4 input-size=native scale-method=exact device=" + features_device +
                             " ! dinoseg " + seg_properties;
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  std::vector<std::vector<guint8>> maps;
  for (int i = 0; i < kFrames; ++i) {
    GstBuffer* frame = make_frame(scene.scene.render(i).rgb, GST_VIDEO_FORMAT_RGB, i * kFrame, kFrame);
    Buffer out(gst_harness_push_and_pull(h.get(), frame));
    GstDinoclipSegmentationMeta* meta = out ? gst_buffer_get_dinoclip_segmentation_meta(out.get()) : nullptr;
    if (!meta) {
      ADD_FAILURE() << "frame " << i << " was not segmented (" << launch << ")";
      maps.emplace_back();
      continue;
    }
    const guint8* map = gst_dinoclip_segmentation_get_class_map(meta->segmentation);
    maps.emplace_back(map, map + size_t(kWidth) * kHeight);
  }
  return maps;
}

void expect_agreement(const std::vector<std::vector<guint8>>& gpu, const std::vector<std::vector<guint8>>& cpu,
                      double min_agreement) {
  ASSERT_EQ(gpu.size(), cpu.size());
  for (size_t i = 0; i < gpu.size(); ++i) {
    ASSERT_EQ(gpu[i].size(), cpu[i].size()) << "frame " << i;
    size_t same = 0;
    for (size_t p = 0; p < gpu[i].size(); ++p) same += gpu[i][p] == cpu[i][p];
    EXPECT_GE(double(same) / double(std::max<size_t>(gpu[i].size(), 1)), min_agreement) << "frame " << i;
  }
}

// A head trained on the CPU, for load-head: the GPU runs then differ from
// the CPU's in the features alone.
std::string cpu_head(const std::string& model, Scene& scene) {
  const std::string path = temp_dir() + "/gpu_dinoseg_head.safetensors";
  std::remove(path.c_str());
  class_maps(model, scene, "cpu", "device=cpu num-iters=60 annotation=" + scene.mask + " save-head=" + path);
  return path;
}

TEST(GpuDinoseg, DeviceAutoSegmentsGpuFeaturesOnTheirGpuAsTheCpuDoes) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Scene scene;
  const std::string head = cpu_head(model, scene);
  const auto cpu = class_maps(model, scene, "cpu", "device=cpu load-head=" + head);
  expect_agreement(class_maps(model, scene, "cuda", "load-head=" + head), cpu, kMinAgreement);
  // Trained on the GPU from the GPU features.
  const auto cpu_trained = class_maps(model, scene, "cpu", "device=cpu num-iters=60 annotation=" + scene.mask);
  expect_agreement(class_maps(model, scene, "cuda", "num-iters=60 annotation=" + scene.mask), cpu_trained,
                   kMinTrainedAgreement);
}

#ifdef DINOCLIP_HAVE_DEVICE_STATS
struct AllocatorCounts {
  int64_t allocations = 0, device_allocations = 0;
};
AllocatorCounts allocator_counts(int device) {
  const c10::CachingDeviceAllocator::DeviceStats stats =
      c10::getDeviceAllocator(c10::kCUDA)->getDeviceStats(c10::DeviceIndex(device));
  return {stats.allocation[size_t(c10::CachingAllocator::StatType::AGGREGATE)].allocated, stats.num_device_alloc};
}
#endif

// dinofeatures on GPU 1: dinoseg trains and segments there, and GPU 0's
// caching allocator sees no allocation at all (it used to train on GPU 0
// and copy every frame's features GPU 1 -> host -> GPU 0).
TEST(GpuDinoseg, FeaturesOnCuda1AllocateNothingOnCuda0) {
  DINOCLIP_REQUIRE_GPU();
  if (cuda_device_count() < 2) GTEST_SKIP() << "needs two GPUs (this machine has " << cuda_device_count() << ")";
#ifndef DINOCLIP_HAVE_DEVICE_STATS
  GTEST_SKIP() << "this LibTorch has no device-generic allocator statistics (c10/core/CachingDeviceAllocator.h)";
#else
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Scene scene;
  const std::string head = cpu_head(model, scene);
  const auto cpu = class_maps(model, scene, "cpu", "device=cpu load-head=" + head);
  const auto cpu_trained = class_maps(model, scene, "cpu", "device=cpu num-iters=60 annotation=" + scene.mask);
  const AllocatorCounts gpu0_before = allocator_counts(0);
  const AllocatorCounts gpu1_before = allocator_counts(1);
  const auto loaded = class_maps(model, scene, "cuda:1", "load-head=" + head);
  const auto trained = class_maps(model, scene, "cuda:1", "num-iters=60 annotation=" + scene.mask);
  const AllocatorCounts gpu0_after = allocator_counts(0);
  const AllocatorCounts gpu1_after = allocator_counts(1);
  EXPECT_EQ(gpu0_after.allocations, gpu0_before.allocations) << "tensors were allocated on GPU 0";
  EXPECT_EQ(gpu0_after.device_allocations, gpu0_before.device_allocations) << "GPU 0 memory was reserved";
  EXPECT_GT(gpu1_after.allocations, gpu1_before.allocations) << "the work ran on GPU 1";
  expect_agreement(loaded, cpu, kMinAgreement);
  expect_agreement(trained, cpu_trained, kMinTrainedAgreement);
#endif
}

}  // namespace
}  // namespace dinoclip::testing
