// A DINO result (lib/models) as the meta library's GstDinoclipFeatures payload,
// without copying: CPU tensors are wrapped, GPU tensors are moved to host
// memory only when someone reads them. Consumers in this plugin (dinoseg,
// attnoverlay) can reach the tensors where they are (resident_tokens,
// resident_attention) and skip the host copy.
#pragma once

#include <ATen/core/Tensor.h>
#include <gst/dinoclip/features-meta.h>

#include <memory>

#include "models/dino.h"
#include "runtime/outputs_ready.h"

namespace dinoclip::gst {

// Takes over `output` (batch item 0). The payload keeps the tensors alive.
// `ready`: the event the model's worker recorded after writing a GPU result
// (BatchOutputs::ready); the deferred host copy and resident_tokens() make
// the reading thread's current stream wait for it, whatever stream that is.
GstDinoclipFeatures* make_features_payload(DinoOutput output, int patch_size,
                                           std::shared_ptr<const runtime::OutputsReady> ready = nullptr);

// The tokens [1 + grid_h * grid_w, D] of a payload made by
// make_features_payload, as the model left them (its device and dtype), no
// copy; valid while `features` is alive, never changed by a host read. The
// calling thread's current stream waits for the producer's event first, and
// the tensors' memory is marked as used by that stream.
// Undefined for payloads another producer made (read their host arrays).
at::Tensor resident_tokens(GstDinoclipFeatures* features);

// The CLS attention [heads, grid_h * grid_w] in the same way (attnoverlay
// draws it on the GPU it is on); undefined when the result has none.
at::Tensor resident_attention(GstDinoclipFeatures* features);

}  // namespace dinoclip::gst
