// A shared DINO instance: load (or find) it by model-instance-id, then ask it
// for features of frames. Requests of the same input size and options batch
// together across every client of the instance.
#pragma once

#include <future>
#include <memory>
#include <string>

#include "models/dino.h"
#include "runtime/device_memory.h"
#include "runtime/frame_upload.h"
#include "runtime/instance_registry.h"
#include "runtime/model_instance.h"

namespace dinoclip::runtime {

struct DinoInstanceOptions {
  std::string model_path;
  DinoLoadOptions load;  // device and dtype already resolved
  BatchPolicy batch;
  int threads = 0;       // > 0: LibTorch intra-op threads on the worker thread
};

// What a mismatch check compares (model type, model, device, precision, heads, pos-interpolation, batch-size,
// batch-timeout).
InstanceSettings dino_instance_settings(const DinoInstanceOptions& options);

// A result on its way. get() blocks; throws RequestCancelled or the model's error.
class DinoPending {
 public:
  DinoPending() = default;
  DinoPending(std::future<BatchOutputs> future, int grid_h, int grid_w)
      : future_(std::move(future)), grid_h_(grid_h), grid_w_(grid_w) {}
  bool valid() const { return future_.valid(); }
  bool ready() const;
  DinoOutput get();
  // For callers that wait on the raw outputs themselves (see dino_output()).
  std::future<BatchOutputs> take_future() { return std::move(future_); }

 private:
  std::future<BatchOutputs> future_;
  int grid_h_ = 0;
  int grid_w_ = 0;
};

// A request's outputs as a DinoOutput.
DinoOutput dino_output(const BatchOutputs& outputs, int grid_h, int grid_w);

class DinoInstance {
 public:
  DinoInstance(DinoModel model, const DinoInstanceOptions& options);

  const DinoConfig& config() const { return config_; }  // a copy taken at load: safe from any thread
  const std::string& description() const { return description_; }
  const c10::Device& device() const { return device_; }  // where the model runs (and inputs may be made)
  ClientId new_client() { return instance_.new_client(); }

  // images: [1, 3, H, W] (or undefined and `prepare` makes it on the worker),
  // H and W multiples of the patch size.
  DinoPending submit(ClientId client, int height, int width, const DinoForwardOptions& options, at::Tensor input,
                     std::function<at::Tensor()> prepare = {});

  // A video frame (on the host, pinned, or on a GPU) at model input `height` x
  // `width`: frames with the same layout, size and device batch together, and
  // the worker makes a whole batch's inputs in one pass on the model's device
  // (dino_inputs_from_frames: RGB, antialiased bilinear resize, ImageNet
  // normalisation; the "fast" scale method). Throws dinoclip::Error for a bad
  // size or frame (check_frame_planes).
  DinoPending submit_frame(ClientId client, int height, int width, const DinoForwardOptions& options,
                           FramePlanes frame);

  size_t cancel_pending(ClientId client) { return instance_.cancel_pending(client); }
  void hurry(ClientId client) { instance_.hurry(client); }
  ModelWorker::Stats stats() const { return instance_.stats(); }
  const BatchPolicy& policy() const { return instance_.policy(); }

 private:
  // The batch key of a request of this size and these options (throws on a bad size).
  std::string size_key(int height, int width, const DinoForwardOptions& options) const;

  DeviceMemoryUse memory_use_;  // first: released after the model, so its cached blocks can go
  const DinoConfig config_;
  const std::string description_;
  const c10::Device device_;
  FrameUploads uploads_;  // the worker's only: declared before it, so it outlives the worker thread
  ModelInstance<DinoModel> instance_;
};

// The instance named `id` in the process registry (loaded on first use; an
// empty id loads a private one). Throws dinoclip::Error on a settings mismatch
// and whatever DinoModel::load throws.
std::shared_ptr<DinoInstance> acquire_dino_instance(const std::string& id, const DinoInstanceOptions& options);

}  // namespace dinoclip::runtime
