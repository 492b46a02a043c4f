// A DINO result (lib/models) as the meta library's GstDinoclipFeatures payload,
// without copying: CPU tensors are wrapped, GPU tensors are moved to host
// memory only when someone reads them. Consumers in this plugin (dinoseg,
// attnoverlay) can reach the tensors where they are (resident_tokens,
// resident_attention) and skip the host copy.
#pragma once

#include <ATen/core/Tensor.h>
#include <gst/dinoclip/features-meta.h>

#include "models/dino.h"

namespace dinoclip::gst {

// Takes over `output` (batch item 0). The payload keeps the tensors alive.
GstDinoclipFeatures* make_features_payload(DinoOutput output, int patch_size);

// The tokens [1 + grid_h * grid_w, D] of a payload made by
// make_features_payload, as the model left them (its device and dtype), no
// copy; valid while `features` is alive, never changed by a host read.
// Undefined for payloads another producer made (read their host arrays).
at::Tensor resident_tokens(GstDinoclipFeatures* features);

// The CLS attention [heads, grid_h * grid_w] in the same way (attnoverlay
// draws it on the GPU it is on); undefined when the result has none.
at::Tensor resident_attention(GstDinoclipFeatures* features);

}  // namespace dinoclip::gst
