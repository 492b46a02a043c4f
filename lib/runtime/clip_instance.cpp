#include "runtime/clip_instance.h"

#include <ATen/ATen.h>

#include "runtime/instance_options.h"

namespace dinoclip::runtime {

InstanceSettings clip_instance_settings(const ClipInstanceOptions& options) {
  return common_instance_settings("CLIP", options.model_path, options.load.device, options.load.dtype, options.batch,
                               options.load.tf32, options.load.cuda_graphs);
}

ClipInstance::ClipInstance(ClipModel model, const ClipInstanceOptions& options)
    : memory_use_(model.device()),
      config_(model.config()),
      description_(model.describe()),
      device_(model.device()),
      instance_(std::move(model), options.batch, thread_setup(options.threads)) {}

std::future<BatchOutputs> ClipInstance::encode_image(ClientId client, at::Tensor input,
                                                     std::function<at::Tensor()> prepare) {
  auto run = [](const ClipModel& model, const at::Tensor& batch) -> BatchOutputs {
    return {model.encode_image(batch.to(model.device()))};
  };
  return instance_.submit(client, "image", std::move(input), std::move(prepare), run);
}

std::shared_ptr<ClipInstance> acquire_clip_instance(const std::string& id, const ClipInstanceOptions& options) {
  return InstanceRegistry::global().acquire<ClipInstance>(id, clip_instance_settings(options), [&options]() {
    return std::make_shared<ClipInstance>(ClipModel::load(options.model_path, options.load), options);
  });
}

}  // namespace dinoclip::runtime
