#include "core/device.h"

#include <ATen/Context.h>

#include <algorithm>

#include "core/error.h"

namespace dinoclip {

DeviceSpec parse_device(const std::string& text) {
  if (text == "auto") return {DeviceChoice::kAuto, 0};
  if (text == "cpu") return {DeviceChoice::kCpu, 0};
  if (text == "cuda") return {DeviceChoice::kCuda, 0};
  const std::string prefix = "cuda:";
  if (text.rfind(prefix, 0) == 0) {
    const std::string digits = text.substr(prefix.size());
    const bool all_digits = !digits.empty() && digits.size() <= 3 &&
                            std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!all_digits) {
      throw Error("device '" + text + "': the GPU index after 'cuda:' must be a number (cuda:0, cuda:1, ...)");
    }
    return {DeviceChoice::kCuda, std::stoi(digits)};
  }
  throw Error("unknown device '" + text + "': use auto, cpu, cuda or cuda:N");
}

DeviceChoice parse_device_choice(const std::string& text) { return parse_device(text).choice; }

Precision parse_precision(const std::string& text) {
  if (text == "fp32" || text == "float32") return Precision::kFp32;
  if (text == "fp16" || text == "float16") return Precision::kFp16;
  if (text == "bf16" || text == "bfloat16") return Precision::kBf16;
  if (text == "tf32") return Precision::kTf32;
  throw Error("unknown precision '" + text + "': use fp32, tf32 (CUDA), fp16 (CUDA) or bf16");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kBf16: return "bf16";
    case Precision::kTf32: return "tf32";
  }
  return "?";
}

bool cuda_available() { return at::globalContext().hasCUDA(); }

int cuda_device_count() {
  if (!cuda_available()) return 0;
  return int(at::getNumGPUs());
}

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
      if (cuda_index >= cuda_device_count()) {
        throw Error("device=cuda:" + std::to_string(cuda_index) + ": this machine has " +
                    std::to_string(cuda_device_count()) + " CUDA GPU(s), numbered from 0");
      }
      return c10::Device(c10::kCUDA, c10::DeviceIndex(cuda_index));
  }
  return c10::Device(c10::kCPU);
}

c10::Device resolve_device(const DeviceSpec& spec) { return resolve_device(spec.choice, spec.cuda_index); }

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)  // gcc, and clang (which defines __GNUC__ too)
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
    case Precision::kTf32:
      // The CPU has no TF32 units: running fp32 instead would hide that the
      // choice had no effect, so it is refused like fp16.
      if (device.is_cpu()) {
        throw Error("precision=tf32 uses the TF32 tensor cores of an NVIDIA GPU (Ampere or newer); on the CPU use "
                    "fp32 (exact) or bf16");
      }
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
