#include "runtime/model_worker.h"

#include <ATen/ATen.h>

#include <set>
#include <utility>

#include "core/threads.h"

namespace dinoclip::runtime {

using Clock = std::chrono::steady_clock;

struct ModelWorker::Request {
  ClientId client = 0;
  Clock::time_point arrived = Clock::now();
  bool is_job = false;
  bool urgent = false;  // hurry(): run without waiting for the batch to fill
  // A job.
  std::function<void()> run_job;
  std::function<void()> cancel_job;
  // A batch item.
  std::string key;
  at::Tensor input;
  std::function<at::Tensor()> prepare;
  // A frame item.
  FramePlanes frame;
  FrameBatchPrepare prepare_frames;
  BatchFunction run;
  std::promise<BatchOutputs> promise;

  void cancel() {
    if (is_job) {
      cancel_job();
    } else {
      promise.set_exception(std::make_exception_ptr(RequestCancelled()));
    }
  }
};

ModelWorker::ModelWorker(BatchPolicy policy, std::function<void()> on_thread_start) : policy_(policy) {
  if (policy_.max_batch < 1) throw Error("batch size must be at least 1, got " + std::to_string(policy_.max_batch));
  if (policy_.timeout.count() < 0) throw Error("batch timeout must not be negative");
  thread_ = std::thread([this, start = std::move(on_thread_start)] {
    // A new thread starts from OpenMP's global default, which in a GStreamer
    // process here was one thread: ViT-S/8 at 224 ran at 2.0 frames/s on the
    // worker against 3.6 with two. So the library's default first (as the CLI
    // gets it); the instance's own setting (`threads`) then applies on top.
    configure_threads();
    if (start) {
      try {
        start();
      } catch (...) {
        // Thread settings are an optimisation; the model runs without them.
      }
    }
    run_loop();
  });
}

ModelWorker::~ModelWorker() {
  std::deque<std::unique_ptr<Request>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  changed_.notify_all();
  for (auto& request : dropped) request->cancel();
  thread_.join();
}

ClientId ModelWorker::new_client() {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_client_++;
}

std::future<BatchOutputs> ModelWorker::submit(ClientId client, std::string batch_key, at::Tensor input,
                                              std::function<at::Tensor()> prepare, BatchFunction run) {
  if (!input.defined() && !prepare) throw Error("an inference request needs an input or a way to make one");
  if (input.defined() && (input.dim() == 0 || input.size(0) != 1)) {
    throw Error("an inference request holds one item: input must be [1, ...]");
  }
  auto request = std::make_unique<Request>();
  request->client = client;
  request->key = std::move(batch_key);
  request->input = std::move(input);
  request->prepare = std::move(prepare);
  request->run = std::move(run);
  std::future<BatchOutputs> result = request->promise.get_future();
  enqueue(std::move(request));
  return result;
}

std::future<BatchOutputs> ModelWorker::submit_frame(ClientId client, std::string batch_key, FramePlanes frame,
                                                    FrameBatchPrepare prepare, BatchFunction run) {
  if (!prepare) throw Error("a frame inference request needs a way to make the batch's input");
  auto request = std::make_unique<Request>();
  request->client = client;
  request->key = std::move(batch_key);
  request->frame = std::move(frame);
  request->prepare_frames = std::move(prepare);
  request->run = std::move(run);
  std::future<BatchOutputs> result = request->promise.get_future();
  enqueue(std::move(request));
  return result;
}

void ModelWorker::enqueue_job(ClientId client, std::function<void()> run, std::function<void()> cancel) {
  auto request = std::make_unique<Request>();
  request->client = client;
  request->is_job = true;
  request->run_job = std::move(run);
  request->cancel_job = std::move(cancel);
  enqueue(std::move(request));
}

void ModelWorker::enqueue(std::unique_ptr<Request> request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(request));
      request = nullptr;
    }
  }
  if (request) {
    request->cancel();  // the worker is shutting down
    return;
  }
  changed_.notify_all();
}

size_t ModelWorker::cancel_pending(ClientId client) {
  std::vector<std::unique_ptr<Request>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->client == client) {
        dropped.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    stats_.cancelled += dropped.size();
  }
  changed_.notify_all();  // the oldest item may have gone: the worker recomputes its deadline
  for (auto& request : dropped) request->cancel();
  return dropped.size();
}

void ModelWorker::hurry(ClientId client) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& request : queue_) {
      if (request->client == client) request->urgent = true;
    }
  }
  changed_.notify_all();
}

ModelWorker::Stats ModelWorker::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

namespace {

// Indices of the queued items that may run with the front one: same key, and
// no client's item jumps over an earlier item of the same client.
template <typename Queue>
std::vector<size_t> compatible_with_front(const Queue& queue, int max_batch) {
  std::vector<size_t> chosen{0};
  std::set<ClientId> blocked;
  const std::string& key = queue.front()->key;
  const bool frames = bool(queue.front()->prepare_frames);
  for (size_t i = 1; i < queue.size() && int(chosen.size()) < max_batch; ++i) {
    const auto& request = *queue[i];
    if (!request.is_job && request.key == key && bool(request.prepare_frames) == frames &&
        !blocked.count(request.client)) {
      chosen.push_back(i);
    } else {
      blocked.insert(request.client);
    }
  }
  return chosen;
}

// Where the model left its outputs (the CPU when it left none).
c10::Device output_device(const BatchOutputs& outputs) {
  for (const at::Tensor& output : outputs) {
    if (output.defined()) return output.device();
  }
  return c10::Device(c10::kCPU);
}

}  // namespace

std::vector<std::unique_ptr<ModelWorker::Request>> ModelWorker::take_batch(std::unique_lock<std::mutex>& lock) {
  std::vector<size_t> chosen;
  for (;;) {
    if (queue_.empty()) return {};
    if (queue_.front()->is_job) {
      std::vector<std::unique_ptr<Request>> job;
      job.push_back(std::move(queue_.front()));
      queue_.pop_front();
      return job;
    }
    chosen = compatible_with_front(queue_, policy_.max_batch);
    if (int(chosen.size()) >= policy_.max_batch || stopping_) break;
    bool urgent = false;
    for (size_t index : chosen) urgent = urgent || queue_[index]->urgent;
    if (urgent) break;
    const Clock::time_point deadline = queue_.front()->arrived + policy_.timeout;
    if (Clock::now() >= deadline) break;
    changed_.wait_until(lock, deadline);  // then look again: items may have come or gone
  }
  std::vector<std::unique_ptr<Request>> batch;
  for (size_t index : chosen) batch.push_back(std::move(queue_[index]));
  for (auto it = chosen.rbegin(); it != chosen.rend(); ++it) queue_.erase(queue_.begin() + long(*it));
  return batch;
}

void ModelWorker::run_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_ && queue_.empty()) return;
    std::vector<std::unique_ptr<Request>> batch = take_batch(lock);
    if (batch.empty()) continue;
    lock.unlock();
    run_batch(std::move(batch));
    lock.lock();
  }
}

// The batch's stacked input; `ready` receives the items it holds (the others
// have failed).
at::Tensor ModelWorker::prepare_inputs(std::vector<std::unique_ptr<Request>>& batch,
                                       std::vector<std::unique_ptr<Request>>& ready) {
  if (batch.front()->prepare_frames) {
    // One pass for the whole batch; if it fails, every item fails with it.
    std::vector<FramePlanes> frames;
    for (auto& request : batch) frames.push_back(std::move(request->frame));
    try {
      at::Tensor stacked = batch.front()->prepare_frames(std::move(frames));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.frame_batches;
      }
      ready = std::move(batch);
      return stacked;
    } catch (...) {
      for (auto& request : batch) request->promise.set_exception(std::current_exception());
      return {};
    }
  }
  // Inputs made here when the client asked for it; an item whose input fails
  // fails alone.
  std::vector<at::Tensor> inputs;
  for (auto& request : batch) {
    try {
      if (!request->input.defined()) request->input = request->prepare();
      inputs.push_back(request->input);
      ready.push_back(std::move(request));
    } catch (...) {
      request->promise.set_exception(std::current_exception());
    }
  }
  if (inputs.empty()) return {};
  // One item runs on its own input, exactly as an unbatched call would.
  return inputs.size() == 1 ? inputs.front() : at::cat(inputs, 0);
}

void ModelWorker::run_batch(std::vector<std::unique_ptr<Request>> batch) {
  if (batch.front()->is_job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.jobs;  // counted before its caller can see the result
    }
    batch.front()->run_job();  // the job's own wrapper stores any exception in its future
    return;
  }
  std::vector<std::unique_ptr<Request>> ready;
  const at::Tensor stacked = prepare_inputs(batch, ready);
  if (ready.empty()) return;
  BatchOutputs outputs;
  std::exception_ptr failure;
  try {
    outputs = ready.front()->run(stacked);
  } catch (...) {
    failure = std::current_exception();
  }
  // Counted before any client is answered: a client that reads the stats
  // right after its result must see its own batch.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.batches;
    stats_.items += ready.size();
    stats_.largest_batch = std::max(stats_.largest_batch, int(ready.size()));
  }
  if (failure) {
    for (auto& request : ready) request->promise.set_exception(failure);
    return;
  }
  std::vector<BatchOutputs> items(ready.size());
  for (size_t i = 0; i < ready.size(); ++i) {
    for (const at::Tensor& output : outputs) {
      if (!output.defined()) {
        items[i].emplace_back();
      } else if (ready.size() == 1) {
        items[i].push_back(output);
      } else {
        // A copy, not a view: a view would keep the whole batch's outputs
        // alive (on a GPU: [batch, tokens, dim]) for as long as any one item
        // is kept unread. One more copy of the outputs, small next to the
        // forward.
        items[i].push_back(output.narrow(0, int64_t(i), 1).clone());
      }
    }
  }
  // Recorded after the last copy on this thread's stream: readers on other
  // threads (other streams) wait for it.
  const std::shared_ptr<const OutputsReady> written = OutputsReady::record(output_device(outputs));
  for (size_t i = 0; i < ready.size(); ++i) {
    items[i].ready = written;
    ready[i]->promise.set_value(std::move(items[i]));
  }
}

}  // namespace dinoclip::runtime
