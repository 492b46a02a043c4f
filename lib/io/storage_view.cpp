#include "io/storage_view.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace dinoclip {
namespace {

// Sizes of real tensors are far below 2^62 elements; anything above is corrupt,
// and the limit keeps every product below in 128-bit range.
constexpr unsigned __int128 kMaxElements = uint64_t(1) << 62;
constexpr size_t kMaxDims = 64;

void check_shape(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, int64_t offset,
                 const std::string& what) {
  if (sizes.size() != strides.size()) throw Error(what + ": size and stride have different lengths");
  if (sizes.size() > kMaxDims) throw Error(what + ": " + std::to_string(sizes.size()) + " dimensions (corrupt)");
  if (offset < 0) throw Error(what + ": negative storage offset " + std::to_string(offset));
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0 || strides[i] < 0) {
      throw Error(what + ": negative size or stride in dimension " + std::to_string(i) + " (corrupt)");
    }
  }
}

// Number of elements, or throws when it is absurd.
unsigned __int128 element_count(const std::vector<int64_t>& sizes, const std::string& what) {
  unsigned __int128 n = 1;
  for (int64_t s : sizes) {
    n *= uint64_t(s);
    if (n > kMaxElements) throw Error(what + ": shape holds more than 2^62 elements (corrupt)");
  }
  return n;
}

// One past the last element the view touches (the view has elements).
unsigned __int128 view_extent(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                              int64_t offset, const std::string& what) {
  unsigned __int128 last = uint64_t(offset);
  for (size_t i = 0; i < sizes.size(); ++i) {
    last += (unsigned __int128)(uint64_t(sizes[i] - 1)) * uint64_t(strides[i]);
    if (last > kMaxElements * 4) throw Error(what + ": stride reaches beyond 2^64 bytes (corrupt)");
  }
  return last + 1;
}

bool is_contiguous(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
  const std::vector<int64_t> expected = contiguous_strides(sizes);
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] != 1 && strides[i] != expected[i]) return false;
  }
  return true;
}

}  // namespace

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> strides(sizes.size(), 1);
  for (size_t i = sizes.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<int64_t>(sizes[i], 1);
  return strides;
}

at::Tensor copy_storage_view(const char* storage, size_t storage_bytes, at::ScalarType dtype,
                             const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, int64_t offset,
                             const std::string& what) {
  check_shape(sizes, strides, offset, what);
  const auto options = at::TensorOptions().dtype(dtype);
  const unsigned __int128 count = element_count(sizes, what);
  if (count == 0) return at::empty(sizes, options);
  const size_t element = c10::elementSize(dtype);
  const unsigned __int128 extent = view_extent(sizes, strides, offset, what);
  if (extent * element > storage_bytes) {
    throw Error(what + ": storage shorter than needed (the tensor reaches byte " +
                std::to_string(uint64_t(extent * element)) + " of a " + std::to_string(storage_bytes) +
                "-byte storage): truncated or corrupt file");
  }
  if (is_contiguous(sizes, strides)) {
    at::Tensor out = at::empty(sizes, options);
    std::memcpy(out.data_ptr(), storage + size_t(offset) * element, size_t(count) * element);
    return out;
  }
  at::Tensor source;
  if (reinterpret_cast<uintptr_t>(storage) % element == 0) {
    source = at::from_blob(const_cast<char*>(storage), {int64_t(extent)}, options);
  } else {  // ATen kernels expect aligned elements: stage an aligned copy of the storage
    source = at::empty({int64_t(extent)}, options);
    std::memcpy(source.data_ptr(), storage, size_t(extent) * element);
  }
  return source.as_strided(sizes, strides, offset).clone(at::MemoryFormat::Contiguous);
}

}  // namespace dinoclip
