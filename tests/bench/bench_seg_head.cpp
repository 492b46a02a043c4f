// Segmentation costs at DINO ViT-S/8's 480x480 size, a 60x60 patch grid
// (3600 patches x 384 features), 2 classes: head training (the default 500
// full-batch AdamW steps, linear and MLP head) and label propagation per
// frame (default config: reference + 7 previous frames). Not a test: run
// `meson test -C <build> --benchmark seg-head` or the executable directly
// (optional arguments: repetitions, default 3, the median is reported; MLP
// hidden width, default SegHeadConfig's).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/threads.h"
#include "tasks/propagation.h"
#include "tasks/seg_head.h"

namespace {

using dinoclip::HeadKind;
using dinoclip::SegHead;
using dinoclip::SegHeadConfig;

constexpr int64_t kPatches = 60 * 60;
constexpr int64_t kDim = 384;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int repetitions = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const int hidden = argc > 2 ? std::max(1, std::atoi(argv[2])) : SegHeadConfig{}.hidden;
  dinoclip::configure_threads();  // the project's default, as the CLI and the elements use
  at::Generator gen = at::detail::createCPUGenerator(0);
  const at::Tensor features = at::empty({kPatches, kDim}).normal_(0, 1, gen);
  // A disc-shaped "object" in the middle of the grid.
  const at::Tensor index = at::arange(kPatches, at::kLong);
  const at::Tensor row = index.div(60, "floor") - 30, col = index.remainder(60) - 30;
  const at::Tensor ids = (row * row + col * col < 15 * 15).to(at::kLong);
  std::printf("seg head training: %lld patches x %lld features, 2 classes; threads: %s\n", (long long)kPatches,
              (long long)kDim, dinoclip::describe_threads().c_str());
  for (HeadKind kind : {HeadKind::kLinear, HeadKind::kMlp}) {
    SegHeadConfig config;
    config.kind = kind;
    config.hidden = hidden;
    std::vector<double> ms;
    double loss = 0;
    for (int r = 0; r < repetitions; ++r) {
      const SegHead head = SegHead::train(features, ids, config);
      ms.push_back(head.report().milliseconds);
      loss = head.report().final_loss;
    }
    std::printf("  %-6s (hidden %d) %d iterations: median %.0f ms over %d runs (final loss %.4f)\n",
                dinoclip::head_kind_name(kind), kind == HeadKind::kMlp ? config.hidden : 0, config.num_iters,
                median(ms), repetitions, loss);
  }
  dinoclip::LabelPropagator propagator;
  propagator.set_reference(features, at::one_hot(ids, 2).to(at::kFloat), 60, 60);
  std::vector<double> ms;
  for (int frame = 0; frame < 8 + repetitions; ++frame) {
    const at::Tensor next = features + 0.1 * at::empty_like(features).normal_(0, 1, gen);
    const auto start = std::chrono::steady_clock::now();
    propagator.propagate(next);
    // The first 8 fill the context queue; time only full-context frames.
    if (frame >= 8)
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::printf("  propagation, 8 context frames, top-5, radius 12: median %.0f ms per frame over %d frames\n",
              median(ms), repetitions);
  return 0;
}
