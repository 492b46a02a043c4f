#include "runtime/instance_options.h"

#include "core/threads.h"

namespace dinoclip::runtime {

std::string precision_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kBFloat16: return "bf16";
    case c10::kHalf: return "fp16";
    case c10::kFloat: return "fp32";
    default: return c10::toString(dtype);
  }
}

InstanceSettings common_instance_settings(const std::string& kind, const std::string& model_path,
                                          c10::Device device, c10::ScalarType dtype, const BatchPolicy& batch,
                                          bool tf32, bool cuda_graphs) {
  InstanceSettings settings = {
      {"model type", kind},
      {"model", model_path},
      {"device", device.str()},
      {"precision", tf32 && dtype == c10::kFloat ? std::string("tf32") : precision_name(dtype)},
      {"batch-size", std::to_string(batch.max_batch)},
      {"batch-timeout", std::to_string(batch.timeout.count() / 1000) + " ms"},
  };
  // Only a GPU uses graphs: on the CPU the switch changes nothing to share.
  if (device.is_cuda()) settings.push_back({"cuda-graphs", cuda_graphs ? "on" : "off"});
  return settings;
}

std::function<void()> thread_setup(int threads) {
  if (threads <= 0) return {};
  return [threads] { configure_threads(ThreadConfig{threads, 0}); };
}

}  // namespace dinoclip::runtime
