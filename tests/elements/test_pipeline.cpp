// End to end with the system's plugins: videotestsrc -> dinofeatures ->
// attnoverlay -> x264enc -> mp4mux -> file, decoded again and compared with
// the overlaid frames before encoding; and real pipelines cycling states.
#include <gst/app/gstappsink.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "element_test_util.h"

namespace dinoclip::testing {
namespace {

constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr int kFrames = 12;
constexpr const char* kSourceCaps = "video/x-raw,format=RGB,width=160,height=120,framerate=30/1";

// Skips (fails under CI=true) when a system element the test needs is missing.
#define REQUIRE_ELEMENTS(...)                                                                                        \
  for (const char* name : {__VA_ARGS__}) {                                                                           \
    GstElementFactory* factory = gst_element_factory_find(name);                                                     \
    if (!factory) {                                                                                                  \
      if (running_in_ci()) FAIL() << "GStreamer element missing under CI=true: " << name;                            \
      GTEST_SKIP() << "GStreamer element missing: " << name << " (GST_PLUGIN_SYSTEM_PATH_1_0 = "                     \
                   << (g_getenv("GST_PLUGIN_SYSTEM_PATH_1_0") ? g_getenv("GST_PLUGIN_SYSTEM_PATH_1_0") : "") << ")"; \
    }                                                                                                                \
    gst_object_unref(factory);                                                                                       \
  }

struct Frames {
  std::vector<std::vector<guint8>> pixels;  // tightly packed RGB
  std::string error;
};

// Runs `description` (which has an appsink named "sink" delivering RGB) to
// EOS and collects every frame.
Frames run_to_eos(const std::string& description) {
  Frames frames;
  GError* error = nullptr;
  GstPtr<GstElement> pipeline(gst_parse_launch(description.c_str(), &error));
  if (error) {
    frames.error = error->message;
    g_error_free(error);
    return frames;
  }
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  const bool started = gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
  while (sink && started) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 30 * GST_SECOND);
    if (!sample) break;
    GstVideoInfo info;
    gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
    GstVideoFrame frame;
    gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ);
    std::vector<guint8> rgb;
    for (int y = 0; y < GST_VIDEO_INFO_HEIGHT(&info); ++y) {
      const guint8* row = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
                          y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
      rgb.insert(rgb.end(), row, row + 3 * GST_VIDEO_INFO_WIDTH(&info));
    }
    gst_video_frame_unmap(&frame);
    frames.pixels.push_back(std::move(rgb));
    gst_sample_unref(sample);
  }
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  if (GstMessage* message =
          gst_bus_timed_pop_filtered(bus.get(), 5 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR))) {
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gst_message_parse_error(message, &err, nullptr);
      frames.error = err->message;
      g_error_free(err);
    }
    gst_message_unref(message);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return frames;
}

double mean_abs_diff(const std::vector<guint8>& a, const std::vector<guint8>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(int(a[i]) - int(b[i]));
  return sum / a.size();
}

double psnr(const std::vector<guint8>& a, const std::vector<guint8>& b) {
  double mse = 0;
  for (size_t i = 0; i < a.size(); ++i) mse += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  mse /= a.size();
  return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

std::string source() {
  return "videotestsrc num-buffers=" + std::to_string(kFrames) + " pattern=smpte ! " + kSourceCaps;
}

TEST(Pipeline, OverlayEncodedToMp4DecodesToTheOverlaidFrames) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  REQUIRE_ELEMENTS("videotestsrc", "videoconvert", "x264enc", "mp4mux", "filesink", "filesrc", "decodebin", "tee",
                   "queue", "appsink");
  const std::string mp4 = temp_dir() + "/overlay.mp4";
  const std::string analysis = " ! dinofeatures model=\"" + model + "\" heads=4 input-size=96x64 interval=2" +
                               " ! attnoverlay mode=attention alpha=0.6 ";
  // The overlaid frames, once to the encoder and once as the reference.
  const Frames reference = run_to_eos(
      source() + analysis + " ! tee name=t ! queue ! videoconvert ! x264enc speed-preset=ultrafast pass=quant " +
      "quantizer=8 ! mp4mux ! filesink location=\"" + mp4 + "\" t. ! queue ! appsink name=sink sync=false");
  ASSERT_EQ(reference.error, "");
  ASSERT_EQ(reference.pixels.size(), size_t(kFrames));

  const Frames decoded = run_to_eos("filesrc location=\"" + mp4 + "\" ! decodebin ! videoconvert ! " +
                                    "video/x-raw,format=RGB ! appsink name=sink sync=false");
  ASSERT_EQ(decoded.error, "");
  ASSERT_EQ(decoded.pixels.size(), size_t(kFrames)) << "frames lost in the file";

  const Frames plain = run_to_eos(source() + " ! appsink name=sink sync=false");
  ASSERT_EQ(plain.pixels.size(), size_t(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_GT(psnr(decoded.pixels[i], reference.pixels[i]), 30.0) << "frame " << i << " is not the overlaid frame";
    EXPECT_GT(mean_abs_diff(decoded.pixels[i], plain.pixels[i]), 15.0) << "frame " << i << " has no overlay";
  }
}

// Counts the buffers reaching `element`'s sink pad with a GstDinoclipFeaturesMeta;
// a test thread can wait for a count (the probe runs on the streaming thread).
struct MetaCounter {
  std::atomic<int> with_meta{0};
  std::atomic<int> buffers{0};
  std::mutex mutex;
  std::condition_variable counted;

  void attach(GstElement* element) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(element, "sink"));
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer data) {
          auto* self = static_cast<MetaCounter*>(data);
          {
            std::lock_guard<std::mutex> lock(self->mutex);
            ++self->buffers;
            if (gst_buffer_get_dinoclip_features_meta(GST_PAD_PROBE_INFO_BUFFER(info))) ++self->with_meta;
          }
          self->counted.notify_all();
          return GST_PAD_PROBE_OK;
        },
        this, nullptr);
  }

  // True once `count` buffers with meta have passed (false after `limit`).
  bool wait_with_meta(int count, std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mutex);
    return counted.wait_for(lock, limit, [&] { return with_meta >= count; });
  }
};

// A live source into a synchronised sink, NULL <-> PLAYING several times:
// every cycle loads the model again and frames keep coming with meta.
TEST(Pipeline, LivePipelineSurvivesRepeatedStateCycles) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  REQUIRE_ELEMENTS("videotestsrc", "fakesink");
  const std::string description = "videotestsrc is-live=true ! " + std::string(kSourceCaps) +
                                  " ! dinofeatures name=f model=\"" + model +
                                  "\" heads=4 input-size=96x64 ! attnoverlay ! fakesink name=sink sync=true";
  GstPtr<GstElement> pipeline(gst_parse_launch(description.c_str(), nullptr));
  ASSERT_TRUE(pipeline);
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  MetaCounter counter;
  counter.attach(sink.get());
  std::atomic<int>& with_meta = counter.with_meta;
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  for (int cycle = 0; cycle < 4; ++cycle) {
    with_meta = 0;
    ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    ASSERT_EQ(gst_element_get_state(pipeline.get(), nullptr, nullptr, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
    EXPECT_TRUE(counter.wait_with_meta(3, std::chrono::seconds(60))) << "cycle " << cycle << ": " << with_meta.load();
    ASSERT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    GstMessage* error = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR);
    EXPECT_EQ(error, nullptr) << "cycle " << cycle;
    if (error) gst_message_unref(error);
  }
}

// The features meta is tagged video/size/orientation with a scale transform,
// so colour conversion and scaling keep it (shared, not copied).
TEST(Pipeline, MetaSurvivesVideoconvertAndVideoscale) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  REQUIRE_ELEMENTS("videotestsrc", "videoconvert", "videoscale", "fakesink");
  const std::string description = "videotestsrc num-buffers=" + std::to_string(kFrames) +
                                  " ! video/x-raw,format=I420,width=160,height=120 ! dinofeatures model=\"" + model +
                                  "\" heads=4 input-size=96x64 ! videoconvert ! videoscale ! " +
                                  "video/x-raw,format=BGRx,width=80,height=60 ! fakesink name=sink";
  GstPtr<GstElement> pipeline(gst_parse_launch(description.c_str(), nullptr));
  ASSERT_TRUE(pipeline);
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  MetaCounter counter;
  counter.attach(sink.get());
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  GstMessage* end =
      gst_bus_timed_pop_filtered(bus.get(), 30 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(end), GST_MESSAGE_EOS);
  gst_message_unref(end);
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  EXPECT_EQ(counter.buffers.load(), kFrames);
  EXPECT_EQ(counter.with_meta.load(), kFrames);
}

TEST(Pipeline, MissingModelStopsThePipelineWithAnError) {
  REQUIRE_ELEMENTS("videotestsrc", "fakesink");
  const Frames frames = run_to_eos(source() + " ! dinofeatures model=/nonexistent/model.pth ! appsink name=sink");
  EXPECT_TRUE(frames.pixels.empty());
  EXPECT_NE(frames.error.find("/nonexistent/model.pth"), std::string::npos) << frames.error;
}

}  // namespace
}  // namespace dinoclip::testing
