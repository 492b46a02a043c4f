// .safetensors: header length, JSON header (dtypes, shapes, offsets,
// __metadata__) and the tensor bytes it points at.
#include <cstdint>

#include "fuzz_util.h"
#include "io/safetensors.h"
#include "tensor_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  (void)dinoclip::looks_like_safetensors(bytes, size);
  dinoclip::fuzz::expect_result_or_error([&] {
    const dinoclip::StateDict tensors = dinoclip::read_safetensors(bytes, size, "fuzz.safetensors", {});
    for (const auto& [name, tensor] : tensors) dinoclip::fuzz::touch_tensor(tensor);
  });
  dinoclip::fuzz::expect_result_or_error(
      [&] { (void)dinoclip::read_safetensors_metadata(bytes, size, "fuzz.safetensors"); });
  return 0;
}
