// A DINO result (lib/models) as the meta library's GstDinoFeatures payload,
// without copying: CPU tensors are wrapped, GPU tensors are moved to host
// memory only when someone reads them.
#pragma once

#include <gst/dinoclip/features-meta.h>

#include "models/dino.h"

namespace dinoclip::gst {

// Takes over `output` (batch item 0). The payload keeps the tensors alive.
GstDinoFeatures* make_features_payload(DinoOutput output, int patch_size);

}  // namespace dinoclip::gst
