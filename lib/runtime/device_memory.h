// Gives a GPU's cached memory back when no model instance uses it any more.
// LibTorch's CUDA caching allocator keeps freed blocks reserved for reuse, so
// after a pipeline stops the process still holds the memory its frames used.
// Each instance on a CUDA device holds a DeviceMemoryUse; when the last one
// for a device goes (after its model and worker: declare it first), the
// allocator's unused cached blocks are released (emptyCache). Blocks still
// in use (a buffer downstream holding its features) stay. A no-op on the CPU
// and in builds without CUDA.
#pragma once

#include <c10/core/Device.h>

namespace dinoclip::runtime {

class DeviceMemoryUse {
 public:
  explicit DeviceMemoryUse(const c10::Device& device);
  ~DeviceMemoryUse();
  DeviceMemoryUse(const DeviceMemoryUse&) = delete;
  DeviceMemoryUse& operator=(const DeviceMemoryUse&) = delete;

 private:
  int cuda_index_ = -1;  // -1: not a CUDA device
};

// Instances holding CUDA device `cuda_index` now (for tests and logs).
int device_memory_users(int cuda_index);

}  // namespace dinoclip::runtime
