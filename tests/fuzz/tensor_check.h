// Reads every byte of a tensor a parser returned, so that AddressSanitizer
// sees a tensor built over freed, unmapped or out-of-bounds memory.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <cstdlib>

namespace dinoclip::fuzz {

inline void touch_tensor(const at::Tensor& tensor) {
  if (!tensor.defined() || tensor.numel() == 0) return;
  if (!tensor.is_contiguous()) std::abort();  // parsers promise contiguous, owned tensors
  const auto* bytes = static_cast<const volatile uint8_t*>(tensor.data_ptr());
  const size_t n = size_t(tensor.numel()) * tensor.element_size();
  uint8_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum = uint8_t(sum + bytes[i]);
  (void)sum;
}

}  // namespace dinoclip::fuzz
