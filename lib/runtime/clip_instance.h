// A shared CLIP instance: image embeddings batched across every client of the
// instance; text encodings (labels, queries) run as jobs on the same worker, so
// the text and image towers never run at the same time either.
#pragma once

#include <future>
#include <memory>
#include <string>

#include "models/clip.h"
#include "runtime/device_memory.h"
#include "runtime/frame_upload.h"
#include "runtime/instance_registry.h"
#include "runtime/model_instance.h"
#include "vision/device_preprocess.h"

namespace dinoclip::runtime {

struct ClipInstanceOptions {
  std::string model_path;
  ClipLoadOptions load;  // device and dtype already resolved
  BatchPolicy batch;
  int threads = 0;
};

InstanceSettings clip_instance_settings(const ClipInstanceOptions& options);

class ClipInstance {
 public:
  ClipInstance(ClipModel model, const ClipInstanceOptions& options);

  const ClipConfig& config() const { return config_; }  // a copy taken at load
  const std::string& description() const { return description_; }
  const c10::Device& device() const { return device_; }  // where the model runs (and inputs may be made)
  ClientId new_client() { return instance_.new_client(); }

  // The raw image embedding [1, E] of a [1, 3, R, R] CLIP input (or of what
  // `prepare` makes on the worker).
  std::future<BatchOutputs> encode_image(ClientId client, at::Tensor input, std::function<at::Tensor()> prepare = {});

  // The raw image embedding [1, E] of a video frame (on the host, pinned, or
  // on a GPU): frames with the same layout, size, device and `crop` batch
  // together, and the worker makes a whole batch's inputs in one pass on the
  // model's device (clip_inputs_from_frames; the "fast" scale method). Throws
  // dinoclip::Error for a bad frame (check_frame_planes).
  std::future<BatchOutputs> encode_frame(ClientId client, FramePlanes frame, ClipCrop crop);

  // Runs job(model) alone on the worker (text encodings).
  template <typename F>
  auto call(ClientId client, F job) {
    return instance_.call(client, std::move(job));
  }

  size_t cancel_pending(ClientId client) { return instance_.cancel_pending(client); }
  void hurry(ClientId client) { instance_.hurry(client); }
  ModelWorker::Stats stats() const { return instance_.stats(); }

 private:
  DeviceMemoryUse memory_use_;  // first: released after the model, so its cached blocks can go
  const ClipConfig config_;
  const std::string description_;
  const c10::Device device_;
  FrameUploads uploads_;  // the worker's only: declared before it, so it outlives the worker thread
  ModelInstance<ClipModel> instance_;
};

std::shared_ptr<ClipInstance> acquire_clip_instance(const std::string& id, const ClipInstanceOptions& options);

}  // namespace dinoclip::runtime
