// Precompiled header for libdinoclip: LibTorch's headers cost ~4-18 s per file
// otherwise. Only the narrow headers the core needs; never <torch/torch.h>.

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <string>
#include <vector>
#include <map>
