#include "models/cuda_graph.h"

#include <ATen/ATen.h>
#include <c10/core/Stream.h>
#include <c10/core/StreamGuard.h>

#include <iostream>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "core/user_message.h"

#ifdef DINOCLIP_WITH_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace dinoclip {

GraphKey GraphKey::of(const at::Tensor& input, uint32_t variant) {
  GraphKey key;
  key.shape = input.sizes().vec();
  key.dtype = input.scalar_type();
  key.device_type = input.device().type();
  key.device_index = input.device().index();
  key.variant = variant;
  return key;
}

bool GraphKey::operator<(const GraphKey& o) const {
  return std::tie(shape, dtype, device_type, device_index, variant) <
         std::tie(o.shape, o.dtype, o.device_type, o.device_index, o.variant);
}

bool GraphKey::operator==(const GraphKey& o) const { return !(*this < o) && !(o < *this); }

std::string GraphKey::describe() const {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "] " << c10::toString(dtype) << " on " << c10::Device(device_type, c10::DeviceIndex(device_index))
      << ", variant " << variant;
  return out.str();
}

#ifdef DINOCLIP_WITH_CUDA_GRAPHS
namespace {

// Only LibTorch's exported functions are called here (no CUDA runtime call
// of our own): the binaries then need no libcudart of their own, and find
// LibTorch's wherever the PyTorch install keeps it.
class CudaCapturedForward : public CapturedForward {
 public:
  // `forward` is kept: the tensors it holds (weights, position embeddings)
  // are read by the graph through their addresses and must outlive it.
  CudaCapturedForward(const at::Tensor& example, const GraphForward& forward) : forward_(forward) {
    const c10::DeviceIndex index = example.device().index();
    static_input_ = example.contiguous().clone();
    // The input copy (and whatever made `example`) must be done before the
    // private stream reads it; captures are rare, a full wait is fine.
    c10::Stream caller = c10::cuda::getCurrentCUDAStream(index).unwrap();
    caller.synchronize();
    c10::Stream side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index).unwrap();
    {
      c10::StreamGuard on_side(side);
      // One eager run first, outside the capture: cuBLAS handles and
      // workspaces, attention kernel choices and other lazy set-up allocate
      // or synchronise, which a capture forbids.
      forward_(static_input_);
      side.synchronize();
      // Thread-local capture mode: other threads (other streams' models) may
      // go on with their own CUDA work meanwhile.
      graph_.capture_begin(/*pool=*/{0, 0}, cudaStreamCaptureModeThreadLocal);
      try {
        outputs_ = forward_(static_input_);
      } catch (...) {
        try {
          graph_.capture_end();  // ends the stream's capture state; the graph is dropped
        } catch (...) {
        }
        throw;
      }
      graph_.capture_end();
    }
  }

  std::vector<at::Tensor> run(const at::Tensor& input) override {
    // On the caller's stream, as the replay and the copies below. Padding
    // rows keep whatever they held: they touch no other row.
    const int64_t rows = input.size(0);
    static_input_.narrow(0, 0, rows).copy_(input);
    graph_.replay();
    std::vector<at::Tensor> out;
    out.reserve(outputs_.size());
    for (const at::Tensor& t : outputs_) out.push_back(t.defined() ? t.narrow(0, 0, rows).clone() : t);
    return out;
  }

 private:
  GraphForward forward_;
  at::Tensor static_input_;
  std::vector<at::Tensor> outputs_;
  at::cuda::CUDAGraph graph_;
};

}  // namespace

bool cuda_graphs_supported() { return true; }

GraphCapturer cuda_graph_capturer() {
  return [](const at::Tensor& example, const GraphForward& forward) -> std::unique_ptr<CapturedForward> {
    if (!example.is_cuda()) throw Error("CUDA graphs need a CUDA input, got one on " + example.device().str());
    return std::make_unique<CudaCapturedForward>(example, forward);
  };
}
#else
bool cuda_graphs_supported() { return false; }

GraphCapturer cuda_graph_capturer() {
  return [](const at::Tensor&, const GraphForward&) -> std::unique_ptr<CapturedForward> {
    throw Error("this dinoclip was built without CUDA graph support (a CPU LibTorch, or no CUDA runtime headers "
                "at build time: configure with -Dcudart_headers=/path/to/cuda/include)");
  };
}
#endif

bool use_cuda_graphs(bool enabled, const c10::Device& device) {
  return enabled && device.is_cuda() && cuda_graphs_supported();
}

GraphCache::GraphCache(size_t capacity, GraphCapturer capturer, std::function<void(const std::string&)> warn,
                       bool pad_batches)
    : capacity_(capacity), capturer_(std::move(capturer)), warn_(std::move(warn)), pad_batches_(pad_batches) {
  if (capacity_ == 0) throw Error("CUDA graph cache: the capacity must be at least 1 graph");
  if (!warn_) warn_ = [](const std::string& message) { std::cerr << "dinoclip: warning: " << message << "\n"; };
}

int64_t GraphCache::padded_batch(int64_t n) const {
  if (!pad_batches_ || n <= 1) return n;
  int64_t padded = 1;
  while (padded < n) padded *= 2;
  return padded;
}

std::vector<at::Tensor> GraphCache::run(const at::Tensor& input, uint32_t variant, const GraphForward& forward) {
  std::lock_guard<std::mutex> lock(mutex_);
  GraphKey key = GraphKey::of(input, variant);
  if (input.dim() > 0) key.shape[0] = padded_batch(input.size(0));
  for (auto it = graphs_.begin(); it != graphs_.end(); ++it) {
    if (it->first == key) {
      graphs_.splice(graphs_.begin(), graphs_, it);  // most recently used first
      ++stats_.replays;
      return graphs_.front().second->run(input);
    }
  }
  if (failed_.count(key)) {
    ++stats_.eager;
    return forward(input);
  }
  std::unique_ptr<CapturedForward> captured;
  try {
    // Free the least recently used graph first: its memory may be what the
    // new capture needs.
    while (graphs_.size() >= capacity_) {
      graphs_.pop_back();
      ++stats_.evictions;
    }
    at::Tensor example = input;
    if (input.dim() > 0 && key.shape[0] != input.size(0)) {
      // Zero samples pad the capture's input (LayerNorm and softmax stay finite on them).
      example = at::zeros(key.shape, input.options());
      example.narrow(0, 0, input.size(0)).copy_(input);
    }
    captured = capturer_(example, forward);
  } catch (const std::exception& e) {
    ++stats_.failures;
    // Bounded: a stream cycling through many shapes must not grow this.
    if (failed_.size() >= 64) failed_.clear();
    failed_.insert(key);
    warn_("CUDA graph capture failed for input " + key.describe() + "; this shape runs without graphs (" +
          user_message(e) + ")");
    ++stats_.eager;
    return forward(input);
  }
  ++stats_.captures;
  graphs_.emplace_front(key, std::move(captured));
  ++stats_.replays;
  return graphs_.front().second->run(input);
}

GraphCacheStats GraphCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

size_t GraphCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return graphs_.size();
}

bool GraphCache::contains(const GraphKey& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& entry : graphs_)
    if (entry.first == key) return true;
  return false;
}

std::vector<GraphKey> GraphCache::keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<GraphKey> out;
  for (const auto& entry : graphs_) out.push_back(entry.first);
  return out;
}

void GraphCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  graphs_.clear();
  failed_.clear();
}

}  // namespace dinoclip
