// Writing .safetensors files (the format the loaders read back), e.g. for
// generated random-weight models and for saving trained segmentation heads.
#pragma once

#include <map>
#include <string>

#include "io/checkpoint.h"

namespace dinoclip {

// Tensors are written in name order, little-endian, contiguous; `metadata`
// goes to the header's "__metadata__". Atomic: temporary file, then rename.
void save_safetensors(const std::string& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace dinoclip
