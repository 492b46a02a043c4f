// float32 matrix products on CUDA: exact fp32 or TF32 tensor cores.
//
// LibTorch chooses TF32 for cuBLAS through one process-wide switch
// (allowTF32CuBLAS). A model loaded with precision=tf32 needs it on, an fp32
// model needs it off, and both may run in one process (streams with their
// own models): a Float32MatmulScope holds the switch in the model's state
// for the length of a forward, and float32 CUDA forwards take turns while
// they hold it. bf16/fp16 models and the CPU do not touch it.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <mutex>

namespace dinoclip {

class Float32MatmulScope {
 public:
  // Active only for a float32 model on CUDA: sets the switch to `tf32`
  // (restored on destruction).
  Float32MatmulScope(const c10::Device& device, c10::ScalarType dtype, bool tf32);
  ~Float32MatmulScope();
  Float32MatmulScope(const Float32MatmulScope&) = delete;
  Float32MatmulScope& operator=(const Float32MatmulScope&) = delete;

  bool active() const { return lock_.owns_lock(); }

 private:
  std::unique_lock<std::mutex> lock_;
  bool previous_ = false;
};

}  // namespace dinoclip
