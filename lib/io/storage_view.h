// Copying tensors out of raw checkpoint bytes: the one copy a loader makes.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <string>
#include <vector>

namespace dinoclip {

// A new contiguous tensor holding the view (sizes, strides, offset, all in
// elements) of the little-endian `dtype` elements stored in `storage_bytes`
// bytes at `storage`, which need not be aligned. Throws dinoclip::Error,
// prefixed with `what`, on negative or overflowing sizes/strides and when the
// view reaches past the storage ("storage shorter than needed").
at::Tensor copy_storage_view(const char* storage, size_t storage_bytes, at::ScalarType dtype,
                             const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, int64_t offset,
                             const std::string& what);

// Contiguous strides for `sizes` (row-major).
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& sizes);

}  // namespace dinoclip
