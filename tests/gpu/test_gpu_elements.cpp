// The GPU path through the elements: features computed on CUDA reach the
// meta as a deferred payload (copied to the host on the first read), and
// attnoverlay draws from such features. Skipped without a GPU.
#include <gst/dinoclip/dinoclip-meta.h>

#include <string>

#include "dinofeatures/dinofeatures_payload.h"
#include "element_test_util.h"
#include "gpu_test_util.h"
#include "io/npy.h"
#include "models/dino.h"

namespace dinoclip::testing {
namespace {

constexpr double kFp32Tolerance = 1e-4;  // GPU vs CPU, as in test_gpu_models.cpp
constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr GstClockTime kFrame = GST_SECOND / 30;
constexpr int kWidth = 84, kHeight = 56;

DinoModel load_tiny(const std::string& path, c10::Device device) {
  DinoLoadOptions load;
  load.num_heads = 4;
  load.device = device;
  return DinoModel::load(path, load);
}

struct PayloadDeleter {
  void operator()(GstDinoclipFeatures* f) const { gst_dinoclip_features_unref(f); }
};
using Payload = std::unique_ptr<GstDinoclipFeatures, PayloadDeleter>;

TEST(GpuFeaturesPayload, DeferredCopyGivesTheCpuNumbers) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(weights, kModel);
  DINOCLIP_REQUIRE_FIXTURE(input_path, "dino_tiny/img3_64x96_input.npy");
  at::Tensor input = read_npy(input_path);
  DinoOutput cpu = load_tiny(weights, c10::kCPU).forward(input);
  DinoOutput cuda = load_tiny(weights, gpu()).forward(input);
  ASSERT_TRUE(cuda.tokens.is_cuda());

  Payload payload(gst::make_features_payload(cuda, /*patch_size=*/8));
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(payload.get());
  EXPECT_EQ(shape->grid_height, 8u);
  EXPECT_EQ(shape->grid_width, 12u);
  EXPECT_EQ(shape->n_heads, 4u);
  // The first read copies to the host; the second returns the same memory.
  const gfloat* first = gst_dinoclip_features_get_tokens(payload.get(), nullptr);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(gst_dinoclip_features_get_tokens(payload.get(), nullptr), first);
  EXPECT_TENSOR_NEAR(meta_tokens(payload.get()), cpu.tokens[0], kFp32Tolerance);
  EXPECT_TENSOR_NEAR(meta_attention(payload.get()), cpu.cls_attention[0], kFp32Tolerance);
}

// Output pixels of `dinofeatures device=D ! attnoverlay` for one frame.
// scale-method=exact on both devices: auto means fast (GPU resize, within one
// 8-bit level of exact) on a GPU, and this test compares the devices alone.
std::vector<guint8> overlay_pixels(const std::string& model, const std::string& device) {
  const std::string launch = "dinofeatures model=\"" + model +
                             "\" heads=4 input-size=96x64 scale-method=exact device=" + device + " ! attnoverlay";
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  GstBuffer* frame = make_frame(scene_frame(kWidth, kHeight, 3), GST_VIDEO_FORMAT_RGB, 0, kFrame);
  EXPECT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  EXPECT_NE(out, nullptr);
  return out ? buffer_bytes(out.get()) : std::vector<guint8>{};
}

TEST(GpuAttnOverlay, DrawsGpuResidentFeaturesAsTheCpuOnes) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const std::vector<guint8> cpu = overlay_pixels(model, "cpu");
  const std::vector<guint8> cuda = overlay_pixels(model, "cuda");
  ASSERT_EQ(cpu.size(), cuda.size());
  ASSERT_FALSE(cpu.empty());
  // Attention within 1e-4 moves a blended 8-bit value by at most one step.
  int worst = 0, differing = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const int d = std::abs(int(cpu[i]) - int(cuda[i]));
    worst = std::max(worst, d);
    differing += d != 0;
  }
  EXPECT_LE(worst, 1);
  EXPECT_LE(differing, int(cpu.size() / 100)) << differing << " of " << cpu.size() << " bytes differ";
}

// device=cuda:N reaches the core's parser through the enum's nick; runs
// everywhere (the index is checked against the GPUs the machine has).
TEST(DeviceProperty, CudaIndexNamesAGpuAndFailsClearlyWhenAbsent) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const int missing_gpu = std::min(cuda_device_count(), 7);
  if (missing_gpu < 1) {
    // No GPU: cuda:1 fails for the same reason plain cuda does.
    StartResult r = start_element("dinofeatures model=\"" + model + "\" heads=4 device=cuda:1");
    EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
    ASSERT_NE(r.error, nullptr);
    EXPECT_NE(std::string(r.error->message).find("cuda"), std::string::npos) << r.error->message;
    g_error_free(r.error);
    return;
  }
  if (cuda_device_count() > 7) GTEST_SKIP() << "every cuda:N nick names a GPU on this machine";
  StartResult r =
      start_element("dinofeatures model=\"" + model + "\" heads=4 device=cuda:" + std::to_string(missing_gpu));
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(r.error, nullptr);
  EXPECT_NE(std::string(r.error->message).find("CUDA GPU(s)"), std::string::npos) << r.error->message;
  g_error_free(r.error);
}

}  // namespace
}  // namespace dinoclip::testing
