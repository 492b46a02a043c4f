#include "runtime/dino_instance.h"

#include <ATen/ATen.h>

#include <chrono>

#include "runtime/instance_options.h"
#include "vision/device_preprocess.h"

namespace dinoclip::runtime {

InstanceSettings dino_instance_settings(const DinoInstanceOptions& options) {
  InstanceSettings settings =
      common_instance_settings("DINO", options.model_path, options.load.device, options.load.dtype, options.batch,
                               options.load.tf32, options.load.cuda_graphs);
  settings.insert(settings.begin() + 4, {"heads", options.load.num_heads ? std::to_string(options.load.num_heads)
                                                                          : std::string("from the width")});
  settings.insert(settings.begin() + 5, {"pos-interpolation", to_string(options.load.pos_interpolation)});
  return settings;
}

bool DinoPending::ready() const {
  return future_.valid() && future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

DinoOutput dino_output(const BatchOutputs& outputs, int grid_h, int grid_w) {
  DinoOutput output;
  output.tokens = outputs.at(0);
  output.cls_attention = outputs.at(1);
  output.grid_h = grid_h;
  output.grid_w = grid_w;
  return output;
}

DinoOutput DinoPending::get() { return dino_output(future_.get(), grid_h_, grid_w_); }

DinoInstance::DinoInstance(DinoModel model, const DinoInstanceOptions& options)
    : memory_use_(model.device()),
      config_(model.config()),
      description_(model.describe()),
      device_(model.device()),
      uploads_(device_),
      instance_(std::move(model), options.batch, thread_setup(options.threads)) {}

namespace {

// One forward of a stacked batch with the outputs `options` ask for.
ModelInstance<DinoModel>::ModelBatchFunction forward_with(const DinoForwardOptions& options) {
  const bool attention = options.cls_attention;
  return [attention](const DinoModel& model, const at::Tensor& batch) -> BatchOutputs {
    DinoForwardOptions forward;
    forward.cls_attention = attention;
    DinoOutput out = model.forward(batch, forward);
    return {out.tokens, out.cls_attention};
  };
}

}  // namespace

std::string DinoInstance::size_key(int height, int width, const DinoForwardOptions& options) const {
  if (options.full_attention) throw Error("full attention matrices are not served by the shared instance");
  const int patch = config_.patch_size;
  if (height <= 0 || width <= 0 || height % patch || width % patch) {
    throw Error("DINO input " + std::to_string(width) + "x" + std::to_string(height) +
                " is not a positive multiple of the patch size " + std::to_string(patch));
  }
  // Only items of one size and one set of outputs can share a forward pass.
  return std::to_string(height) + "x" + std::to_string(width) + (options.cls_attention ? "+attn" : "");
}

DinoPending DinoInstance::submit(ClientId client, int height, int width, const DinoForwardOptions& options,
                                 at::Tensor input, std::function<at::Tensor()> prepare) {
  const std::string key = size_key(height, width, options);
  const int patch = config_.patch_size;
  return DinoPending(instance_.submit(client, key, std::move(input), std::move(prepare), forward_with(options)),
                     height / patch, width / patch);
}

DinoPending DinoInstance::submit_frame(ClientId client, int height, int width, const DinoForwardOptions& options,
                                       FramePlanes frame) {
  // Also keeps frames of another layout, size or device out of each other's batch.
  const std::string key = "frame " + frame.batch_key() + " -> " + size_key(height, width, options);
  check_frame_planes(frame, "DINO frame");  // here, so a bad frame fails alone
  auto prepare = [this, height, width](std::vector<FramePlanes> frames) {
    std::vector<FramePlanes> on_device = uploads_.to_device(std::move(frames));
    at::Tensor inputs = dino_inputs_from_frames(on_device, height, width);
    uploads_.release_after_queued_work(std::move(on_device));
    return inputs;
  };
  const int patch = config_.patch_size;
  return DinoPending(instance_.submit_frame(client, key, std::move(frame), std::move(prepare), forward_with(options)),
                     height / patch, width / patch);
}

std::shared_ptr<DinoInstance> acquire_dino_instance(const std::string& id, const DinoInstanceOptions& options) {
  return InstanceRegistry::global().acquire<DinoInstance>(
      id, dino_instance_settings(options), [&options]() {
        return std::make_shared<DinoInstance>(DinoModel::load(options.model_path, options.load), options);
      });
}

}  // namespace dinoclip::runtime
