// attnoverlay's drawing on a GPU against the CPU drawing (issue 21: "the
// overlay on the device equals the CPU one"). Skipped without a GPU.
//  - DeviceOverlay on CUDA frames (every mode and format, odd sizes, padded
//    strides, alphas) against the CPU path on the same bytes
//    (HostOverlayCanvas on packed frames, YuvOverlayCanvas on I420/NV12);
//  - the element: `dinofeatures device=cuda ! attnoverlay device=gpu` against
//    `device=cpu` behind the same dinofeatures, so that only the drawing's
//    device differs (the features are the same GPU tensors both times), on
//    packed and I420/NV12 frames.
// The bound (device_overlay.h): masks, PCA colours and labels equal; heat
// maps equal except pixels on a colour-map entry's edge, at most 1 byte in
// 1000 (the device's float rounding is IEEE, as the CPU's, so in practice 0).
#include <gst/dinoclip/dinoclip-meta.h>

#include <algorithm>
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "element_test_util.h"
#include "gpu_test_util.h"
#include "overlay_test_frames.h"
#include "vision/device_overlay.h"
#include "vision/overlay.h"

namespace dinoclip::testing {
namespace {

constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr GstClockTime kFrame = GST_SECOND / 30;

// Within the bound above; `heat`: the drawing has colour-map lookups.
void expect_within_bound(const Difference& d, bool heat, const std::string& what) {
  EXPECT_LE(d.worst, heat ? 255 : 0) << what;
  EXPECT_LE(d.differing, heat ? std::max<int64_t>(3, d.total / 1000) : 0)
      << what << ": " << d.differing << " of " << d.total << " bytes differ";
}

void compare_on_gpu(const FrameKind& kind, int w, int h, int padding, std::uint64_t seed, bool heat,
                    const std::function<void(OverlayCanvas&)>& draw, const std::string& what) {
  TestFrame cpu(kind, w, h, padding, seed), cuda(kind, w, h, padding, seed);
  cpu.draw_reference(draw);
  cuda.draw_on_device(draw, gpu());  // host frame: uploaded, drawn, copied back
  expect_within_bound(difference(cpu, cuda), heat,
                      std::string(kind.name) + " " + std::to_string(w) + "x" + std::to_string(h) + " " + what);
}

TEST(GpuDeviceOverlay, EveryModeAndFormatEqualsTheCpuDrawing) {
  DINOCLIP_REQUIRE_GPU();
  const at::Tensor heat = (at::rand({1, 45, 80}) * 2).to(gpu());
  const at::Tensor heads = at::rand({6, 8, 12}).to(gpu());
  const at::Tensor grid = at::randint(0, 256, {45, 80, 3}, at::kByte).to(gpu());
  const at::Tensor ids = at::randint(-1, 6, {45, 80}, at::kLong).to(gpu());
  const Palette palette = davis_palette();
  std::uint64_t seed = 0;
  for (const FrameKind& kind : kKinds) {
    for (auto [w, h, padding] : std::vector<std::array<int, 3>>{{1280, 720, 0}, {97, 61, 13}, {7, 5, 3}}) {
      for (float alpha : {0.0f, 0.3f, 0.5f, 1.0f}) {
        const std::string a = " alpha " + std::to_string(alpha);
        compare_on_gpu(kind, w, h, padding, ++seed, true,
                       [&](OverlayCanvas& c) { c.head_strip(heat, Colormap::kInferno, alpha); }, "heatmap" + a);
        compare_on_gpu(kind, w, h, padding, ++seed, true,
                       [&](OverlayCanvas& c) { c.head_strip(heads, Colormap::kTurbo, alpha); }, "heads" + a);
        for (bool smooth : {false, true}) {
          compare_on_gpu(kind, w, h, padding, ++seed, false,
                         [&](OverlayCanvas& c) { c.rgb_grid(grid, alpha, smooth); }, "pca" + a);
        }
        for (bool contours : {false, true}) {
          compare_on_gpu(kind, w, h, padding, ++seed, false,
                         [&](OverlayCanvas& c) { c.mask(ids, palette, alpha, contours); }, "mask" + a);
        }
      }
    }
  }
}

TEST(GpuDeviceOverlay, CudaFramesAreDrawnInPlace) {
  DINOCLIP_REQUIRE_GPU();
  for (const FrameKind& kind : kKinds) {
    TestFrame cpu(kind, 321, 181, 5, 9), on_gpu(kind, 321, 181, 5, 9);
    const at::Tensor heat = at::rand({1, 8, 12});
    const auto draw = [&](OverlayCanvas& c) { c.head_strip(heat, Colormap::kViridis, 0.6f); };
    cpu.draw_reference(draw);
    // The frame's planes on the GPU (as CUDA memory maps them), drawn there.
    FramePlanes planes = on_gpu.planes();
    std::vector<at::Tensor> device_planes;
    for (at::Tensor& plane : planes.planes) {
      device_planes.push_back(plane.to(gpu()));
      plane = device_planes.back();
    }
    DeviceOverlay canvas(planes, gpu());
    draw(canvas);
    canvas.finish();
    FramePlanes host = on_gpu.planes();
    for (size_t i = 0; i < host.planes.size(); ++i) host.planes[i].copy_(device_planes[i]);
    expect_within_bound(difference(cpu, on_gpu), true, kind.name);
  }
}

// Output of `dinofeatures device=cuda ! attnoverlay PROPS` for one frame.
std::vector<guint8> element_pixels(const std::string& model, const std::string& overlay, GstVideoFormat format) {
  const std::string launch = "dinofeatures model=\"" + model +
                             "\" heads=4 input-size=96x64 scale-method=exact device=cuda ! attnoverlay " + overlay;
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(format, 84, 56).c_str());
  GstBuffer* frame = make_frame(scene_frame(84, 56, 3), format, 0, kFrame);
  EXPECT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  EXPECT_NE(out, nullptr);
  return out ? buffer_bytes(out.get()) : std::vector<guint8>{};
}

TEST(GpuAttnOverlay, DeviceGpuOnCudaFeaturesEqualsDeviceCpu) {
  DINOCLIP_REQUIRE_GPU();
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  for (GstVideoFormat format :
       {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12}) {
    for (const char* mode : {"mode=attention", "mode=heads", "mode=pca", "mode=attention head=2 alpha=1"}) {
      const std::vector<guint8> cpu = element_pixels(model, std::string(mode) + " device=cpu", format);
      const std::vector<guint8> gpu_drawn = element_pixels(model, std::string(mode) + " device=gpu", format);
      ASSERT_EQ(cpu.size(), gpu_drawn.size());
      Difference d;
      for (size_t i = 0; i < cpu.size(); ++i) {
        const int delta = std::abs(int(cpu[i]) - int(gpu_drawn[i]));
        d.worst = std::max(d.worst, delta);
        d.differing += delta != 0;
        ++d.total;
      }
      const bool heat = std::string(mode).find("pca") == std::string::npos;
      expect_within_bound(d, heat, std::string(gst_video_format_to_string(format)) + " " + mode);
    }
  }
}

}  // namespace
}  // namespace dinoclip::testing
