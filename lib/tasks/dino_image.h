// One picture through DINO, the way both `dinoclip dino-features/attention/pca`
// and the dinofeatures element run it: the input size resolved against the
// picture and the patch ("480x480", "short:448", "native"), a top-left crop to
// whole patches for "native" (as DINO's visualize_attention.py), the
// PIL-exact resize and ImageNet normalisation, one forward.
#pragma once

#include "core/image.h"
#include "models/dino.h"
#include "vision/input_size.h"

namespace dinoclip {

struct DinoImageOutput {
  DinoOutput output;
  ResolvedSize size;  // the model input size actually used
};

// Throws dinoclip::Error when the size does not fit the model (a fixed size
// that is not a multiple of the patch, a picture smaller than one patch).
DinoImageOutput run_dino_on_image(const DinoModel& model, const ImageView& picture, const InputSize& input_size,
                                  const DinoForwardOptions& options = {});

}  // namespace dinoclip
