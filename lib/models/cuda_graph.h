// CUDA graphs for the fixed shapes a stream uses (issue 22).
//
// A ViT forward on the GPU at batch 1 is ~150 small kernels whose launch
// overhead is most of the frame's time. A CUDA graph records them once and
// replays them with one launch. A graph is only valid for the shapes, dtype,
// device and options it was captured with: GraphCache keys captured forwards
// by exactly those (GraphKey), captures a new one on first sight of a key,
// and keeps the most recently used few (each holds its activations' memory).
//
// Capture happens on a private stream, into a static input tensor; replay
// copies the caller's input into it on the caller's stream, replays there and
// returns copies of the static outputs (the next replay overwrites them).
// A capture that fails (an operation that cannot be captured, a driver
// refusal) is warned about once and that key runs eagerly from then on: the
// user's pipeline never fails because of a graph.
//
// The cache logic is independent of CUDA (a GraphCapturer makes the captured
// forwards), so it is tested on the CPU with a fake capturer.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dinoclip {

// What a captured graph is valid for: the input's shape, dtype and device,
// and the caller's variant (which outputs are wanted, tf32 or not, ...).
struct GraphKey {
  std::vector<int64_t> shape;
  c10::ScalarType dtype = c10::kFloat;
  c10::DeviceType device_type = c10::kCPU;
  int device_index = -1;
  uint32_t variant = 0;

  static GraphKey of(const at::Tensor& input, uint32_t variant);
  bool operator<(const GraphKey& other) const;
  bool operator==(const GraphKey& other) const;
  std::string describe() const;  // e.g. "[16, 3, 224, 224] BFloat16 on cuda:0, variant 1"
};

// The model's forward for one input: its outputs (undefined ones allowed).
using GraphForward = std::function<std::vector<at::Tensor>(const at::Tensor& input)>;

// A forward captured for one key.
class CapturedForward {
 public:
  virtual ~CapturedForward() = default;
  // The forward's outputs for `input`, as tensors the caller owns. `input`
  // has the captured shape, or fewer rows (dim 0) when the cache pads
  // batches: then the outputs are the first input.size(0) rows (samples are
  // independent, so the padding rows change nothing in them).
  virtual std::vector<at::Tensor> run(const at::Tensor& input) = 0;
};

// Captures `forward` for inputs like `example`; throws on failure. The
// captured forward keeps `forward` (and the tensors it holds) while it lives.
using GraphCapturer =
    std::function<std::unique_ptr<CapturedForward>(const at::Tensor& example, const GraphForward& forward)>;

// True when this build can capture CUDA graphs (a CUDA LibTorch 2 with the
// CUDA runtime headers at build time).
bool cuda_graphs_supported();

// The CUDA graph capturer (ATen's CUDAGraph). In a build without CUDA graph
// support it throws dinoclip::Error when called.
GraphCapturer cuda_graph_capturer();

// Whether a model on `device` replays graphs when its `enabled` option asks
// for them: only on CUDA, in a build that supports them.
bool use_cuda_graphs(bool enabled, const c10::Device& device);

struct GraphCacheStats {
  int64_t captures = 0;   // graphs captured
  int64_t replays = 0;    // runs served by a captured graph
  int64_t evictions = 0;  // graphs dropped to stay within the capacity
  int64_t failures = 0;   // captures that failed (those keys then run eagerly)
  int64_t eager = 0;      // runs that went eagerly because their key's capture had failed
};

class GraphCache {
 public:
  // A stream uses one input size and a few (padded) batch sizes: full
  // batches, and partial ones at 1, 2, 4, ...; 6 leaves room for those and a
  // size change without keeping every past shape's activations.
  static constexpr size_t kDefaultCapacity = 6;

  // warn: where capture failures are reported (default: stderr).
  // pad_batches: run a batch of n samples on the graph of the next power of
  // two (1, 2, 4, 8, ...): a stream whose batches are sometimes partial
  // (timeouts, async streams, the end of a file) then uses a few graphs
  // instead of capturing one per batch size and evicting them in turn. Only
  // for forwards whose samples are independent and whose outputs all have
  // the batch first.
  explicit GraphCache(size_t capacity = kDefaultCapacity, GraphCapturer capturer = cuda_graph_capturer(),
                      std::function<void(const std::string&)> warn = {}, bool pad_batches = false);

  // The batch size a batch of n runs at (n, or the next power of two when padding).
  int64_t padded_batch(int64_t n) const;

  // forward(input)'s outputs: replayed from the graph captured for input's
  // key (captured now if new, evicting the least recently used graph past the
  // capacity), or run eagerly when this key's capture failed. One caller at a
  // time is served (the cache holds a lock while running).
  std::vector<at::Tensor> run(const at::Tensor& input, uint32_t variant, const GraphForward& forward);

  GraphCacheStats stats() const;
  size_t size() const;  // graphs held
  bool contains(const GraphKey& key) const;
  // Keys held, most recently used first.
  std::vector<GraphKey> keys() const;
  void clear();

 private:
  size_t capacity_;
  GraphCapturer capturer_;
  std::function<void(const std::string&)> warn_;
  bool pad_batches_;
  mutable std::mutex mutex_;
  std::list<std::pair<GraphKey, std::unique_ptr<CapturedForward>>> graphs_;  // most recent first
  std::set<GraphKey> failed_;
  GraphCacheStats stats_;
};

}  // namespace dinoclip
