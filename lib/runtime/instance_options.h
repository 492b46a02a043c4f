// Settings shared by every model instance kind, in the words users see.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <functional>
#include <string>

#include "runtime/instance_registry.h"
#include "runtime/model_worker.h"

namespace dinoclip::runtime {

// "fp32", "bf16", "fp16" (the precision property's names).
std::string precision_name(c10::ScalarType dtype);

// {model type, model, device, precision, batch-size, batch-timeout}, and
// cuda-graphs on a GPU. precision says tf32 for a float32 model with `tf32`.
InstanceSettings common_instance_settings(const std::string& kind, const std::string& model_path,
                                          c10::Device device, c10::ScalarType dtype, const BatchPolicy& batch,
                                          bool tf32 = false, bool cuda_graphs = true);

// Applies LibTorch's intra-op thread count on the thread that calls it (none when threads <= 0).
std::function<void()> thread_setup(int threads);

}  // namespace dinoclip::runtime
