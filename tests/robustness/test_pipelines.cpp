// The bad-input matrix, pipeline rows (docs/bad-input.md): odd and huge frame
// sizes, caps renegotiated mid-stream, property changes from another thread
// while PLAYING, NULL<->PLAYING cycles, several pipelines at once. Tiny model
// (dino_tiny), few frames: each row ends in correct output or a clear error.
#include <gst/app/gstappsink.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "element_test_util.h"
#include "io/image_file.h"

namespace dinoclip::testing {
namespace {

constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr GstClockTime kFrame = GST_SECOND / 30;

#define REQUIRE_ELEMENTS(...)                                                             \
  for (const char* name : {__VA_ARGS__}) {                                                \
    GstElementFactory* factory = gst_element_factory_find(name);                          \
    if (!factory) {                                                                       \
      if (running_in_ci()) FAIL() << "GStreamer element missing under CI=true: " << name; \
      GTEST_SKIP() << "GStreamer element missing: " << name;                              \
    }                                                                                     \
    gst_object_unref(factory);                                                            \
  }

Harness harness(const std::string& launch, GstVideoFormat format, int width, int height) {
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(format, width, height).c_str());
  return h;
}

std::string features(const std::string& model, const std::string& input_size) {
  return "dinofeatures model=\"" + model + "\" heads=4 input-size=" + input_size;
}

// Pushes frame `index` (width x height) and returns what comes out, or null.
Buffer push(GstHarness* h, int width, int height, int index, GstVideoFormat format = GST_VIDEO_FORMAT_RGB) {
  if (gst_harness_push(h, make_frame(scene_frame(width, height, index), format, index * kFrame, kFrame)) !=
      GST_FLOW_OK) {
    return Buffer();
  }
  return Buffer(gst_harness_pull(h));
}

const GstDinoclipFeaturesShape* grid_of(GstBuffer* buffer) {
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(buffer);
  return meta ? gst_dinoclip_features_get_shape(meta->features) : nullptr;
}

/* ---- frame sizes ---- */

// 1x1, 17x13 and 3840x2160 frames are resized to a fixed input size: features for each.
TEST(Robustness, OneByOneOddAnd4kFramesGetFeaturesAtAFixedInputSize) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  for (const auto& [w, h] : {std::pair{1, 1}, std::pair{17, 13}, std::pair{3840, 2160}}) {
    Harness hs = harness(features(model, "32x32"), GST_VIDEO_FORMAT_RGB, w, h);
    Buffer out = push(hs.get(), w, h, 0);
    ASSERT_TRUE(out) << w << "x" << h;
    const GstDinoclipFeaturesShape* grid = grid_of(out.get());
    ASSERT_NE(grid, nullptr) << w << "x" << h;
    EXPECT_EQ(grid->grid_width, 4u) << w << "x" << h;
    EXPECT_EQ(grid->grid_height, 4u) << w << "x" << h;
  }
}

// input-size=native has no frame to resize: a 1x1 frame is smaller than a patch,
// a 4K frame is far above the patch limit. Both are errors saying so.
TEST(Robustness, NativeInputSizeRejectsASubPatchFrameAndA4kFrameSayingWhy) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  for (const auto& [w, h, expected] : {std::tuple{1, 1, "smaller than one 8-pixel patch"},
                                       std::tuple{3840, 2160, "above the limit of 16384 patches"}}) {
    Harness hs = harness(features(model, "native"), GST_VIDEO_FORMAT_RGB, w, h);
    GstPtr<GstBus> bus(gst_bus_new());
    gst_element_set_bus(hs->element, bus.get());
    EXPECT_EQ(gst_harness_push(hs.get(), make_frame(scene_frame(w, h, 0), GST_VIDEO_FORMAT_RGB, 0, kFrame)),
              GST_FLOW_ERROR);
    const std::string error = pop_error_message(bus.get());
    EXPECT_NE(error.find(expected), std::string::npos) << w << "x" << h << ": " << error;
    gst_element_set_bus(hs->element, nullptr);
  }
}

// 17x13 frames (not a multiple of anything) through dinoseg and attnoverlay: frame-size masks.
TEST(Robustness, OddFrameSizeSegmentsAndOverlaysAtTheFrameSize) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const std::string mask = temp_dir() + "/mask17x13.png";
  Image labels(17, 13, 1);
  for (int y = 0; y < 13; ++y) {
    for (int x = 0; x < 17; ++x) labels.at(x, y) = x < 8 ? 0 : 1;
  }
  write_png(mask, labels);
  Harness hs =
      harness(features(model, "16x16") + " ! dinoseg num-iters=5 annotation=" + mask + " ! attnoverlay mode=mask",
              GST_VIDEO_FORMAT_RGB, 17, 13);
  for (int i = 0; i < 3; ++i) {
    Buffer out = push(hs.get(), 17, 13, i);
    ASSERT_TRUE(out) << "frame " << i;
    GstDinoclipSegmentationMeta* seg = gst_buffer_get_dinoclip_segmentation_meta(out.get());
    ASSERT_NE(seg, nullptr) << "frame " << i;
    EXPECT_EQ(gst_dinoclip_segmentation_get_width(seg->segmentation), 17u);
    EXPECT_EQ(gst_dinoclip_segmentation_get_height(seg->segmentation), 13u);
  }
}

/* ---- caps renegotiated mid-stream ---- */

TEST(Robustness, CapsRenegotiatedMidStreamInResolutionAndFormat) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness hs = harness(features(model, "native") + " ! attnoverlay mode=attention", GST_VIDEO_FORMAT_RGB, 96, 64);
  Buffer first = push(hs.get(), 96, 64, 0);
  ASSERT_TRUE(first);
  EXPECT_EQ(grid_of(first.get())->grid_width, 12u);
  gst_harness_set_src_caps_str(hs.get(), caps_string(GST_VIDEO_FORMAT_BGRx, 64, 48).c_str());
  Buffer second = push(hs.get(), 64, 48, 1, GST_VIDEO_FORMAT_BGRx);
  ASSERT_TRUE(second);
  EXPECT_EQ(grid_of(second.get())->grid_width, 8u);
  EXPECT_EQ(grid_of(second.get())->grid_height, 6u);
  EXPECT_EQ(gst_buffer_get_size(second.get()), gsize(64 * 48 * 4));
  gst_harness_set_src_caps_str(hs.get(), caps_string(GST_VIDEO_FORMAT_I420, 96, 64).c_str());
  Buffer third = push(hs.get(), 96, 64, 2, GST_VIDEO_FORMAT_I420);
  ASSERT_TRUE(third);
  EXPECT_EQ(grid_of(third.get())->grid_width, 12u);
}

/* ---- labels ---- */

// clipzeroshot with `labels` set directly (bytes as given, no gst-launch
// parsing) taken to PAUSED: the error it posted, or "" when it started.
std::string clip_start_error(const std::string& model, const std::string& vocab, const std::string& labels) {
  GstPtr<GstElement> element(gst_element_factory_make("clipzeroshot", nullptr));
  if (!element) return "clipzeroshot not found";
  g_object_set(element.get(), "model", model.c_str(), "vocab", vocab.c_str(), "labels", labels.c_str(), nullptr);
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(element.get(), bus.get());
  const GstStateChangeReturn ret = gst_element_set_state(element.get(), GST_STATE_PAUSED);
  std::string error = ret == GST_STATE_CHANGE_FAILURE ? pop_error_message(bus.get()) : "";
  if (ret == GST_STATE_CHANGE_FAILURE && error.empty()) error = "(failed without an error message)";
  gst_element_set_state(element.get(), GST_STATE_NULL);
  gst_element_set_bus(element.get(), nullptr);
  return error;
}

TEST(Robustness, ClipLabelsOfSeparatorsOnlyOrInvalidUtf8GiveAClearOutcome) {
  DINOCLIP_REQUIRE_FIXTURE(model, "clip_tiny/clip_tiny_state.pth");
  DINOCLIP_REQUIRE_FIXTURE(vocab, "tokenizer/bpe_simple_vocab_16e6.txt.gz");
  const std::string separators = clip_start_error(model, vocab, ";;;");
  EXPECT_NE(separators.find("label"), std::string::npos) << separators;
  // Invalid UTF-8: either used (bytes replaced, as CLIP's tokenizer does) or refused saying so.
  const std::string invalid = clip_start_error(model, vocab, std::string("a cat;caf\xc3 \xff\xfe dog"));
  EXPECT_TRUE(invalid.empty() || invalid.find("UTF-8") != std::string::npos) << invalid;
  std::cout << "invalid UTF-8 label: " << (invalid.empty() ? "accepted" : invalid) << "\n";
}

/* ---- threads and states ---- */

// attnoverlay's live properties changed 1,000 times from another thread while frames flow.
TEST(Robustness, PropertyChangesFromAnotherThreadWhilePlaying) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness hs = harness(features(model, "32x32") + " ! attnoverlay name=overlay", GST_VIDEO_FORMAT_RGB, 48, 32);
  GstPtr<GstElement> overlay(gst_bin_get_by_name(GST_BIN(hs->element), "overlay"));
  ASSERT_TRUE(overlay);
  // The changes start once a frame is through (the overlay is running) and the
  // frames go on until the last change: the two overlap whatever the scheduler does.
  std::atomic<bool> started{false}, done{false};
  std::atomic<int> changes{0};
  std::thread changer([&] {
    static const char* kModes[] = {"attention", "heads", "pca", "auto"};
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!started && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    for (int i = 0; i < 1000; ++i) {
      gst_util_set_object_arg(G_OBJECT(overlay.get()), "mode", kModes[i % 4]);
      g_object_set(overlay.get(), "alpha", (i % 10) / 10.0, "head", (i % 5) - 1, nullptr);
      gst_util_set_object_arg(G_OBJECT(overlay.get()), "pca-refit", i % 2 ? "per-frame" : "first");
      ++changes;
    }
    done = true;
  });
  int frames = 0;
  bool all_out = true;
  for (; !done || frames < 5; ++frames) {
    Buffer out = push(hs.get(), 48, 32, frames);
    started = true;
    if (!out) {
      ADD_FAILURE() << "frame " << frames << " after " << changes << " changes";
      all_out = false;
      break;
    }
  }
  started = true;
  changer.join();
  EXPECT_EQ(changes.load(), 1000);
  if (all_out) EXPECT_GE(frames, 5);
}

// A live pipeline taken NULL -> PLAYING -> NULL 100 times: frames each time, no error.
TEST(Robustness, NullToPlayingAHundredTimes) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  REQUIRE_ELEMENTS("videotestsrc", "fakesink");
  const std::string description =
      "videotestsrc is-live=true ! video/x-raw,format=RGB,width=32,height=32,"
      "framerate=30/1 ! " +
      features(model, "32x32") + " ! attnoverlay ! fakesink name=sink sync=false";
  GstPtr<GstElement> pipeline(gst_parse_launch(description.c_str(), nullptr));
  ASSERT_TRUE(pipeline);
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  for (int cycle = 0; cycle < 100; ++cycle) {
    ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << cycle;
    ASSERT_EQ(gst_element_get_state(pipeline.get(), nullptr, nullptr, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS)
        << cycle;
    ASSERT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS) << cycle;
    GstMessage* error = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR);
    EXPECT_EQ(error, nullptr) << "cycle " << cycle;
    if (error) gst_message_unref(error);
  }
}

// Runs `description` (appsink "sink") to EOS: frames received and the error, if any.
std::pair<int, std::string> run_to_eos(const std::string& description) {
  GError* parse_error = nullptr;
  GstPtr<GstElement> pipeline(gst_parse_launch(description.c_str(), &parse_error));
  if (parse_error) {
    std::string text = parse_error->message;
    g_error_free(parse_error);
    return {0, text};
  }
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  int frames = 0;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 30 * GST_SECOND)) {
    ++frames;
    gst_sample_unref(sample);
  }
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  std::string error;
  if (GstMessage* m = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)) {
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    error = e->message;
    g_error_free(e);
    gst_message_unref(m);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return {frames, error};
}

TEST(Robustness, FourPipelinesInFourThreadsAtOnce) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  REQUIRE_ELEMENTS("videotestsrc", "appsink");
  std::vector<std::pair<int, std::string>> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      results[size_t(i)] =
          run_to_eos("videotestsrc num-buffers=8 pattern=" + std::to_string(i) +
                     " ! video/x-raw,format=RGB,width=48,height=32 ! " + features(model, "48x32") +
                     " ! attnoverlay mode=" + (i % 2 ? "pca" : "attention") + " ! appsink name=sink sync=false");
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(results[size_t(i)].second, "") << "pipeline " << i;
    EXPECT_EQ(results[size_t(i)].first, 8) << "pipeline " << i;
  }
}

}  // namespace
}  // namespace dinoclip::testing
