// A loaded model and the one worker thread that runs it. The model is only
// reachable from work the worker runs (call() / submit() hand it to the
// callable there), so no caller can use it concurrently.
#pragma once

#include <future>
#include <string>
#include <utility>

#include "runtime/model_worker.h"

namespace dinoclip::runtime {

template <typename Model>
class ModelInstance {
 public:
  using ModelBatchFunction = std::function<BatchOutputs(const Model&, const at::Tensor&)>;

  ModelInstance(Model model, BatchPolicy policy, std::function<void()> on_thread_start = {})
      : model_(std::move(model)), worker_(policy, std::move(on_thread_start)) {}

  ClientId new_client() { return worker_.new_client(); }

  // Runs job(model) alone on the worker thread.
  template <typename F>
  auto call(ClientId client, F job) {
    return worker_.call(client, [this, job = std::move(job)]() mutable { return job(model_); });
  }

  // A batch item (see ModelWorker::submit); run(model, batch) runs on the worker.
  std::future<BatchOutputs> submit(ClientId client, std::string batch_key, at::Tensor input,
                                   std::function<at::Tensor()> prepare, ModelBatchFunction run) {
    return worker_.submit(client, std::move(batch_key), std::move(input), std::move(prepare),
                          [this, run = std::move(run)](const at::Tensor& batch) { return run(model_, batch); });
  }

  // A frame item (see ModelWorker::submit_frame); prepare(frames) and
  // run(model, batch) run on the worker.
  std::future<BatchOutputs> submit_frame(ClientId client, std::string batch_key, FramePlanes frame,
                                         FrameBatchPrepare prepare, ModelBatchFunction run) {
    return worker_.submit_frame(client, std::move(batch_key), std::move(frame), std::move(prepare),
                                [this, run = std::move(run)](const at::Tensor& batch) { return run(model_, batch); });
  }

  size_t cancel_pending(ClientId client) { return worker_.cancel_pending(client); }
  void hurry(ClientId client) { worker_.hurry(client); }
  ModelWorker::Stats stats() const { return worker_.stats(); }
  const BatchPolicy& policy() const { return worker_.policy(); }

 private:
  const Model model_;
  ModelWorker worker_;  // declared after the model: stopped and joined before the model goes
};

}  // namespace dinoclip::runtime
