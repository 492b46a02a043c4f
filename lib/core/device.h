// Choosing where and in which precision models run, from user-facing names.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace dinoclip {

enum class DeviceChoice { kAuto, kCpu, kCuda };
// kTf32: float32 weights and activations, matrix products on the GPU's TF32
// tensor cores (10-bit mantissa inputs, float32 sums); CUDA only.
enum class Precision { kFp32, kFp16, kBf16, kTf32 };

// A device as users name it: "auto", "cpu", "cuda" (GPU 0) or "cuda:N".
struct DeviceSpec {
  DeviceChoice choice = DeviceChoice::kAuto;
  int cuda_index = 0;
};

// Parses the names above; anything else (including "cuda:", "cuda:-1",
// "cuda:x") throws dinoclip::Error saying what is accepted.
DeviceSpec parse_device(const std::string& text);
// parse_device(text).choice, for callers that only use GPU 0.
DeviceChoice parse_device_choice(const std::string& text);
Precision parse_precision(const std::string& text);  // "fp32" | "fp16" | "bf16" | "tf32"
const char* precision_name(Precision precision);

bool cuda_available();  // this build has CUDA and the machine has a GPU

// auto -> cuda when available, else cpu; cuda without CUDA -> an error that
// says whether the build or the machine lacks it; cuda:N past the last GPU ->
// an error naming how many there are.
c10::Device resolve_device(DeviceChoice choice, int cuda_index = 0);
c10::Device resolve_device(const DeviceSpec& spec);

// Number of CUDA GPUs this process sees (0 without CUDA).
int cuda_device_count();

// The CPU has native bf16 dot products (AVX512_BF16; AMX CPUs have it too).
bool cpu_has_native_bf16();

// The tensor dtype for a precision on a device. fp16 on the CPU is refused
// (LibTorch's CPU kernels for half are slow or missing). bf16 on the CPU needs
// native bf16 (cpu_has_native_bf16): precision is always an explicit choice
// (every default is fp32), so without it this is an error, not a fallback.
// tf32 is float32 tensors (kFloat; see uses_tf32) and is refused on the CPU.
c10::ScalarType resolve_precision(Precision precision, const c10::Device& device);

// The float32 matrix products run on TF32 tensor cores (precision=tf32).
inline bool uses_tf32(Precision precision) { return precision == Precision::kTf32; }

}  // namespace dinoclip
