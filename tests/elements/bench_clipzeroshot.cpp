// Benchmark: what clipzeroshot costs on top of the bare CLIP image encoder.
//
//   bench_clipzeroshot [--arch vitb32|tiny] [--model PATH] [--vocab PATH]
//                      [--frame 640x480] [--frames 20] [--labels 3]
//                      [--crop center|full] [--device cpu|cuda|auto]
//
// --arch vitb32: random weights in ViT-B/32's shapes (timing does not depend
// on the values), written to a temporary .safetensors; tiny: the clip_tiny
// fixture ($DINOCLIP_FIXTURES); --model: real weights (ViT-B-32.pt). Medians
// per frame over --frames after 2 warm-ups, measured interleaved frame by
// frame so outside load hits them alike:
//   encode_image  ClipModel::encode_image on a ready [1,3,R,R] tensor
//   element       one RGB frame pushed through clipzeroshot in a GstHarness
//                 (mapping, resize + crop, normalisation, encode_image, scores,
//                 meta, bus message)
// ratio = element / encode_image (the target: <= 1.1).
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

#include "io/safetensors_writer.h"
#include "models/clip.h"
#include "core/device.h"
#include "models/random_weights.h"
#include "text/vocab_path.h"
#include "vision/synthetic.h"

#include "bench_util.h"

namespace {

using namespace dinoclip;
using namespace dinoclip::bench;

Options parse_args(int argc, char** argv) {
  const Options defaults{{"arch", "vitb32"}, {"model", ""},   {"vocab", ""},      {"frame", "640x480"},
                         {"frames", "20"},   {"labels", "3"}, {"crop", "center"}, {"device", "cpu"}};
  return parse_options(argc, argv, defaults, "bench_clipzeroshot.cpp");
}

// The weights to time, and whether the file is ours to delete.
std::pair<std::string, bool> model_path(const std::map<std::string, std::string>& args) {
  if (!args.at("model").empty()) return {args.at("model"), false};
  if (args.at("arch") == "tiny") {
    const char* fixtures = std::getenv("DINOCLIP_FIXTURES");
    return {std::string(fixtures ? fixtures : "../shared/fixtures") + "/clip_tiny/clip_tiny_state.pth", false};
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / ("bench_clip_vitb32_" + std::to_string(getpid()) + ".safetensors"))
          .string();
  save_safetensors(path, random_clip_weights(clip_architecture("vitb32"), /*seed=*/1));
  return {path, true};
}

std::string vocab_path(const std::map<std::string, std::string>& args) {
  if (!args.at("vocab").empty()) return args.at("vocab");
  if (const char* fixtures = std::getenv("DINOCLIP_FIXTURES")) {
    const std::string path = std::string(fixtures) + "/tokenizer/bpe_simple_vocab_16e6.txt.gz";
    if (std::filesystem::exists(path)) return path;
  }
  return find_vocab_file();
}

GstBuffer* make_frame(int width, int height, int index) {
  const Image rgb = SyntheticScene(width, height, 3, 11).render(index).rgb;
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, width, height);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, info.size, nullptr);
  GstVideoFrame frame;
  gst_video_frame_map(&frame, &info, buffer, GST_MAP_WRITE);
  for (int y = 0; y < height; ++y) {
    std::copy(
        rgb.row(y), rgb.row(y) + width * 3,
        static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0));
  }
  gst_video_frame_unmap(&frame);
  GST_BUFFER_PTS(buffer) = index * GST_SECOND / 30;
  return buffer;
}

std::string labels_property(int count) {
  const char* names[] = {"a person", "a cat", "an empty room", "a dog", "a car", "a bicycle", "food", "a tree"};
  std::string labels;
  for (int i = 0; i < count; ++i)
    labels += (i ? ";" : "") + std::string(names[i % 8]) + (i >= 8 ? " " + std::to_string(i) : "");
  return labels;
}

struct Timings {
  double encode_ms;   // bare encode_image on a ready tensor
  double element_ms;  // one frame through clipzeroshot
};

Timings time_interleaved(const ClipModel& model, const std::string& launch, int width, int height, int frames) {
  GstHarness* h = gst_harness_new_parse(launch.c_str());
  const std::string caps =
      "video/x-raw,format=RGB,width=" + std::to_string(width) + ",height=" + std::to_string(height) + ",framerate=30/1";
  gst_harness_set_src_caps_str(h, caps.c_str());
  const int r = model.config().image_resolution;
  const at::Tensor input = at::randn({1, 3, r, r}).to(model.device());
  std::vector<double> encode, element;
  for (int i = 0; i < frames + 2; ++i) {
    GstBuffer* frame = make_frame(width, height, i);
    auto start = Clock::now();
    const at::Tensor features = model.encode_image(input);
    synchronize(model.device());
    const double t_encode = ms_since(start);

    start = Clock::now();
    gst_harness_push(h, frame);
    GstBuffer* result = gst_harness_pull(h);
    const double t_element = ms_since(start);
    gst_buffer_unref(result);
    if (i < 2) continue;
    encode.push_back(t_encode);
    element.push_back(t_element);
  }
  gst_harness_teardown(h);
  return {median(encode), median(element)};
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  auto args = parse_args(argc, argv);
  const int frames = std::max(3, std::stoi(args["frames"]));
  int width = 0, height = 0;
  if (std::sscanf(args["frame"].c_str(), "%dx%d", &width, &height) != 2) {
    std::fprintf(stderr, "--frame: expected WxH, got %s\n", args["frame"].c_str());
    return 2;
  }
  const auto [path, temporary] = model_path(args);
  ClipLoadOptions load;
  load.device = resolve_device(parse_device_choice(args["device"]));
  const ClipModel model = ClipModel::load(path, load);
  const std::string vocab = vocab_path(args);
  const std::string launch = "clipzeroshot model=\"" + path + "\" vocab=\"" + vocab + "\" device=" + args["device"] +
                             " crop=" + args["crop"] + " labels=\"" + labels_property(std::stoi(args["labels"])) + "\"";
  std::printf("%s, frames %dx%d RGB, %s labels, crop %s, device %s\n", model.describe().c_str(), width, height,
              args["labels"].c_str(), args["crop"].c_str(), load.device.str().c_str());
  const Timings t = time_interleaved(model, launch, width, height, frames);
  if (temporary) std::filesystem::remove(path);
  std::printf("encode_image %8.2f ms/frame  %7.2f frames/s\n", t.encode_ms, 1000.0 / t.encode_ms);
  std::printf("element      %8.2f ms/frame  %7.2f frames/s\n", t.element_ms, 1000.0 / t.element_ms);
  std::printf("ratio        %8.3f  (element / encode_image; target <= 1.1)\n", t.element_ms / t.encode_ms);
  return 0;
}
