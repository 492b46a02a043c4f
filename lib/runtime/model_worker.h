// One thread that runs every call on one model instance, so that two calls on
// the same model can never overlap: the model's one-thread contract holds by
// construction, whoever asks (several elements, several streams, a query from
// another thread).
//
// Work arrives as requests from clients (one per element / stream):
// - batch items: one input each ([1, ...]) and a batch key. Items with equal
//   keys (same input size and options) are stacked into one [B, ...] batch of
//   at most `max_batch`, waiting at most `timeout` after the oldest one arrived
//   for the batch to fill. Each item gets its own slice of the result.
// - frame items: one video frame each (vision/frame_planes.h) and a batch
//   key; batched as above, and the whole batch's input is made from its
//   frames in one call on the worker (conversion, resize and normalisation in
//   one pass on the model's device).
// - jobs: any callable, run alone (loading-time work, a picture's features,
//   text encodings).
// Results come back as std::futures. A client's requests start in the order it
// made them. cancel_pending() drops a client's requests that have not started
// (their futures fail with RequestCancelled), so a stream that flushes or ends
// never waits for the others' work.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "runtime/outputs_ready.h"
#include "vision/frame_planes.h"

namespace dinoclip::runtime {

// What a future of a cancelled request throws.
class RequestCancelled : public Error {
 public:
  RequestCancelled() : Error("inference request cancelled (its stream flushed, ended or replaced it)") {}
};

struct BatchPolicy {
  int max_batch = 1;                         // >= 1
  std::chrono::microseconds timeout{0};      // how long the oldest item may wait for the batch to fill
};

// Per batch item: the model's outputs, each with a leading dimension of 1
// (undefined stays undefined).
struct BatchOutputs : std::vector<at::Tensor> {
  using std::vector<at::Tensor>::vector;
  // On a GPU: passes once these tensors are written on the worker's stream;
  // a reader on another thread waits for it (runtime/outputs_ready.h) before
  // using them. Null on the CPU.
  std::shared_ptr<const OutputsReady> ready;
};

// Runs the model on a stacked batch [B, ...]; returns tensors of leading size B.
using BatchFunction = std::function<BatchOutputs(const at::Tensor& batch)>;

// Makes the input [B, ...] of a batch of frame items from their frames (in
// the items' order), on the worker thread.
using FrameBatchPrepare = std::function<at::Tensor(std::vector<FramePlanes> frames)>;

using ClientId = uint64_t;

class ModelWorker {
 public:
  // `on_thread_start` runs first on the worker thread (thread-local settings such
  // as LibTorch's intra-op pool size belong to the thread that runs the model).
  explicit ModelWorker(BatchPolicy policy, std::function<void()> on_thread_start = {});
  ModelWorker(const ModelWorker&) = delete;
  ModelWorker& operator=(const ModelWorker&) = delete;
  // Cancels what has not started, waits for what has.
  ~ModelWorker();

  ClientId new_client();

  // A batch item. `input` is [1, ...]; or leave it undefined and give `prepare`,
  // which makes it on the worker thread (keeps preprocessing off a live stream).
  // `run` is used for the whole batch: items with the same key must mean the same
  // computation. Throws dinoclip::Error for a bad policy-independent request.
  std::future<BatchOutputs> submit(ClientId client, std::string batch_key, at::Tensor input,
                                   std::function<at::Tensor()> prepare, BatchFunction run);

  // A frame item. Items with the same key are batched and must mean the same
  // `prepare` and `run`; the frame (and its keep_alive) is handed to `prepare`
  // and dropped with it, or when the request is cancelled.
  std::future<BatchOutputs> submit_frame(ClientId client, std::string batch_key, FramePlanes frame,
                                         FrameBatchPrepare prepare, BatchFunction run);

  // A job, run alone on the worker thread.
  template <typename F>
  auto call(ClientId client, F job) -> std::future<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    auto promise = std::make_shared<std::promise<R>>();
    std::future<R> result = promise->get_future();
    enqueue_job(
        client,
        [promise, job = std::move(job)]() mutable {
          try {
            if constexpr (std::is_void_v<R>) {
              job();
              promise->set_value();
            } else {
              promise->set_value(job());
            }
          } catch (...) {
            promise->set_exception(std::current_exception());
          }
        },
        [promise] { promise->set_exception(std::make_exception_ptr(RequestCancelled())); });
    return result;
  }

  // Drops `client`'s requests that have not started; returns how many.
  size_t cancel_pending(ClientId client);

  // `client`'s waiting items run as soon as the worker is free, without waiting
  // for their batch to fill (a stream that ends never waits for the others).
  void hurry(ClientId client);

  const BatchPolicy& policy() const { return policy_; }

  // Observability for tests and benchmarks.
  struct Stats {
    uint64_t batches = 0;        // model runs of batch items
    uint64_t items = 0;          // batch items run
    uint64_t frame_batches = 0;  // batches whose input was made from their frames in one pass
    uint64_t jobs = 0;
    uint64_t cancelled = 0;
    int largest_batch = 0;
  };
  Stats stats() const;

 private:
  struct Request;

  void enqueue_job(ClientId client, std::function<void()> run, std::function<void()> cancel);
  void enqueue(std::unique_ptr<Request> request);
  void run_loop();
  std::vector<std::unique_ptr<Request>> take_batch(std::unique_lock<std::mutex>& lock);
  void run_batch(std::vector<std::unique_ptr<Request>> batch);
  at::Tensor prepare_inputs(std::vector<std::unique_ptr<Request>>& batch, std::vector<std::unique_ptr<Request>>& ready);

  const BatchPolicy policy_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Request>> queue_;
  bool stopping_ = false;
  ClientId next_client_ = 1;
  Stats stats_;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace dinoclip::runtime
