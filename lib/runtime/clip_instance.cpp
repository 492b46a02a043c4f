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
      uploads_(device_),
      instance_(std::move(model), options.batch, thread_setup(options.threads)) {}

namespace {

BatchOutputs encode_images(const ClipModel& model, const at::Tensor& batch) {
  return {model.encode_image(batch.to(model.device()))};
}

}  // namespace

std::future<BatchOutputs> ClipInstance::encode_image(ClientId client, at::Tensor input,
                                                     std::function<at::Tensor()> prepare) {
  return instance_.submit(client, "image", std::move(input), std::move(prepare), encode_images);
}

std::future<BatchOutputs> ClipInstance::encode_frame(ClientId client, FramePlanes frame, ClipCrop crop) {
  // Frames of another layout, size, device or crop never share a batch.
  const std::string key =
      "frame " + frame.batch_key() + (crop == ClipCrop::kCenter ? " -> centre crop" : " -> full frame");
  check_frame_planes(frame, "CLIP frame");  // here, so a bad frame fails alone
  auto prepare = [this, crop, resolution = config_.image_resolution](std::vector<FramePlanes> frames) {
    std::vector<FramePlanes> on_device = uploads_.to_device(std::move(frames));
    at::Tensor inputs = clip_inputs_from_frames(on_device, resolution, crop);
    uploads_.release_after_queued_work(std::move(on_device));
    return inputs;
  };
  return instance_.submit_frame(client, key, std::move(frame), std::move(prepare), encode_images);
}

std::shared_ptr<ClipInstance> acquire_clip_instance(const std::string& id, const ClipInstanceOptions& options) {
  return InstanceRegistry::global().acquire<ClipInstance>(id, clip_instance_settings(options), [&options]() {
    return std::make_shared<ClipInstance>(ClipModel::load(options.model_path, options.load), options);
  });
}

}  // namespace dinoclip::runtime
