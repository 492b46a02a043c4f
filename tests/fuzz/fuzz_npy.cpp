// NumPy .npy files (read_npy): magic, version, header dict (descr, order,
// shape), data size. Written to a scratch file because read_npy takes a path,
// as its users (CLI, index, tests) do.
#include <cstdint>

#include "fuzz_util.h"
#include "io/npy.h"
#include "tensor_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dinoclip::fuzz::ScratchPath file("input.npy");
  file.write(data, size);
  dinoclip::fuzz::expect_result_or_error([&] { dinoclip::fuzz::touch_tensor(dinoclip::read_npy(file.path())); });
  return 0;
}
