// bench: median time per forward pass, after warm-up.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "core/error.h"
#include "core/device.h"
#include "core/threads.h"
#include "kernels/cpu/matmul.h"
#include "models/clip.h"
#include "models/cuda_graph.h"
#include "models/dino.h"
#include "scale_option.h"
#include "tasks/video_index.h"
#include "text/bpe_tokenizer.h"
#include "text/vocab_path.h"
#include "vision/device_preprocess.h"
#include "vision/input_size.h"

namespace dinoclip::cli {
namespace {

struct Timing {
  double median_ms, min_ms, max_ms;
};

template <typename Fn>
Timing time_runs(int warmup, int iters, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back()};
}

void print_timing(const std::string& what, const Timing& t, int items = 1) {
  std::printf("%s: median %.1f ms/frame (%.2f frames/s), min %.1f ms, max %.1f ms\n", what.c_str(),
              t.median_ms / items, 1000.0 * items / t.median_ms, t.min_ms / items, t.max_ms / items);
  if (items > 1) std::printf("  (median %.1f ms per batch of %d)\n", t.median_ms, items);
}

ThreadConfig thread_config(const Args& args) {
  ThreadConfig config;
  config.aten_threads = args.get_int("threads", 0);
  config.blas_threads = args.get_int("blas-threads", 0);
  return config;
}

// --device cpu|cuda|cuda:N|auto (default cpu).
c10::Device bench_device(const Args& args) { return resolve_device(parse_device(args.get("device", "cpu"))); }

// --precision, checked against the device it will run on (bf16 needs
// AVX512_BF16/AMX on a CPU; fp16 and tf32 need a GPU).
c10::ScalarType precision(const Args& args, const c10::Device& device) {
  return resolve_precision(parse_precision(args.get("precision", "fp32")), device);
}

bool tf32(const Args& args) { return uses_tf32(parse_precision(args.get("precision", "fp32"))); }

// --NAME on|off (default on).
bool on_off(const Args& args, const std::string& name) {
  const std::string value = args.get(name, "on");
  if (value != "on" && value != "off") throw Error("--" + name + " must be on or off (got '" + value + "')");
  return value == "on";
}
bool cuda_graphs(const Args& args) { return on_off(args, "cuda-graphs"); }
bool fused_kernels(const Args& args) { return on_off(args, "fused-kernels"); }

std::string precision_label(const Args& args, c10::ScalarType dtype) {
  return tf32(args) ? std::string("TF32") : std::string(c10::toString(dtype));
}

// What the run did with CUDA graphs (on a GPU).
void print_graphs(const GraphCache* graphs, const c10::Device& device) {
  if (!device.is_cuda()) return;
  if (!graphs) {
    std::printf("CUDA graphs: off%s\n", cuda_graphs_supported() ? "" : " (this build cannot capture them)");
    return;
  }
  const GraphCacheStats s = graphs->stats();
  std::printf("CUDA graphs: %lld captured, %lld replays, %lld failed captures (those shapes ran eagerly)\n",
              static_cast<long long>(s.captures), static_cast<long long>(s.replays),
              static_cast<long long>(s.failures));
}

int batch_size(const Args& args, int fallback) {
  const int batch = args.get_int("batch", fallback);
  if (batch < 1) throw Error("--batch must be at least 1");
  return batch;
}

// With --scale-method the timed runs start from 8-bit frames (--frame WxH,
// default 1280x720, random pixels), preprocessed as an element would: the
// end-to-end time. Without it they start from a ready float input.
struct FrameInputs {
  bool enabled = false;
  ScaleMethod method = ScaleMethod::kExact;
  Image frame;
};

FrameInputs frame_inputs(const Args& args, const c10::Device& device) {
  FrameInputs inputs;
  if (!args.has("scale-method")) return inputs;
  inputs.enabled = true;
  inputs.method = scale_method_option(args, device);
  int width = 0, height = 0;
  const std::string size = args.get("frame", "1280x720");
  if (std::sscanf(size.c_str(), "%dx%d", &width, &height) != 2 || width < 1 || height < 1) {
    throw Error("--frame must be WxH, e.g. 1280x720 (got '" + size + "')");
  }
  inputs.frame = Image(width, height, 3);
  std::uint32_t state = 12345;  // any fixed pixels: the resize costs the same
  for (auto& p : inputs.frame.pixels) p = std::uint8_t((state = state * 1664525u + 1013904223u) >> 24);
  return inputs;
}

// `batch` copies of the frame's model input, made with `make(view)`.
template <typename Make>
at::Tensor batch_of_frames(const FrameInputs& inputs, int batch, Make make) {
  std::vector<at::Tensor> items;
  const ImageView view{inputs.frame.pixels.data(), inputs.frame.width, inputs.frame.height,
                       std::ptrdiff_t(inputs.frame.width) * 3, PixelFormat::kRGB};
  for (int i = 0; i < batch; ++i) items.push_back(make(view));
  return items.size() == 1 ? items.front() : at::cat(items, 0);
}

std::string describe_inputs(const FrameInputs& inputs) {
  if (!inputs.enabled) return "random float input (no preprocessing)";
  return std::to_string(inputs.frame.width) + "x" + std::to_string(inputs.frame.height) + " 8-bit frames, " +
         scale_method_name(inputs.method) + " preprocessing";
}

// GPU kernels run asynchronously: a timed run ends when the device is idle
// (a one-float copy back waits for everything queued before it).
void wait_for(const c10::Device& device) {
  if (!device.is_cpu()) at::empty({1}, at::TensorOptions().device(device)).cpu();
}

int bench_dino(const Args& args) {
  configure_threads(thread_config(args));
  DinoLoadOptions load;
  load.num_heads = args.get_int("heads", 0);
  load.pos_interpolation = parse_pos_interpolation(args.get("pos-interpolation", "auto"));
  load.device = bench_device(args);
  load.dtype = precision(args, load.device);
  load.tf32 = tf32(args);
  load.cuda_graphs = cuda_graphs(args);
  load.fused_kernels = fused_kernels(args);
  DinoModel model = DinoModel::load(args.require("weights"), load);
  const int batch = batch_size(args, 1);
  const ResolvedSize size = resolve_input_size(InputSize::parse(args.get("size", "224x224")), 0, 0,
                                               model.config().patch_size);
  const int iters = args.get_int("iters", 10);
  if (iters < 1) throw Error("--iters must be at least 1");
  at::Tensor input = at::randn({batch, 3, size.height, size.width}).to(load.device);
  const FrameInputs frames = frame_inputs(args, load.device);
  std::cout << model.describe() << ", " << size.width << "x" << size.height << ", tokens + CLS attention, "
            << precision_label(args, load.dtype) << " on " << load.device.str() << ", " << describe_inputs(frames)
            << "\nthreads: " << describe_threads() << "\n";
  print_timing(frames.enabled ? "dino preprocess + forward" : "dino forward", time_runs(2, iters, [&] {
                 if (frames.enabled) {
                   input = batch_of_frames(frames, batch, [&](const ImageView& view) {
                     return dino_input(view, size.height, size.width, frames.method, load.device);
                   });
                 }
                 model.forward(input);
                 wait_for(load.device);
               }),
               batch);
  print_graphs(model.cuda_graphs(), load.device);
  return 0;
}

int bench_clip(const Args& args) {
  configure_threads(thread_config(args));
  ClipLoadOptions load;
  load.device = bench_device(args);
  load.dtype = precision(args, load.device);
  load.tf32 = tf32(args);
  load.cuda_graphs = cuda_graphs(args);
  load.fused_kernels = fused_kernels(args);
  ClipModel model = ClipModel::load(args.require("weights"), load);
  BpeTokenizer tokenizer(find_vocab_file(args.get("vocab")));
  const int iters = args.get_int("iters", 10);
  if (iters < 1) throw Error("--iters must be at least 1");
  const int r = model.config().image_resolution;
  const FrameInputs frames = frame_inputs(args, load.device);
  std::cout << model.describe() << ", " << precision_label(args, load.dtype) << " on " << load.device.str() << ", "
            << describe_inputs(frames) << "\nthreads: " << describe_threads() << "\n";
  const std::vector<int> batches = args.has("batch") ? std::vector<int>{batch_size(args, 1)} : std::vector<int>{1, 8};
  for (int batch : batches) {
    at::Tensor images = at::randn({batch, 3, r, r}).to(load.device);
    print_timing("encode_image batch " + std::to_string(batch), time_runs(2, iters, [&] {
                   if (frames.enabled) {
                     images = batch_of_frames(frames, batch, [&](const ImageView& view) {
                       return clip_input(view, r, frames.method, load.device);
                     });
                   }
                   model.encode_image(images);
                   wait_for(load.device);
                 }),
                 batch);
  }
  // The research notebook's zero-shot labels.
  const std::vector<std::string> labels = {"a person", "an animal", "food", "a landscape", "other"};
  at::Tensor tokens = tokenizer.tokenize(labels);
  Timing text = time_runs(2, iters, [&] {
    model.encode_text(tokens);
    wait_for(load.device);
  });
  std::printf("encode_text %zu labels: median %.1f ms, min %.1f ms, max %.1f ms\n", labels.size(), text.median_ms,
              text.min_ms, text.max_ms);
  print_graphs(model.cuda_graphs(), load.device);
  return 0;
}

// Text-to-video search: one query against an index (--index IDX, or random
// unit rows, 100,000 x 512 by default), i.e. one matrix-vector product + top-k.
int bench_search(const Args& args) {
  configure_threads(thread_config(args));
  const int iters = args.get_int("iters", 30), k = args.get_int("k", 5);
  if (iters < 1 || k < 1) throw Error("bench search: --iters and -k must be at least 1");
  std::unique_ptr<VideoIndex> index;
  if (args.has("index")) {
    const auto start = std::chrono::steady_clock::now();
    index = std::make_unique<VideoIndex>(VideoIndex::load(args.get("index")));
    std::printf("loaded %s: %lld frames, %lld-d, in %.0f ms\n", args.get("index").c_str(),
                static_cast<long long>(index->size()), static_cast<long long>(index->model().embed_dim),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  } else {
    const int rows = args.get_int("rows", 100000), dim = args.get_int("dim", 512);
    if (rows < 1 || dim < 1) throw Error("bench search: --rows and --dim must be at least 1");
    IndexModel model;
    model.name = "random";
    model.embed_dim = dim;
    index = std::make_unique<VideoIndex>(model);
    at::manual_seed(0);
    index->append_video({"random", ""}, std::vector<VideoIndex::FrameStamp>(size_t(rows), {0, 0, 0}),
                        at::randn({rows, dim}));
  }
  std::cout << "threads: " << describe_threads() << "\n";
  const at::Tensor queries = at::randn({iters + 2, index->model().embed_dim});
  int next = 0;
  const Timing t = time_runs(2, iters, [&] { index->search(queries[next++], k); });
  std::printf("search %lld x %lld, top-%d: median %.2f ms, min %.2f ms, max %.2f ms\n",
              static_cast<long long>(index->size()), static_cast<long long>(index->model().embed_dim), k, t.median_ms,
              t.min_ms, t.max_ms);
  return 0;
}

// The matmul floor: the four linear layers of a ViT block (dim D, MLP
// hidden 4D) on `--rows` tokens through the same oneDNN kernels the models
// use, in GFLOP/s. A model's FLOPs divided by this rate is the time its
// matrix products alone would take at this speed.
int bench_matmul(const Args& args) {
  configure_threads(thread_config(args));
  if (!cpu::available()) throw Error("bench matmul: built without oneDNN (or DINOCLIP_CPU_KERNELS=aten)");
  const int rows = args.get_int("rows", 785), dim = args.get_int("dim", 384), iters = args.get_int("iters", 20);
  if (rows < 1 || dim < 1 || iters < 1) throw Error("bench matmul: --rows, --dim and --iters must be at least 1");
  std::cout << "threads: " << describe_threads() << "\n";
  std::vector<c10::ScalarType> dtypes = {at::kFloat};
  if (cpu_has_native_bf16()) dtypes.push_back(at::kBFloat16);
  const std::vector<std::pair<int, int>> shapes = {{dim, 3 * dim}, {dim, dim}, {dim, 4 * dim}, {4 * dim, dim}};
  for (c10::ScalarType dtype : dtypes) {
    double total_flops = 0, total_ms = 0;
    for (const auto& [in, out] : shapes) {
      cpu::PackedLinear linear(at::randn({out, in}) * 0.05, at::randn({out}), dtype);
      const at::Tensor x = at::randn({rows, in}).to(dtype);
      at::Tensor y = at::empty({rows, out});
      const Timing t = time_runs(3, iters, [&] { linear.run(x, y); });
      const double flops = 2.0 * rows * in * out;
      total_flops += flops;
      total_ms += t.median_ms;
      std::printf("%s %dx%d by %dx%d: median %.3f ms, %.0f GFLOP/s\n", c10::toString(dtype), rows, in, in, out,
                  t.median_ms, flops / t.median_ms / 1e6);
    }
    std::printf("%s block products: %.0f GFLOP/s\n", c10::toString(dtype), total_flops / total_ms / 1e6);
  }
  return 0;
}

int bench(const Args& args) {
  if (args.positionals().size() != 1) throw Error("usage: dinoclip bench dino|clip|search|matmul [--weights W]");
  const std::string what = args.positionals()[0];
  if (what == "dino") return bench_dino(args);
  if (what == "clip") return bench_clip(args);
  if (what == "search") return bench_search(args);
  if (what == "matmul") return bench_matmul(args);
  throw Error("bench: unknown benchmark '" + what + "' (use dino, clip, search or matmul)");
}

}  // namespace

std::vector<Command> bench_commands() {
  CommandSpec spec{"bench", "time the model forward pass (median over --iters after 2 warm-up runs)",
                   "dino|clip --weights W [--size 224x224] [--device cpu|cuda|cuda:N] [--vocab V]\n"
                   "       [--precision fp32|tf32|bf16|fp16] [--batch N] [--iters N] [--threads N] [--blas-threads N]\n"
                   "       [--cuda-graphs on|off] [--fused-kernels on|off]\n"
                   "       [--scale-method exact|fast [--frame 1280x720]]\n"
                   "       dinoclip bench search [--index IDX | --rows 100000 --dim 512] [-k 5] [--iters N]\n"
                   "       dinoclip bench matmul [--rows 785 --dim 384] [--iters N]",
                   {{"weights", "W", "checkpoint"},
                    {"vocab", "V", "CLIP vocabulary (bench clip)"},
                    {"size", "WxH", "input size (default 224x224)"},
                    {"iters", "N", "timed runs (default 10)"},
                    {"precision", "P",
                     "fp32 (default), tf32 (GPU: fp32 with TF32 tensor-core products), bf16 (GPU, or CPUs with "
                     "AVX512_BF16/AMX) or fp16 (GPU)"},
                    {"cuda-graphs", "on|off", "on a GPU: replay one CUDA graph per input shape (default on)"},
                    {"fused-kernels", "on|off", "on a GPU: MLP bias + activation fused into the products (default on)"},
                    {"batch", "N", "images per forward (default: dino 1, clip 1 and 8)"},
                    {"device", "D", "cpu (default), cuda, cuda:N or auto; GPU runs are timed to completion"},
                    {"heads", "N", "attention heads (default: from the checkpoint, else the width)"},
                    {"pos-interpolation", "auto|offset|antialias", "DINOv2 position-embedding resize (default auto)"},
                    {kScaleMethod.name, kScaleMethod.value,
                     "also time making the inputs from 8-bit frames: " + kScaleMethod.help},
                    {"frame", "WxH", "with --scale-method: the frame size (default 1280x720)"},
                    {"threads", "N", "ATen intra-op threads (default: all cores)"},
                    {"blas-threads", "N", "OpenBLAS threads (default: OpenBLAS's own)"},
                    {"index", "IDX", "bench search: a video index folder (default: random rows)"},
                    {"rows", "N", "bench search: random index rows (default 100000); matmul: tokens (785)"},
                    {"dim", "N", "bench search: random index embedding size (default 512); matmul: width (384)"},
                    {"k", "N", "bench search: results per query (default 5)"}},
                   /*takes_positionals=*/true};
  return {{spec, bench}};
}

}  // namespace dinoclip::cli
