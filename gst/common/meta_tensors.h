// The meta payloads' host arrays as (non-owning) tensors for lib/ calls.
// Views only, no copies: valid while the payload is alive.
#pragma once

#include <ATen/core/Tensor.h>
#include <gst/dinoclip/dinoclip-meta.h>

#include "vision/overlay.h"

namespace dinoclip::gst {

// [heads, grid_h, grid_w]; undefined when the result has no attention.
at::Tensor attention_maps(GstDinoFeatures* features);

// [grid_h * grid_w, D]; undefined when the host transfer failed.
at::Tensor patch_tokens(GstDinoFeatures* features);

// [height, width] uint8 class ids.
at::Tensor class_map(GstDinoSegmentation* segmentation);

// The producer's palette, or the DAVIS palette when it gave none.
Palette segmentation_palette(GstDinoSegmentation* segmentation);

}  // namespace dinoclip::gst
