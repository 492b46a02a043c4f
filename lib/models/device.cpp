#include "models/device.h"

#include <ATen/Context.h>

#include "core/error.h"

namespace dinoclip {

DeviceChoice parse_device_choice(const std::string& text) {
  if (text == "auto") return DeviceChoice::kAuto;
  if (text == "cpu") return DeviceChoice::kCpu;
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) return DeviceChoice::kCuda;
  throw Error("unknown device '" + text + "': use auto, cpu or cuda");
}

Precision parse_precision(const std::string& text) {
  if (text == "fp32" || text == "float32") return Precision::kFp32;
  if (text == "fp16" || text == "float16") return Precision::kFp16;
  if (text == "bf16" || text == "bfloat16") return Precision::kBf16;
  throw Error("unknown precision '" + text + "': use fp32, fp16 or bf16");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kBf16: return "bf16";
  }
  return "?";
}

bool cuda_available() { return at::globalContext().hasCUDA(); }

c10::Device resolve_device(DeviceChoice choice, int cuda_index) {
  switch (choice) {
    case DeviceChoice::kCpu:
      return c10::Device(c10::kCPU);
    case DeviceChoice::kAuto:
      return cuda_available() ? c10::Device(c10::kCUDA, c10::DeviceIndex(cuda_index)) : c10::Device(c10::kCPU);
    case DeviceChoice::kCuda:
      if (!cuda_available()) {
#ifdef DINOCLIP_WITH_CUDA
        throw Error("device=cuda: no CUDA GPU is visible on this machine; use device=cpu or auto");
#else
        throw Error("device=cuda: this dinoclip was built against a CPU-only LibTorch; rebuild with "
                    "-Dlibtorch=/path/to/cuda/libtorch, or use device=cpu");
#endif
      }
      return c10::Device(c10::kCUDA, c10::DeviceIndex(cuda_index));
  }
  return c10::Device(c10::kCPU);
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

c10::ScalarType resolve_precision(Precision precision, const c10::Device& device) {
  switch (precision) {
    case Precision::kFp32:
      return c10::kFloat;
    case Precision::kBf16:
      if (device.is_cpu() && !cpu_has_native_bf16()) {
        throw Error("precision=bf16 on the CPU needs AVX512_BF16 (or AMX), which this CPU lacks: bf16 would be "
                    "emulated and slower than fp32; use precision=fp32");
      }
      return c10::kBFloat16;
    case Precision::kFp16:
      if (device.is_cpu()) throw Error("precision=fp16 needs a GPU; on the CPU use fp32 or bf16");
      return c10::kHalf;
  }
  return c10::kFloat;
}

}  // namespace dinoclip
