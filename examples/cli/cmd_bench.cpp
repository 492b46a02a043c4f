// bench: median time per forward pass, after warm-up.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "core/threads.h"
#include "models/clip.h"
#include "models/dino.h"
#include "text/bpe_tokenizer.h"
#include "text/vocab_path.h"
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

int bench_dino(const Args& args) {
  configure_threads(thread_config(args));
  DinoLoadOptions load;
  load.num_heads = args.get_int("heads", 0);
  DinoModel model = DinoModel::load(args.require("weights"), load);
  const ResolvedSize size = resolve_input_size(InputSize::parse(args.get("size", "224x224")), 0, 0,
                                               model.config().patch_size);
  const int iters = args.get_int("iters", 10);
  if (iters < 1) throw Error("--iters must be at least 1");
  at::Tensor input = at::randn({1, 3, size.height, size.width});
  std::cout << model.describe() << ", " << size.width << "x" << size.height << ", tokens + CLS attention\n"
            << "threads: " << describe_threads() << "\n";
  print_timing("dino forward", time_runs(2, iters, [&] { model.forward(input); }));
  return 0;
}

int bench_clip(const Args& args) {
  configure_threads(thread_config(args));
  ClipModel model = ClipModel::load(args.require("weights"));
  BpeTokenizer tokenizer(find_vocab_file(args.get("vocab")));
  const int iters = args.get_int("iters", 10);
  if (iters < 1) throw Error("--iters must be at least 1");
  const int r = model.config().image_resolution;
  std::cout << model.describe() << "\nthreads: " << describe_threads() << "\n";
  for (int batch : {1, 8}) {
    at::Tensor images = at::randn({batch, 3, r, r});
    print_timing("encode_image batch " + std::to_string(batch),
                 time_runs(2, iters, [&] { model.encode_image(images); }), batch);
  }
  // The research notebook's zero-shot labels.
  const std::vector<std::string> labels = {"a person", "an animal", "food", "a landscape", "other"};
  at::Tensor tokens = tokenizer.tokenize(labels);
  Timing text = time_runs(2, iters, [&] { model.encode_text(tokens); });
  std::printf("encode_text %zu labels: median %.1f ms, min %.1f ms, max %.1f ms\n", labels.size(), text.median_ms,
              text.min_ms, text.max_ms);
  return 0;
}

int bench(const Args& args) {
  if (args.positionals().size() != 1) throw Error("usage: dinoclip bench dino|clip --weights W");
  const std::string what = args.positionals()[0];
  if (what == "dino") return bench_dino(args);
  if (what == "clip") return bench_clip(args);
  throw Error("bench: unknown model '" + what + "' (use dino or clip)");
}

}  // namespace

std::vector<Command> bench_commands() {
  CommandSpec spec{"bench", "time the model forward pass (median over --iters after 2 warm-up runs)",
                   "dino|clip --weights W [--size 224x224] [--vocab V] [--iters N] [--threads N] [--blas-threads N]",
                   {{"weights", "W", "checkpoint"},
                    {"vocab", "V", "CLIP vocabulary (bench clip)"},
                    {"size", "WxH", "input size (default 224x224)"},
                    {"iters", "N", "timed runs (default 10)"},
                    {"heads", "N", "attention heads (default: from the width)"},
                    {"threads", "N", "ATen intra-op threads (default: all cores)"},
                    {"blas-threads", "N", "OpenBLAS threads (default: OpenBLAS's own)"}},
                   /*takes_positionals=*/true};
  return {{spec, bench}};
}

}  // namespace dinoclip::cli
