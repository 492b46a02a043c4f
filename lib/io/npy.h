// NumPy .npy files (format 1.0/2.0, little-endian, C order): read into and
// write from at::Tensor, so the CLI's outputs open with numpy.load and the
// tests read the reference fixtures.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace dinoclip {

// Reads bool/uint8/int8/int16/int32/int64/float16/float32/float64 arrays.
// Throws dinoclip::Error naming the file on anything it cannot read.
at::Tensor read_npy(const std::string& path);

// Writes a contiguous CPU copy of `tensor`. The file is written to a temporary
// name beside `path` and renamed, so a failed write never leaves a torn file.
void write_npy(const std::string& path, const at::Tensor& tensor);

}  // namespace dinoclip
