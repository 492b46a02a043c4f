// Benchmark: what dinofeatures costs on top of the bare model.
//
//   bench_dinofeatures [--arch vits8|vits16|vitb8|vitb16|tiny] [--size 224]
//                      [--frame WxH] [--format RGB|I420] [--frames 20]
//                      [--device cpu|cuda|auto] [--threads N]
//
// Random weights of the given architecture (timing does not depend on the
// values) at a square model input of --size. Medians per frame, the first
// three measured interleaved frame by frame (so outside load hits them alike):
//   forward     DinoModel::forward on a ready [1,3,size,size] tensor
//   preprocess  lib/vision alone: frame -> model input
//   element     one frame pushed through dinofeatures in a GstHarness
//               (mapping, conversion, resize, normalisation, forward, meta)
//   pipeline    videotestsrc ! dinofeatures ! fakesink, wall time / frames
//               (needs the system plugins; skipped when videotestsrc is absent)
// overhead = element - forward, as a share of the element's frame time.
// Run with OMP_WAIT_POLICY=PASSIVE (see lib/core/threads.h).
#include <ATen/ATen.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/threads.h"
#include "io/safetensors_writer.h"
#include "core/device.h"
#include "models/dino.h"
#include "models/random_weights.h"
#include "vision/color_convert.h"
#include "vision/preprocess.h"
#include "vision/synthetic.h"

#include "bench_util.h"

namespace {

using namespace dinoclip;
using namespace dinoclip::bench;

Options parse_args(int argc, char** argv) {
  const Options defaults{{"arch", "vits8"}, {"size", "224"},   {"frame", ""},   {"format", "RGB"},
                         {"frames", "20"},  {"device", "cpu"}, {"threads", "0"}};
  return parse_options(argc, argv, defaults, "bench_dinofeatures.cpp");
}

// A frame of `format` (via libgstvideo's converter, as videoconvert would).
GstBuffer* make_frame(int width, int height, GstVideoFormat format, int index) {
  const Image rgb = SyntheticScene(width, height, 3, 11).render(index).rgb;
  GstVideoInfo in_info, out_info;
  gst_video_info_set_format(&in_info, GST_VIDEO_FORMAT_RGB, width, height);
  gst_video_info_set_format(&out_info, format, width, height);
  GstBuffer* in = gst_buffer_new_allocate(nullptr, in_info.size, nullptr);
  GstBuffer* out = gst_buffer_new_allocate(nullptr, out_info.size, nullptr);
  GstVideoFrame fin, fout;
  gst_video_frame_map(&fin, &in_info, in, GST_MAP_WRITE);
  for (int y = 0; y < height; ++y) {
    std::copy(rgb.row(y), rgb.row(y) + width * 3,
              static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&fin, 0)) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&fin, 0));
  }
  gst_video_frame_map(&fout, &out_info, out, GST_MAP_WRITE);
  GstVideoConverter* converter = gst_video_converter_new(&in_info, &out_info, nullptr);
  gst_video_converter_frame(converter, &fin, &fout);
  gst_video_converter_free(converter);
  gst_video_frame_unmap(&fin);
  gst_video_frame_unmap(&fout);
  gst_buffer_unref(in);
  return out;
}

std::string element_launch(const std::string& model, const std::map<std::string, std::string>& args) {
  return "dinofeatures model=" + model + " input-size=" + args.at("size") + "x" + args.at("size") +
         " device=" + args.at("device") + (args.at("threads") != "0" ? " threads=" + args.at("threads") : "");
}

// What the element feeds the model, from lib/ directly (RGB-family or I420).
at::Tensor model_input(const GstVideoFrame& frame, int size) {
  const int w = GST_VIDEO_FRAME_WIDTH(&frame), h = GST_VIDEO_FRAME_HEIGHT(&frame);
  auto plane = [&](int i) { return static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, i)); };
  auto stride = [&](int i) { return GST_VIDEO_FRAME_PLANE_STRIDE(&frame, i); };
  if (GST_VIDEO_FRAME_FORMAT(&frame) == GST_VIDEO_FORMAT_I420) {
    const Image rgb = i420_to_rgb(plane(0), stride(0), plane(1), stride(1), plane(2), stride(2), w, h,
                                  YuvMatrix::kBt601, /*full_range=*/false);
    return dino_input(rgb.view(), size, size);
  }
  return dino_input(ImageView{plane(0), w, h, stride(0), PixelFormat::kRGB}, size, size);
}

struct Timings {
  double forward_ms;     // the bare model
  double preprocess_ms;  // lib/vision: frame -> model input (conversion, resize, normalisation)
  double element_ms;     // one frame through dinofeatures
};

// The three are measured interleaved, frame by frame, so that load from
// other processes hits them alike; medians over `frames` after 2 warm-ups.
Timings time_interleaved(const DinoModel& model, const std::string& launch, const std::string& caps, int width,
                         int height, GstVideoFormat format, int size, int frames) {
  GstHarness* h = gst_harness_new_parse(launch.c_str());
  gst_harness_set_src_caps_str(h, caps.c_str());
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, width, height);
  std::vector<double> forward, preprocess, element;
  for (int i = 0; i < frames + 2; ++i) {
    GstBuffer* frame = make_frame(width, height, format, i);
    GST_BUFFER_PTS(frame) = i * GST_SECOND / 30;

    auto start = Clock::now();
    GstVideoFrame mapped;
    gst_video_frame_map(&mapped, &info, frame, GST_MAP_READ);
    const at::Tensor input = model_input(mapped, size);
    gst_video_frame_unmap(&mapped);
    const double t_pre = ms_since(start);

    start = Clock::now();
    DinoOutput out = model.forward(input);
    synchronize(model.device());
    const double t_fwd = ms_since(start);

    start = Clock::now();
    gst_harness_push(h, frame);
    GstBuffer* result = gst_harness_pull(h);
    const double t_elem = ms_since(start);
    gst_buffer_unref(result);
    if (i < 2) continue;
    preprocess.push_back(t_pre);
    forward.push_back(t_fwd);
    element.push_back(t_elem);
  }
  gst_harness_teardown(h);
  return {median(forward), median(preprocess), median(element)};
}

// Whole pipeline, wall time per frame; < 0 when it cannot run here.
double time_pipeline(const std::string& launch, const std::string& caps, int frames) {
  if (!gst_registry_check_feature_version(gst_registry_get(), "videotestsrc", 1, 0, 0)) return -1;
  const std::string description = "videotestsrc num-buffers=" + std::to_string(frames) + " pattern=ball ! " + caps +
                                  " ! " + launch + " ! fakesink sync=false";
  GstElement* pipeline = gst_parse_launch(description.c_str(), nullptr);
  if (!pipeline) return -1;
  gst_element_set_state(pipeline, GST_STATE_PAUSED);
  gst_element_get_state(pipeline, nullptr, nullptr, GST_CLOCK_TIME_NONE);  // model loaded, first frame done
  const auto start = Clock::now();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message =
      gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const double total = ms_since(start);
  const bool ok = message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS;
  if (message) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return ok ? total / (frames - 1) : -1;  // the preroll frame is not in `total`
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  auto args = parse_args(argc, argv);
  const int size = std::stoi(args["size"]);
  const int frames = std::max(3, std::stoi(args["frames"]));
  if (args["frame"].empty()) args["frame"] = args["size"] + "x" + args["size"];
  int width = 0, height = 0;
  if (std::sscanf(args["frame"].c_str(), "%dx%d", &width, &height) != 2) {
    std::fprintf(stderr, "--frame: expected WxH, got %s\n", args["frame"].c_str());
    return 2;
  }
  const GstVideoFormat format = gst_video_format_from_string(args["format"].c_str());
  if (std::stoi(args["threads"]) > 0) configure_threads(ThreadConfig{std::stoi(args["threads"]), 0});

  const std::string model_path = (std::filesystem::temp_directory_path() /
                                  ("bench_dino_" + args["arch"] + "_" + std::to_string(getpid()) + ".safetensors"))
                                     .string();
  const DinoConfig config = dino_architecture(args["arch"]);
  save_safetensors(model_path, random_dino_weights(config, /*seed=*/1));
  DinoLoadOptions load;
  load.device = resolve_device(parse_device_choice(args["device"]));
  const DinoModel model = DinoModel::load(model_path, load);
  std::printf("%s, input %dx%d, frames %dx%d %s, device %s, %s\n", model.describe().c_str(), size, size, width, height,
              args["format"].c_str(), load.device.str().c_str(), describe_threads().c_str());

  const std::string caps = std::string("video/x-raw,format=") + args["format"] + ",width=" + std::to_string(width) +
                           ",height=" + std::to_string(height) + ",framerate=30/1";
  const std::string launch = element_launch(model_path, args);
  if (format != GST_VIDEO_FORMAT_RGB && format != GST_VIDEO_FORMAT_I420) {
    std::fprintf(stderr, "--format: RGB or I420 here\n");
    return 2;
  }
  const Timings t = time_interleaved(model, launch, caps, width, height, format, size, frames);
  const double pipeline_ms = time_pipeline(launch, caps, frames);
  std::filesystem::remove(model_path);

  const double overhead = t.element_ms - t.forward_ms;
  std::printf("forward     %8.2f ms/frame  %7.2f frames/s\n", t.forward_ms, 1000.0 / t.forward_ms);
  std::printf("element     %8.2f ms/frame  %7.2f frames/s\n", t.element_ms, 1000.0 / t.element_ms);
  if (pipeline_ms > 0) std::printf("pipeline    %8.2f ms/frame  %7.2f frames/s\n", pipeline_ms, 1000.0 / pipeline_ms);
  std::printf("preprocess  %8.2f ms/frame  (lib/vision alone: conversion, resize, normalisation)\n", t.preprocess_ms);
  std::printf("overhead    %8.2f ms/frame  = %.1f%% of the element's frame time (of which preprocessing %.2f ms)\n",
              overhead, 100.0 * overhead / t.element_ms, t.preprocess_ms);
  return 0;
}
