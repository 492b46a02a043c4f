// Benchmark: many streams on one shared, batched model instance vs one model
// per stream, and what async-inference costs on the video path.
//
//   bench_scheduler [--streams 4] [--frames 12] [--size 224] [--batch 4] [--arch vits8]
//                   [--device cpu|cuda] [--format RGB|I420|NV12|...] [--frame WxH] [--scale-method exact|fast]
//
// Random weights of --arch (timing and memory do not depend on the values).
// Each configuration runs in its own process (so peak RSS is its own):
//   one       1 stream, its own model
//   separate  --streams streams, each dinofeatures with its own model
//   shared    --streams streams, model-instance-id=bench batch-size=--batch
//   one-batched  1 stream, model-instance-id=bench batch-size=--batch: what one
//             stream reaches at that batch size (issue 21 item 4: shared >= 0.9 x this)
// Each stream: videotestsrc num-buffers=--frames ! --format --frame (default
// --size x --size) ! dinofeatures input-size=--size [device, scale-method] ! fakesink,
// all streams in one pipeline; throughput = frames of all streams / wall time.
// On a GPU: --device cuda --format NV12 --frame 1280x720 measures the
// batched preprocessing (upload, conversion, resize) with the forward.
//   async     a 640x480 stream pushed through dinofeatures async-inference=true
//             while the model runs: time per frame on the streaming thread,
//             against the same element carrying a result without inference.
// Targets (issue 12): shared throughput >= separate; shared RSS <= 1.15 x one;
// async adds <= 1 ms per frame.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors_writer.h"
#include "models/random_weights.h"

#include "bench_util.h"

namespace {

using namespace dinoclip;
using namespace dinoclip::bench;

Options parse_args(int argc, char** argv) {
  const Options defaults{{"streams", "4"},  {"frames", "12"}, {"size", "224"},     {"batch", "4"},
                         {"arch", "vits8"}, {"mode", ""},     {"model", ""},       {"device", ""},
                         {"format", "RGB"}, {"frame", ""},    {"scale-method", ""}};
  return parse_options(argc, argv, defaults, "bench_scheduler.cpp");
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// All streams in one pipeline, to EOS; prints "fps=... rss_mb=...".
int run_streams(std::map<std::string, std::string>& args, int streams, const std::string& extra) {
  const std::string frame = args["frame"].empty() ? args["size"] + "x" + args["size"] : args["frame"];
  const std::string width = frame.substr(0, frame.find('x')), height = frame.substr(frame.find('x') + 1);
  std::string element_options = extra;
  if (!args["device"].empty()) element_options += " device=" + args["device"];
  if (!args["scale-method"].empty()) element_options += " scale-method=" + args["scale-method"];
  std::string launch;
  for (int s = 0; s < streams; ++s) {
    launch += "videotestsrc num-buffers=" + args["frames"] + " pattern=" + std::to_string(s % 25) +
              " ! video/x-raw,format=" + args["format"] + ",width=" + width + ",height=" + height +
              ",framerate=30/1 ! dinofeatures model=" + args["model"] + " input-size=" + args["size"] + "x" +
              args["size"] + " " + element_options + " ! fakesink sync=false ";
  }
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (!pipeline) {
    std::fprintf(stderr, "bench_scheduler: %s\n", error ? error->message : "no pipeline");
    return 1;
  }
  const auto start = Clock::now();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
                                             GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const bool failed = GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR;
  if (failed) {
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    std::fprintf(stderr, "bench_scheduler: %s\n", e->message);
    g_error_free(e);
  }
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  if (failed) return 1;
  std::printf("fps=%.3f rss_mb=%.1f seconds=%.2f\n", streams * std::stod(args["frames"]) / seconds, peak_rss_mb(),
              seconds);
  return 0;
}

// Streaming-thread time per frame through dinofeatures (push + pull).
std::vector<double> frame_times(const std::string& model, const std::string& properties, int frames) {
  const std::string launch = "dinofeatures model=" + model + " input-size=224x224 " + properties;
  GstHarness* h = gst_harness_new_parse(launch.c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=640,height=480,framerate=30/1");
  std::vector<double> ms;
  GstBuffer* frame = gst_harness_create_buffer(h, 640 * 480 * 3);
  for (int i = 0; i < frames; ++i) {
    GstBuffer* in = gst_buffer_copy(frame);
    GST_BUFFER_PTS(in) = i * GST_SECOND / 30;
    const auto start = Clock::now();
    gst_harness_push(h, in);
    GstBuffer* out = gst_harness_pull(h);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    gst_buffer_unref(out);
    g_usleep(5000);  // let the model's worker run between frames, as a camera would
  }
  gst_buffer_unref(frame);
  gst_harness_teardown(h);
  return ms;
}

void print_stats(const char* name, std::vector<double> ms) {
  ms.erase(ms.begin());  // the first frame (sync: the first inference)
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  std::printf("%-32s median %.3f ms  mean %.3f ms  p99 %.3f ms\n", name, ms[ms.size() / 2], sum / ms.size(),
              ms[ms.size() * 99 / 100]);
}

int run_async(std::map<std::string, std::string>& args) {
  const int frames = 200;
  print_stats("async-inference=true", frame_times(args["model"], "async-inference=true", frames));
  print_stats("sync, carrying (no inference)", frame_times(args["model"], "inference-interval=10000", frames));
  return 0;
}

// Runs this program again for one mode; returns its output line.
std::string child(const char* self, std::map<std::string, std::string> args, const std::string& mode) {
  args["mode"] = mode;
  std::vector<std::string> argv_s{self};
  for (auto& [k, v] : args) {
    argv_s.push_back("--" + k);
    argv_s.push_back(v);
  }
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  gchar* out = nullptr;
  gint status = 0;
  GError* error = nullptr;
  if (!g_spawn_sync(nullptr, argv.data(), nullptr, G_SPAWN_DEFAULT, nullptr, nullptr, &out, nullptr, &status,
                    &error)) {
    return std::string("failed: ") + error->message;
  }
  std::string text = out ? out : "";
  g_free(out);
  return status == 0 ? text : "failed (exit " + std::to_string(status) + "): " + text;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  auto args = parse_args(argc, argv);
  const std::string& mode = args["mode"];
  if (mode == "one") return run_streams(args, 1, "");
  if (mode == "separate") return run_streams(args, std::stoi(args["streams"]), "");
  if (mode == "shared") {
    return run_streams(args, std::stoi(args["streams"]),
                       "model-instance-id=bench batch-size=" + args["batch"] + " batch-timeout=100");
  }
  if (mode == "one-batched") {
    return run_streams(args, 1, "model-instance-id=bench batch-size=" + args["batch"] + " batch-timeout=100");
  }
  if (mode == "async") return run_async(args);

  const auto model = std::filesystem::temp_directory_path() /
                     ("bench_sched_" + args["arch"] + "_" + std::to_string(getpid()) + ".safetensors");
  save_safetensors(model.string(), random_dino_weights(dino_architecture(args["arch"]), /*seed=*/1));
  args["model"] = model.string();
  std::printf("%s streams x %s frames, %s at %sx%s, batch %s (random weights)\n", args["streams"].c_str(),
              args["frames"].c_str(), args["arch"].c_str(), args["size"].c_str(), args["size"].c_str(),
              args["batch"].c_str());
  std::map<std::string, double> fps;
  for (const char* m : {"one", "separate", "shared", "one-batched"}) {
    const std::string line = child(argv[0], args, m);
    std::printf("%-12s %s", m, line.c_str());
    if (line.rfind("fps=", 0) == 0) fps[m] = std::stod(line.substr(4));
  }
  if (fps.count("shared") && fps.count("one-batched")) {
    std::printf("shared / one-batched = %.3f (%s streams vs 1 stream at batch %s; target >= 0.9)\n",
                fps["shared"] / fps["one-batched"], args["streams"].c_str(), args["batch"].c_str());
  }
  std::printf("%s", child(argv[0], args, "async").c_str());
  std::filesystem::remove(model);
  return 0;
}
