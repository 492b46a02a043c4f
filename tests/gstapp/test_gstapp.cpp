// gst/app, the helpers the CLI and the tests run pipelines with, on system
// elements only: the launch line users see, the bus-error text, frames and
// element messages out of a PipelineRunner, the RGB copy out of samples of
// several layouts, run_to_eos, element defaults, and an mp4 written by
// Mp4Writer read back by VideoFrameReader.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "app/bus_error.h"
#include "app/frame_reader.h"
#include "app/mp4_writer.h"
#include "app/pipeline_runner.h"
#include "app/sample_image.h"
#include "core/error.h"
#include "test_support.h"

using namespace dinoclip;
using namespace dinoclip::gstapp;
using dinoclip::testing::message_of;
namespace fs = std::filesystem;

namespace {

bool have_element(const char* name) {
  GstElementFactory* factory = gst_element_factory_find(name);
  if (factory) gst_object_unref(factory);
  return factory != nullptr;
}

#define REQUIRE_ELEMENTS(...)                                                                  \
  for (const char* element : {__VA_ARGS__}) {                                                  \
    if (!have_element(element)) GTEST_SKIP() << "GStreamer element " << element << " missing"; \
  }

class GstApp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
};

TEST_F(GstApp, LaunchLineQuotesOnlyWhatTheShellNeeds) {
  EXPECT_EQ(launch_line({"videotestsrc", "num-buffers=3", "!", "video/x-raw,format=RGB", "!", "fakesink"}),
            "gst-launch-1.0 videotestsrc num-buffers=3 ! video/x-raw,format=RGB ! fakesink");
  EXPECT_EQ(launch_line({"filesrc", "location=my clip's.mp4"}), "gst-launch-1.0 filesrc 'location=my clip'\\''s.mp4'");
  EXPECT_EQ(launch_line({"a", ""}), "gst-launch-1.0 a ''");
}

TEST_F(GstApp, BusErrorTextHasMessageDetailsAndOptionallyTheElement) {
  GstElement* element = gst_element_factory_make("fakesink", "thesink");
  ASSERT_NE(element, nullptr);
  GError* error = g_error_new_literal(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "it broke");
  GstMessage* message = gst_message_new_error(GST_OBJECT(element), error, "why it broke");
  EXPECT_EQ(bus_error_text(message), "it broke (why it broke)");
  EXPECT_EQ(bus_error_text(message, /*name_source=*/true), "thesink: it broke (why it broke)");
  gst_message_unref(message);
  message = gst_message_new_error(GST_OBJECT(element), error, nullptr);
  EXPECT_EQ(bus_error_text(message), "it broke");
  gst_message_unref(message);
  g_error_free(error);
  gst_object_unref(element);
}

TEST_F(GstApp, ThrowPendingBusErrorThrowsOnlyWhenAnErrorWaits) {
  GstElement* pipeline = gst_pipeline_new("p");
  EXPECT_NO_THROW(throw_pending_bus_error(pipeline, "x: "));
  GError* error = g_error_new_literal(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "gone");
  gst_element_post_message(pipeline, gst_message_new_error(GST_OBJECT(pipeline), error, "details"));
  g_error_free(error);
  EXPECT_EQ(message_of([&] { throw_pending_bus_error(pipeline, "video.mp4: cannot decode: "); }),
            "video.mp4: cannot decode: gone (details)");
  EXPECT_NO_THROW(throw_pending_bus_error(pipeline, "x: "));  // popped once
  gst_object_unref(pipeline);
}

// videotestsrc's solid colour in `caps`, through a PipelineRunner and copy_sample_rgb.
std::vector<Image> solid_frames(const std::string& caps, int count) {
  PipelineRunner runner({"videotestsrc", "pattern=solid-color", "foreground-color=0xff1060c0",
                         "num-buffers=" + std::to_string(count), "!", caps, "!", "appsink", "name=sink", "sync=false"});
  std::vector<Image> frames;
  while (SamplePtr sample = runner.next_sample()) {
    Image rgb;
    EXPECT_TRUE(copy_sample_rgb(sample.get(), &rgb));
    frames.push_back(std::move(rgb));
  }
  return frames;
}

TEST_F(GstApp, SampleRgbCopyDropsStridePaddingAndReordersChannels) {
  REQUIRE_ELEMENTS("videotestsrc", "appsink");
  // 6 RGB pixels = 18 bytes a row, padded to 20 by GStreamer; BGRx has 4 bytes a pixel.
  for (const char* format : {"RGB", "BGRx"}) {
    const std::vector<Image> frames =
        solid_frames(std::string("video/x-raw,format=") + format + ",width=6,height=3", 2);
    ASSERT_EQ(frames.size(), 2u) << format;
    for (const Image& rgb : frames) {
      ASSERT_EQ(rgb.width, 6);
      ASSERT_EQ(rgb.height, 3);
      ASSERT_EQ(rgb.channels, 3);
      ASSERT_EQ(rgb.pixels.size(), 6u * 3 * 3);
      for (int y = 0; y < 3; ++y) {
        for (int x = 0; x < 6; ++x) {
          EXPECT_EQ(rgb.at(x, y, 0), 0x10) << format;
          EXPECT_EQ(rgb.at(x, y, 1), 0x60) << format;
          EXPECT_EQ(rgb.at(x, y, 2), 0xc0) << format;
        }
      }
    }
  }
}

TEST_F(GstApp, SampleRgbCopyConvertsI420) {
  REQUIRE_ELEMENTS("videotestsrc", "appsink");
  const std::vector<Image> frames = solid_frames("video/x-raw,format=I420,width=8,height=4", 1);
  ASSERT_EQ(frames.size(), 1u);
  // Through 8-bit limited-range YUV and back: within a few levels.
  EXPECT_NEAR(frames[0].at(5, 2, 0), 0x10, 4);
  EXPECT_NEAR(frames[0].at(5, 2, 1), 0x60, 4);
  EXPECT_NEAR(frames[0].at(5, 2, 2), 0xc0, 4);
}

TEST_F(GstApp, PipelineRunnerHandsOutElementMessagesWithTheirNumbers) {
  REQUIRE_ELEMENTS("audiotestsrc", "level", "appsink");
  PipelineRunner runner({"audiotestsrc", "num-buffers=4", "samplesperbuffer=4410", "!", "audio/x-raw,rate=44100", "!",
                         "level", "name=meter", "interval=100000000", "!", "appsink", "name=sink", "sync=false"});
  std::vector<ElementMessage> messages;
  runner.on_message([&](const ElementMessage& m) { messages.push_back(m); });
  int samples = 0;
  while (runner.next_sample()) ++samples;
  EXPECT_EQ(samples, 4);
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages[0].source, "meter");
  EXPECT_EQ(messages[0].name, "level");
  ASSERT_TRUE(messages[0].numbers.count("duration"));  // a guint64 field, as a double
  EXPECT_EQ(messages[0].numbers.at("duration"), 100000000.0);
}

TEST_F(GstApp, PipelineRunnerRejectsPipelinesItCannotRun) {
  REQUIRE_ELEMENTS("filesrc", "appsink", "fakesink", "videotestsrc");
  EXPECT_NE(message_of([] {
              PipelineRunner({"videotestsrc", "!", "fakesink"});
            }).find("no appsink named 'sink'"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              PipelineRunner({"nosuchelement", "!", "appsink", "name=sink"});
            }).find("in: gst-launch-1.0 nosuchelement"),
            std::string::npos);
  const std::string failed = message_of([] {
    PipelineRunner runner({"filesrc", "location=/nonexistent/x.bin", "!", "appsink", "name=sink"});
    while (runner.next_sample()) {
    }
  });
  EXPECT_NE(failed.find("filesrc0: "), std::string::npos) << failed;
  EXPECT_NE(failed.find("/nonexistent/x.bin"), std::string::npos) << failed;
}

TEST_F(GstApp, RunToEosReportsTheBusError) {
  REQUIRE_ELEMENTS("filesrc", "fakesink", "videotestsrc");
  EXPECT_NO_THROW(run_to_eos("videotestsrc num-buffers=2 ! fakesink", 10 * GST_SECOND));
  const std::string failed =
      message_of([] { run_to_eos("filesrc location=/nonexistent/y ! fakesink", 10 * GST_SECOND); });
  EXPECT_NE(failed.find("/nonexistent/y"), std::string::npos) << failed;
  EXPECT_NE(failed.find("in: filesrc location=/nonexistent/y ! fakesink"), std::string::npos) << failed;
}

TEST_F(GstApp, UintPropertyDefaultIsTheElementsOwn) {
  REQUIRE_ELEMENTS("queue");
  EXPECT_EQ(uint_property_default("queue", "max-size-buffers"), 200u);  // as gst-inspect-1.0 queue shows
  EXPECT_NE(message_of([] { uint_property_default("queue", "leaky"); }).find("no unsigned integer property leaky"),
            std::string::npos);
  EXPECT_NE(message_of([] { uint_property_default("nosuchelement", "x"); }).find("no GStreamer element nosuchelement"),
            std::string::npos);
}

TEST_F(GstApp, Mp4WriterOutputReadsBackFrameByFrame) {
  REQUIRE_ELEMENTS("appsrc", "x264enc", "mp4mux", "uridecodebin", "appsink");
  const std::string path = dinoclip::testing::temp_dir() + "/colours.mp4";
  const uint8_t levels[3] = {30, 128, 220};
  {
    Mp4Writer writer(path, 32, 16, 10);
    for (uint8_t level : levels) {
      Image frame(32, 16, 3);
      std::fill(frame.pixels.begin(), frame.pixels.end(), level);
      writer.write(frame);
    }
    EXPECT_TRUE(fs::exists(path + ".part"));
    EXPECT_FALSE(fs::exists(path));
    EXPECT_EQ(writer.finish(), 3);
  }
  EXPECT_FALSE(fs::exists(path + ".part"));
  VideoFrameReader reader(path);
  VideoFrame frame;
  int index = 0;
  int64_t last_pts = -1;
  for (; reader.next(frame); ++index) {
    ASSERT_LT(index, 3);
    ASSERT_EQ(frame.rgb.width, 32);
    ASSERT_EQ(frame.rgb.height, 16);
    EXPECT_NEAR(frame.rgb.at(16, 8, 1), levels[index], 6) << "frame " << index;  // H.264 of a flat grey
    EXPECT_GT(frame.pts_ns, last_pts);
    last_pts = frame.pts_ns;
  }
  EXPECT_EQ(index, 3);
}

TEST_F(GstApp, Mp4WriterRejectsOddSizesAndLeavesNoFileWithoutFinish) {
  REQUIRE_ELEMENTS("appsrc", "x264enc", "mp4mux");
  const std::string dir = dinoclip::testing::temp_dir();
  EXPECT_NE(message_of([&] { Mp4Writer(dir + "/odd.mp4", 33, 16, 10); }).find("must be even for H.264, got 33x16"),
            std::string::npos);
  {
    Mp4Writer writer(dir + "/dropped.mp4", 32, 16, 10);
    writer.write(Image(32, 16, 3));
    EXPECT_NE(message_of([&] { writer.write(Image(16, 16, 3)); }).find("is 16x16, the video is 32x16"),
              std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir + "/dropped.mp4"));
  EXPECT_FALSE(fs::exists(dir + "/dropped.mp4.part"));
}

TEST_F(GstApp, FrameReaderRejectsAMissingFile) {
  EXPECT_EQ(message_of([] { VideoFrameReader("/nonexistent/v.mp4"); }), "/nonexistent/v.mp4: no such file");
}

}  // namespace
