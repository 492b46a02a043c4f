// Long-running pipelines must not grow: each element (tiny models) runs 1000
// frames through GstHarness and its resident memory may rise by at most 5 MB
// between frame 100 (models loaded, caches and pools warm) and frame 1000.
// A leak of one small tensor or buffer per frame (~6 KB for a 64x48 RGB
// frame) would add over 5 MB across the 900 frames, so the bound catches it.
//
// Under AddressSanitizer the quarantine keeps freed memory resident on
// purpose, so there the frames still run (LeakSanitizer checks them at exit)
// but the RSS bound is not asserted.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "element_test_util.h"
#include "io/image_file.h"
#include "test_support.h"
#include "vision/overlay.h"
#include "vision/synthetic.h"

#if defined(__SANITIZE_ADDRESS__)
#define DINOCLIP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DINOCLIP_ASAN 1
#endif
#endif

namespace dinoclip::testing {
namespace {

#ifdef DINOCLIP_ASAN
constexpr bool kAsan = true;
constexpr int kFrames = 200;  // ASan is ~3x slower and its RSS is not meaningful
#else
constexpr bool kAsan = false;
constexpr int kFrames = 1000;
#endif
constexpr int kWarmFrames = 100;
constexpr double kMaxGrowthMb = 5.0;
constexpr int kWidth = 64, kHeight = 48;
constexpr GstClockTime kFrame = GST_SECOND / 30;

double resident_mb() {
  long pages_total = 0, pages_resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
  std::fclose(f);
  return double(pages_resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// glibc keeps freed heap pages mapped in per-thread arenas; trimming before
// each reading measures memory still in use, which is what a leak grows.
double live_resident_mb() {
  malloc_trim(0);
  return resident_mb();
}

struct FrameRun {
  double at_warm_mb = 0, at_end_mb = 0;
  int frames_out = 0;
  std::string error;
};

// Pushes kFrames frames (a few distinct scenes, cycled) through `launch` and
// pulls every output buffer.
FrameRun run_frames(const std::string& launch) {
  FrameRun g;
  Harness h(gst_harness_new_parse(launch.c_str()));
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(h->element, bus.get());
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  const SyntheticScene scene(kWidth, kHeight, /*objects=*/2, /*seed=*/5);
  std::vector<Image> scenes;
  for (int i = 0; i < 8; ++i) scenes.push_back(scene.render(i).rgb);
  for (int i = 0; i < kFrames; ++i) {
    GstBuffer* in = make_frame(scenes[size_t(i) % scenes.size()], GST_VIDEO_FORMAT_RGB, GstClockTime(i) * kFrame, kFrame);
    if (gst_harness_push(h.get(), in) != GST_FLOW_OK) break;
    while (GstBuffer* out = gst_harness_try_pull(h.get())) {
      gst_buffer_unref(out);
      ++g.frames_out;
    }
    // Element messages (IoU, labels) pile up on an unread bus: drain it like an application would.
    while (GstMessage* m = gst_bus_pop(bus.get())) {
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR && g.error.empty()) {
        GError* error = nullptr;
        gst_message_parse_error(m, &error, nullptr);
        g.error = error->message;
        g_error_free(error);
      }
      gst_message_unref(m);
    }
    if (i + 1 == kWarmFrames) g.at_warm_mb = live_resident_mb();
  }
  g.at_end_mb = live_resident_mb();
  gst_element_set_bus(h->element, nullptr);
  return g;
}

void expect_flat(const FrameRun& g, const std::string& what) {
  EXPECT_EQ(g.error, "") << what;
  EXPECT_EQ(g.frames_out, kFrames) << what << ": every pushed frame comes out";
  std::printf("%s: RSS %.1f MB at frame %d, %.1f MB at frame %d (%+.2f MB)\n", what.c_str(), g.at_warm_mb,
              kWarmFrames, g.at_end_mb, kFrames, g.at_end_mb - g.at_warm_mb);
  if (kAsan) return;
  EXPECT_LE(g.at_end_mb - g.at_warm_mb, kMaxGrowthMb)
      << what << ": resident memory grew from " << g.at_warm_mb << " MB at frame " << kWarmFrames << " to "
      << g.at_end_mb << " MB at frame " << kFrames;
}

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

// A DAVIS-style palette mask of the scene's frame 0, for dinoseg.
std::string write_annotation() {
  const std::string path = temp_dir() + "/growth_mask0.png";
  const SyntheticScene scene(kWidth, kHeight, /*objects=*/2, /*seed=*/5);
  write_palette_png(path, scene.render(0).mask, davis_palette());
  return path;
}

TEST(ResidentMemory, DinofeaturesRssFlatOver1000Frames) {
  DINOCLIP_REQUIRE_FIXTURE(model, "dino_tiny/dino_tiny.pth");
  expect_flat(run_frames("dinofeatures model=" + in_quotes(model) + " heads=4 input-size=64x48"), "dinofeatures");
}

TEST(ResidentMemory, AttnoverlayRssFlatOver1000Frames) {
  DINOCLIP_REQUIRE_FIXTURE(model, "dino_tiny/dino_tiny.pth");
  expect_flat(run_frames("dinofeatures model=" + in_quotes(model) + " heads=4 input-size=64x48 ! attnoverlay mode=pca"),
              "dinofeatures ! attnoverlay mode=pca");
}

TEST(ResidentMemory, DinosegHeadRssFlatOver1000Frames) {
  DINOCLIP_REQUIRE_FIXTURE(model, "dino_tiny/dino_tiny.pth");
  expect_flat(run_frames("dinofeatures model=" + in_quotes(model) + " heads=4 input-size=native ! dinoseg annotation=" +
                         in_quotes(write_annotation()) + " num-iters=20"),
              "dinofeatures ! dinoseg (head)");
}

TEST(ResidentMemory, DinosegPropagationRssFlatOver1000Frames) {
  DINOCLIP_REQUIRE_FIXTURE(model, "dino_tiny/dino_tiny.pth");
  expect_flat(run_frames("dinofeatures model=" + in_quotes(model) + " heads=4 input-size=native ! dinoseg annotation=" +
                         in_quotes(write_annotation()) + " method=propagation"),
              "dinofeatures ! dinoseg (propagation)");
}

TEST(ResidentMemory, ClipzeroshotRssFlatOver1000Frames) {
  DINOCLIP_REQUIRE_FIXTURE(model, "clip_tiny/clip_tiny_state.pth");
  DINOCLIP_REQUIRE_FIXTURE(vocab, "tokenizer/bpe_simple_vocab_16e6.txt.gz");
  expect_flat(run_frames("clipzeroshot model=" + in_quotes(model) + " vocab=" + in_quotes(vocab) +
                         " labels=\"a person;a cat;an empty room\" query=\"a cat\""),
              "clipzeroshot");
}

}  // namespace
}  // namespace dinoclip::testing
