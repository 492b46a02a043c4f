// Random-weight models in the official layouts: for the demo when no official
// weights are present (said loudly wherever they are used), for benchmarks,
// and for tests that need a model of a given shape.
#pragma once

#include <cstdint>

#include "io/checkpoint.h"
#include "models/clip.h"
#include "models/dino.h"

namespace dinoclip {

// DINO's own initialisation (truncated normal std 0.02 for linear layers,
// position embeddings and the CLS token; LayerNorm weight 1, bias 0), keys
// exactly as the official state_dict.
StateDict random_dino_weights(const DinoConfig& config, uint64_t seed);

// "vits8", "vits16", "vitb8", "vitb16" (the released DINO ViTs), "tiny"
// (patch 8, dim 64, 2 blocks, 4 heads, like the test fixture),
// "dinov2-vit{s,b,l}14[-reg]" or "dinov3-vit{s,b,l}16" (the released DINOv2 /
// DINOv3 ViTs with MLP FFNs, official key names and buffers).
DinoConfig dino_architecture(const std::string& name);

// OpenAI CLIP's ViT tensors under its state_dict names (visual.*, transformer.*,
// token_embedding, ...): N(0, 0.02) weights, zero biases, unit LayerNorms,
// logit_scale = log(100). For timing a model without its download.
StateDict random_clip_weights(const ClipConfig& config, uint64_t seed);

// "vitb32" or "vitb16" (the released CLIP ViT-B models).
ClipConfig clip_architecture(const std::string& name);

}  // namespace dinoclip
