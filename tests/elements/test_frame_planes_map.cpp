// System-memory GstBuffers as FramePlanes (gst/common/frame_planes_map.h):
// every format the elements read, converted in one batch, equals the CPU
// conversion of the mapped frame (frame_convert.h); the mapping and the buffer
// reference live exactly as long as the planes; failed maps are refused.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <random>
#include <string>
#include <vector>

#include "common/frame_convert.h"
#include "common/frame_planes_map.h"
#include "core/error.h"
#include "element_test_util.h"

namespace dinoclip::testing {
namespace {

GstVideoInfo video_info(GstVideoFormat format, int width, int height, const char* colorimetry = nullptr) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, guint(width), guint(height));
  if (colorimetry) gst_video_colorimetry_from_string(&info.colorimetry, colorimetry);
  return info;
}

// A buffer of `info`'s size filled with random bytes (padding included).
GstBuffer* random_buffer(const GstVideoInfo& info, std::uint32_t seed) {
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  std::mt19937 rng(seed);
  for (gsize i = 0; i < map.size; ++i) map.data[i] = std::uint8_t(rng());
  gst_buffer_unmap(buffer, &map);
  return buffer;
}

// What the CPU path gives: frame_rgb of the mapped frame, as [3, H, W].
at::Tensor cpu_rgb(GstBuffer* buffer, const GstVideoInfo& info) {
  GstVideoFrame frame;
  EXPECT_TRUE(gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ));
  const Image rgb = gst::frame_rgb(frame);
  gst_video_frame_unmap(&frame);
  return at::from_blob(const_cast<std::uint8_t*>(rgb.pixels.data()), {rgb.height, rgb.width, 3}, at::kByte)
      .permute({2, 0, 1})
      .clone();
}

TEST(FramePlanesMap, EveryFormatConvertsAsTheCpuPath) {
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_RGB,
                                GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGR}) {
    for (const char* colorimetry : {"bt601", "bt709", "1:4:0:0"}) {  // 1:4:0:0: full range, BT.709
      // 37 wide: odd, and rows padded to 4 bytes by GStreamer's default strides.
      const GstVideoInfo info = video_info(format, 37, 21, colorimetry);
      GstBuffer* a = random_buffer(info, 1);
      GstBuffer* b = random_buffer(info, 2);
      const std::vector<FramePlanes> frames{gst::map_frame_planes(a, info, GST_MAP_READ),
                                            gst::map_frame_planes(b, info, GST_MAP_READ)};
      const at::Tensor rgb = frames_to_rgb(frames);
      const std::string what = std::string(gst_video_format_to_string(format)) + " " + colorimetry;
      EXPECT_TRUE(at::equal(rgb[0], cpu_rgb(a, info))) << what;
      EXPECT_TRUE(at::equal(rgb[1], cpu_rgb(b, info))) << what;
      gst_buffer_unref(a);
      gst_buffer_unref(b);
    }
  }
}

TEST(FramePlanesMap, KeepAliveHoldsTheMappingAndABufferReference) {
  const GstVideoInfo info = video_info(GST_VIDEO_FORMAT_I420, 16, 8);
  GstBuffer* buffer = random_buffer(info, 3);
  const int before = GST_MINI_OBJECT_REFCOUNT_VALUE(buffer);
  {
    FramePlanes frame = gst::map_frame_planes(buffer, info, GST_MAP_READ);
    EXPECT_GT(GST_MINI_OBJECT_REFCOUNT_VALUE(buffer), before);
    EXPECT_NE(frame.keep_alive, nullptr);
    EXPECT_EQ(frame.layout, FrameLayout::kI420);
    EXPECT_EQ(frame.device(), c10::Device(c10::kCPU));
    // For a model on the CPU nothing is copied: the worker reads the mapping.
    FramePlanes for_cpu = gst::frame_planes_for_device(buffer, info, c10::Device(c10::kCPU));
    EXPECT_NE(for_cpu.keep_alive, nullptr);
  }
  EXPECT_EQ(GST_MINI_OBJECT_REFCOUNT_VALUE(buffer), before);
  gst_buffer_unref(buffer);
}

TEST(FramePlanesMap, RejectsABufferTooSmallForItsCaps) {
  const GstVideoInfo info = video_info(GST_VIDEO_FORMAT_RGB, 64, 64);
  GstBuffer* small = gst_buffer_new_allocate(nullptr, 100, nullptr);
  const std::string message = message_of([&] { gst::map_frame_planes(small, info, GST_MAP_READ); });
  EXPECT_NE(message.find("could not map a 64x64 RGB video frame for reading"), std::string::npos) << message;
  EXPECT_EQ(GST_MINI_OBJECT_REFCOUNT_VALUE(small), 1);
  gst_buffer_unref(small);
}

TEST(FramePlanesMap, RejectsFormatsTheElementsDoNotRead) {
  const GstVideoInfo info = video_info(GST_VIDEO_FORMAT_YUY2, 8, 8);
  GstBuffer* buffer = random_buffer(info, 4);
  const std::string message = message_of([&] { gst::map_frame_planes(buffer, info, GST_MAP_READ); });
  EXPECT_NE(message.find("video format YUY2 is not supported here"), std::string::npos) << message;
  EXPECT_EQ(GST_MINI_OBJECT_REFCOUNT_VALUE(buffer), 1) << "the mapping must be released on the error path";
  gst_buffer_unref(buffer);
}

}  // namespace
}  // namespace dinoclip::testing
