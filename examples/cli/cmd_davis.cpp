// make-sequence, davis: the notebook's one-shot video segmentation on DAVIS
// (or a generated sequence in the DAVIS layout), through the real pipeline
// multifilesrc ! jpegdec ! dinofeatures ! dinoseg.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/mp4_writer.h"
#include "commands.h"
#include "core/error.h"
#include "io/davis_layout.h"
#include "io/image_file.h"
#include "core/device.h"
#include "models/dino.h"
#include "segmentation_pipeline.h"
#include "tasks/frame_numbering.h"
#include "tasks/iou.h"
#include "vision/input_size.h"
#include "vision/overlay.h"
#include "vision/synthetic.h"

namespace dinoclip::cli {
namespace {

namespace fs = std::filesystem;
using gstapp::Mp4Writer;

constexpr int kDavisFps = 24;       // DAVIS videos are 24 frames per second
constexpr float kMaskAlpha = 0.5f;  // as the notebook's overlays

// ---- make-sequence -------------------------------------------------------

// Refuses to overwrite a sequence; with --force, removes its old frames and
// masks so a shorter new sequence does not inherit stale ones.
void prepare_sequence_dirs(const DavisSequence& sequence, bool force) {
  for (const auto& [dir, existing] : {std::pair{sequence.frames_dir(), sequence.frame_files()},
                                      std::pair{sequence.annotations_dir(), sequence.annotation_files()}}) {
    if (!existing.empty() && !force) {
      throw Error(existing.begin()->second + " exists (" + std::to_string(existing.size()) + " numbered files in " +
                  dir + "): pass --force to replace the sequence, or choose another --out or --name");
    }
    for (const auto& [number, path] : existing) fs::remove(path);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) throw Error(dir + ": cannot create folder (" + ec.message() + ")");
  }
}

int make_sequence(const Args& args) {
  const std::string size_text = args.get("size", "854x480");
  struct {
    int width = 0, height = 0;
  } size;
  char rest = 0;
  if (std::sscanf(size_text.c_str(), "%dx%d%c", &size.width, &size.height, &rest) != 2 || size.width < 16 ||
      size.height < 16 || size.width > 4096 || size.height > 4096) {
    throw Error("--size " + size_text + ": give WxH, each side 16 to 4096 pixels (DAVIS 480p is 854x480)");
  }
  const int frames = args.get_int("frames", 50), objects = args.get_int("objects", 2);
  if (frames < 1 || frames > 99999) throw Error("--frames must be 1 to 99999, got " + std::to_string(frames));
  if (objects < 1 || objects > 255) throw Error("--objects must be 1 to 255, got " + std::to_string(objects));
  const std::string name = args.get("name", "synthetic");
  if (name.empty() || name.find('/') != std::string::npos)
    throw Error("--name '" + name + "': a folder name, not a path");
  const DavisSequence sequence(args.require("out"), name);
  prepare_sequence_dirs(sequence, args.has("force"));

  const SyntheticScene scene(size.width, size.height, objects, uint64_t(args.get_int("seed", 0)));
  const Palette palette = davis_palette(256);  // DAVIS masks carry the full 256-entry VOC palette
  for (int i = 0; i < frames; ++i) {
    const SyntheticFrame frame = scene.render(i);
    write_jpeg(sequence.frame_path(i), frame.rgb, 95);
    write_palette_png(sequence.annotation_path(i), frame.mask, palette);
  }
  std::cout << "wrote " << frames << " frames (" << size.width << "x" << size.height << ", " << objects
            << " objects) to " << sequence.frames_dir() << "/%05d.jpg and masks to " << sequence.annotations_dir()
            << "/%05d.png\n";
  return 0;
}

// ---- davis ---------------------------------------------------------------

struct DavisOptions {
  std::string weights, method, head, input_size, out;
  std::string precision = "fp32";  // dinofeatures' precision
  int train_frame = 40;
  int heads = 0;
  int iterations = 0;  // 0 = dinoseg's default
};

DavisOptions davis_options(const Args& args) {
  DavisOptions o;
  o.weights = args.require("weights");
  o.method = args.get("method", "head");
  o.head = args.get("head");
  o.input_size = args.get("input-size");  // empty: default_input_size() once the weights are known to exist
  o.out = args.require("out");
  o.train_frame = args.get_int("train-frame", 40);
  o.heads = args.get_int("heads", 0);
  o.iterations = args.get_int("iters", 0);
  o.precision = args.get("precision", "fp32");
  resolve_precision(parse_precision(o.precision), c10::Device(c10::kCPU));  // a clear error before the pipeline
  if (o.method != "head" && o.method != "propagation")
    throw Error("--method " + o.method + ": use head or propagation");
  if (!o.head.empty() && o.head != "linear" && o.head != "mlp") throw Error("--head " + o.head + ": use linear or mlp");
  if (!o.head.empty() && o.method != "head") throw Error("--head applies to --method head only");
  if (o.train_frame < 0) throw Error("--train-frame must be 0 or more, got " + std::to_string(o.train_frame));
  if (o.iterations < 0) throw Error("--iters must be 1 or more");
  if (!o.input_size.empty()) InputSize::parse(o.input_size);  // a clear error now rather than from the pipeline
  if (!fs::is_regular_file(o.weights)) throw Error("--weights " + o.weights + ": no such file");
  if (fs::path(o.out).extension() != ".mp4")
    throw Error("--out " + o.out + ": the video is written as mp4; name it *.mp4");
  if (fs::exists(o.out) && !args.has("force")) throw Error("--out " + o.out + " exists: pass --force to overwrite it");
  return o;
}

LaunchArgs davis_pipeline(const DavisSequence& sequence, const DavisOptions& o) {
  const std::string stop = std::to_string(sequence.frame_count() - 1);
  LaunchArgs p = {"multifilesrc", "location=" + sequence.frame_pattern(), "index=0", "stop-index=" + stop,
                  "caps=image/jpeg,framerate=" + std::to_string(kDavisFps) + "/1"};
  p.insert(p.end(), {"!", "jpegdec", "!", "videoconvert", "!", "video/x-raw,format=RGB"});
  // attention=false: dinoseg needs the patch tokens only.
  p.insert(p.end(), {"!", "dinofeatures", "model=" + o.weights, "input-size=" + o.input_size, "attention=false"});
  if (o.heads > 0) p.push_back("heads=" + std::to_string(o.heads));
  if (o.precision != "fp32") p.push_back("precision=" + o.precision);
  p.insert(p.end(), {"!", "dinoseg", "annotation=" + sequence.annotation_path(o.train_frame),
                     "annotation-frame=" + std::to_string(o.train_frame),
                     "ground-truth=" + sequence.annotation_pattern(), "method=" + o.method});
  if (!o.head.empty()) p.push_back("head=" + o.head);
  if (o.iterations > 0) p.push_back("num-iters=" + std::to_string(o.iterations));
  // dinoseg holds the frames before the annotated one; raise its limit (its own default, asked) when that is short.
  if (guint(o.train_frame) >= gstapp::uint_property_default("dinoseg", "max-held-frames")) {
    p.push_back("max-held-frames=" + std::to_string(o.train_frame + 1));
  }
  p.insert(p.end(), {"!", "appsink", "name=sink", "sync=false", "max-buffers=4"});
  return p;
}

at::Tensor class_tensor(const Image& classes) {
  return at::from_blob(const_cast<uint8_t*>(classes.pixels.data()), {classes.height, classes.width}, at::kByte).clone();
}

// The class map at the ground truth's size (nearest), when the meta's grid differs.
Image classes_at(const Image& classes, int width, int height) {
  if (classes.width == width && classes.height == height) return classes;
  Image out(width, height, 1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      out.at(x, y) = classes.at(int(int64_t(x) * classes.width / width), int(int64_t(y) * classes.height / height));
    }
  }
  return out;
}

Image with_mask(const Image& rgb, const Image& classes, const Palette& palette) {
  Image out = rgb;
  MutableImageView view{out.pixels.data(), out.width, out.height, std::ptrdiff_t(out.width) * 3, PixelFormat::kRGB};
  blend_mask(view, class_tensor(classes), palette, kMaskAlpha, /*contours=*/true);
  return out;
}

// ground truth | prediction, the notebook's figure; cropped to an even height for H.264.
Image side_by_side(const Image& rgb, const Image& truth, const Image& predicted, const Palette& palette) {
  Image both = hstack({with_mask(rgb, truth, palette), with_mask(rgb, predicted, palette)});
  if (both.height % 2) {
    both.height -= 1;
    both.pixels.resize(size_t(both.width) * both.height * 3);
  }
  return both;
}

struct DavisResult {
  IouSeries series;
  std::vector<double> per_frame;
  std::map<int64_t, double> element_iou;   // from dinoseg-iou messages
  std::map<std::string, double> training;  // the dinoseg-trained message
  int video_frames = 0;
};

double value_or_nan(const std::vector<double>& values, int64_t index) {
  return index >= 0 && index < int64_t(values.size()) ? values[size_t(index)] : std::nan("");
}

// Largest difference between our IoU (from the meta) and dinoseg's own; NaN if it posted none.
double element_disagreement(const DavisResult& r) {
  if (r.element_iou.empty()) return std::nan("");
  double worst = 0;
  for (const auto& [frame, iou] : r.element_iou) {
    const double ours = value_or_nan(r.per_frame, frame);
    if (std::isnan(ours) != std::isnan(iou)) return INFINITY;
    if (!std::isnan(ours)) worst = std::max(worst, std::abs(ours - iou));
  }
  return r.element_iou.size() == r.per_frame.size() ? worst : INFINITY;
}

// "frame 5 (dir/00005.jpg)" / "3 frames: 5 (dir/00005.jpg), 6, 9"; "" when none is missing.
std::string missing_frames(const DavisSequence& sequence, const std::vector<bool>& received) {
  std::vector<int> missing;
  for (size_t i = 0; i < received.size(); ++i) {
    if (!received[i]) missing.push_back(int(i));
  }
  if (missing.empty()) return "";
  std::string text = missing.size() == 1 ? "frame " : std::to_string(missing.size()) + " frames: ";
  for (size_t i = 0; i < missing.size() && i < 10; ++i) {
    text += (i ? ", " : "") + std::to_string(missing[i]);
    if (i == 0) text += " (" + sequence.frame_path(missing[i]) + ")";
  }
  return text + (missing.size() > 10 ? ", ..." : "");
}

// Every frame must decode, or IoU and the training frame refer to the wrong
// pictures: checked before the pipeline runs, with our own decoder (jpegdec
// may drop a damaged frame or decode a truncated one to grey).
void check_frames_decode(const DavisSequence& sequence) {
  for (int i = 0; i < sequence.frame_count(); ++i) {
    try {
      read_image(sequence.frame_path(i));
    } catch (const Error& e) {
      throw Error(std::string("frame ") + std::to_string(i) + " of " + sequence.name() + " cannot be decoded: " +
                  e.what() + ". Every frame must decode for the IoU to be over the right frames: replace the file");
    }
  }
}

DavisResult run_davis(const DavisSequence& sequence, const DavisOptions& o, const LaunchArgs& pipeline_args) {
  DavisResult result;
  SegmentationPipeline pipeline(pipeline_args);
  pipeline.on_message([&](const ElementMessage& m) {
    if (m.name == "dinoseg-iou" && m.numbers.count("frame"))
      result.element_iou[int64_t(m.numbers.at("frame"))] = m.numbers.at("iou");
    if (m.name == "dinoseg-trained") result.training = m.numbers;
  });
  const Palette palette = davis_palette(256);
  std::optional<Mp4Writer> video;
  SegmentedFrame frame;
  // The same numbering as dinoseg's (timestamps at the caps' rate), so a frame
  // the decoder dropped is noticed instead of shifting every later one.
  FrameNumbering numbering;
  numbering.set_framerate(kDavisFps, 1);
  std::vector<bool> received(size_t(sequence.frame_count()), false);
  while (pipeline.next(frame)) {
    const int64_t number = numbering.number(
        FramePosition{std::nullopt, frame.pts_ns >= 0 ? std::optional<int64_t>(frame.pts_ns) : std::nullopt});
    if (number < 0 || number >= sequence.frame_count()) {
      throw Error("the pipeline delivered frame " + std::to_string(number) + " of a " +
                  std::to_string(sequence.frame_count()) + "-frame sequence");
    }
    received[size_t(number)] = true;
    const Image truth = read_label_png(sequence.annotation_path(int(number)));
    const Image predicted = classes_at(frame.classes, truth.width, truth.height);
    const double iou = mean_iou(predicted, truth);
    result.series.add(number, iou);
    result.per_frame.resize(std::max(result.per_frame.size(), size_t(number) + 1), std::nan(""));
    result.per_frame[size_t(number)] = iou;
    const Image figure = side_by_side(frame.rgb, truth, predicted, palette);
    if (!video) video.emplace(o.out, figure.width, figure.height, kDavisFps);
    video->write(figure);
    if ((frame.index + 1) % 10 == 0) {
      std::cout << std::flush;  // keep stdout and the progress on stderr in order
      std::cerr << "segmented " << frame.index + 1 << "/" << sequence.frame_count() << "\n";
    }
  }
  if (!video) throw Error("the pipeline ended without a frame");
  result.video_frames = video->finish();
  const std::string missing = missing_frames(sequence, received);
  if (!missing.empty()) {
    throw Error("the decoder dropped " + missing + ", so the IoU would not be over the whole sequence: replace the "
                "damaged frame files (" + o.out + " holds the frames that were segmented)");
  }
  return result;
}

void print_davis(const DavisSequence& sequence, const DavisOptions& o, const DavisResult& r, double seconds) {
  const IouSummary s = r.series.summary();
  const double train_iou = value_or_nan(r.per_frame, o.train_frame);
  std::cout.setf(std::ios::fixed);
  std::cout.precision(3);
  if (!r.training.empty() && r.training.count("accuracy")) {
    std::cout << "trained on frame " << o.train_frame << ": accuracy " << r.training.at("accuracy") << ", loss "
              << r.training.at("loss") << ", " << int(r.training.at("milliseconds")) << " ms\n";
  }
  std::cout << "IoU first frame (" << s.first_frame << "): " << s.first << "\n"
            << "IoU training frame (" << o.train_frame << "): " << train_iou << "\n"
            << "IoU last frame (" << s.last_frame << "): " << s.last << "\n"
            << "mean IoU over " << s.frames << " frames: " << s.mean << "\n";
  const double disagreement = element_disagreement(r);
  if (disagreement > 1e-9) {
    std::cout << std::flush;
    std::cerr << "warning: dinoseg's own IoU messages differ from the IoU of its class maps (by up to " << disagreement
              << ")\n";
  }
  std::cout << "wrote " << o.out << " (" << r.video_frames << " frames: ground truth | prediction)\n";
  nlohmann::json summary = {{"sequence", sequence.name()},
                            {"frames", sequence.frame_count()},
                            {"method", o.method},
                            {"train_frame", o.train_frame},
                            {"input_size", o.input_size},
                            {"iou_first", s.first},
                            {"iou_train", train_iou},
                            {"iou_last", s.last},
                            {"iou_mean", s.mean},
                            {"iou_per_frame", r.per_frame},
                            {"out", o.out},
                            {"seconds", seconds}};
  if (!o.head.empty()) summary["head"] = o.head;
  if (!r.training.empty()) summary["training"] = r.training;
  summary["element_iou_agrees"] =
      std::isnan(disagreement) ? nlohmann::json(nullptr) : nlohmann::json(disagreement <= 1e-9);
  std::cout << summary.dump() << "\n";
}

// The notebook's 480x480, rounded to the model's patch: 476x476 for DINOv2's
// patch 14 (480 is no multiple of 14), 480x480 for patch 8 and 16. Reads the
// checkpoint once for its patch size.
std::string default_input_size(const DavisOptions& o) {
  DinoLoadOptions load;
  load.num_heads = o.heads;
  const int patch = DinoModel::load(o.weights, load).config().patch_size;
  return square_input_size(480, patch).to_string();
}

int davis(const Args& args) {
  DavisOptions o = davis_options(args);
  const DavisSequence sequence = DavisSequence::open(args.require("root"), args.require("sequence"));
  if (o.train_frame >= sequence.frame_count()) {
    throw Error("--train-frame " + std::to_string(o.train_frame) + " is beyond the sequence: " + sequence.name() +
                " has " + std::to_string(sequence.frame_count()) + " frames (0.." +
                std::to_string(sequence.frame_count() - 1) + ")");
  }
  check_frames_decode(sequence);
  const Image first = read_image(sequence.frame_path(0));
  const Image annotation = read_label_png(sequence.annotation_path(o.train_frame));
  const std::string label_warning = label_map_warning(annotation, sequence.annotation_path(o.train_frame));
  if (!label_warning.empty()) std::cerr << "warning: " << label_warning << "\n";
  if (first.width != annotation.width || first.height != annotation.height) {
    throw Error(sequence.annotation_path(o.train_frame) + " is " + std::to_string(annotation.width) + "x" +
                std::to_string(annotation.height) + " but the frames are " + std::to_string(first.width) + "x" +
                std::to_string(first.height));
  }
  if (fs::path(o.out).has_parent_path()) fs::create_directories(fs::path(o.out).parent_path());
  gstapp::require_dinoclip_elements({"dinofeatures", "dinoseg"});
  if (o.input_size.empty()) o.input_size = default_input_size(o);
  const LaunchArgs pipeline = davis_pipeline(sequence, o);
  std::cout << "sequence " << sequence.name() << ": " << sequence.frame_count() << " frames " << first.width << "x"
            << first.height << ", training frame " << o.train_frame << ", method " << o.method << "\n"
            << "pipeline: " << launch_line(pipeline) << "\n"
            << std::flush;
  const auto start = std::chrono::steady_clock::now();
  const DavisResult result = run_davis(sequence, o, pipeline);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_davis(sequence, o, result, seconds);
  return 0;
}

}  // namespace

std::vector<Command> davis_commands() {
  return {
      {{"make-sequence",
        "write a synthetic video in the DAVIS layout (JPEG frames + palette PNG masks)",
        "--out DIR [--name synthetic] [--frames 50] [--size 854x480] [--objects 2] [--seed 0] [--force]",
        {{"out", "DIR",
          "dataset root: writes DIR/JPEGImages/480p/NAME/%05d.jpg and DIR/Annotations/480p/NAME/%05d.png"},
         {"name", "NAME", "sequence name (default synthetic)"},
         {"frames", "N", "number of frames (default 50)"},
         {"size", "WxH", "frame size (default 854x480, as DAVIS 480p)"},
         {"objects", "N", "moving textured shapes, classes 1..N (default 2)"},
         {"seed", "N", "random seed (default 0)"},
         {"force", "", "replace an existing sequence of that name"}}},
       make_sequence},
      {{"davis",
        "one-shot video segmentation of a DAVIS sequence from one annotated frame, with IoU",
        "--root DAVIS --sequence NAME --weights W --out result.mp4 [--train-frame 40] [--method head|propagation] "
        "[--head linear|mlp] [--input-size WxH] [--heads N] [--precision fp32|bf16] [--iters N] [--force]",
        {{"root", "DIR", "DAVIS root (holds JPEGImages/480p and Annotations/480p)"},
         {"sequence", "NAME", "sequence folder, e.g. bear"},
         {"weights", "W", "DINO checkpoint (.pth, .safetensors)"},
         {"out", "MP4", "side-by-side video, ground truth | prediction"},
         {"train-frame", "N", "the annotated frame trained on (default 40, as the notebook)"},
         {"method", "M", "head (train a head, default) or propagation (DINO's label propagation)"},
         {"head", "H", "linear or mlp (default: dinoseg's)"},
         {"input-size", "WxH",
          "model input size, each side a multiple of the patch (default: the notebook's 480x480 rounded to the "
          "model's patch: 480x480 at patch 8 and 16, 476x476 at DINOv2's patch 14)"},
         {"heads", "N", "attention heads of a non-standard checkpoint"},
         {"precision", "P", "DINO compute precision: fp32 (default) or bf16 (CPUs with AVX512_BF16/AMX)"},
         {"iters", "N", "training iterations (default: dinoseg's, 500)"},
         {"force", "", "overwrite --out"}}},
       davis},
  };
}

}  // namespace dinoclip::cli
