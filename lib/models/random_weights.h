// Random-weight models in the official layouts: for the demo when no official
// weights are present (said loudly wherever they are used), for benchmarks,
// and for tests that need a model of a given shape.
#pragma once

#include <cstdint>

#include "io/checkpoint.h"
#include "models/dino.h"

namespace dinoclip {

// DINO's own initialisation (truncated normal std 0.02 for linear layers,
// position embeddings and the CLS token; LayerNorm weight 1, bias 0), keys
// exactly as the official state_dict.
StateDict random_dino_weights(const DinoConfig& config, uint64_t seed);

// "vits8", "vits16", "vitb8", "vitb16" (the released DINO ViTs) or "tiny"
// (patch 8, dim 64, 2 blocks, 4 heads, like the test fixture).
DinoConfig dino_architecture(const std::string& name);

}  // namespace dinoclip
