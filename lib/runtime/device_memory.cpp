#include "runtime/device_memory.h"

#include <map>
#include <mutex>

#ifdef DINOCLIP_WITH_CUDA
#include <ATen/DeviceAccelerator.h>
#endif

namespace dinoclip::runtime {
namespace {

std::mutex users_mutex;
std::map<int, int> users;  // CUDA index -> instances holding it

// The CUDA caching allocator's emptyCache, through LibTorch's device-generic
// allocator interface (no CUDA headers needed). Never throws: a failure only
// means the memory stays cached.
void release_cached_memory() {
#ifdef DINOCLIP_WITH_CUDA
  try {
    at::getDeviceAllocator(c10::kCUDA)->emptyCache();
  } catch (...) {
  }
#endif
}

}  // namespace

DeviceMemoryUse::DeviceMemoryUse(const c10::Device& device) {
  if (!device.is_cuda()) return;
  cuda_index_ = device.has_index() ? device.index() : 0;
  std::lock_guard<std::mutex> lock(users_mutex);
  ++users[cuda_index_];
}

DeviceMemoryUse::~DeviceMemoryUse() {
  if (cuda_index_ < 0) return;
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(users_mutex);
    last = --users[cuda_index_] == 0;
    if (last) users.erase(cuda_index_);
  }
  if (last) release_cached_memory();
}

int device_memory_users(int cuda_index) {
  std::lock_guard<std::mutex> lock(users_mutex);
  auto it = users.find(cuda_index);
  return it == users.end() ? 0 : it->second;
}

}  // namespace dinoclip::runtime
