// One picture through DINO, the way both `dinoclip dino-features/attention/pca`
// and the dinofeatures element run it: the input size resolved against the
// picture and the patch ("480x480", "short:448", "native"), a top-left crop to
// whole patches for "native" (as DINO's visualize_attention.py), the resize
// (PIL-exact on the CPU, or antialiased on the model's device: ScaleMethod)
// and ImageNet normalisation, one forward.
#pragma once

#include "core/image.h"
#include "models/dino.h"
#include "vision/device_preprocess.h"
#include "vision/input_size.h"

namespace dinoclip {

// The model input for one picture, without the forward: what the
// dinofeatures element hands to its inference scheduler.
struct DinoImageInput {
  at::Tensor input;   // [1, 3, H, W], normalised
  ResolvedSize size;  // the model input size actually used
};

// The input is made on `device` (exact: on the CPU, then moved there).
// Throws dinoclip::Error when the size does not fit the model (a fixed size
// that is not a multiple of the patch, a picture smaller than one patch).
DinoImageInput dino_image_input(const ImageView& picture, const InputSize& input_size, int patch,
                                ScaleMethod method = ScaleMethod::kExact,
                                const c10::Device& device = c10::Device(c10::kCPU));

struct DinoImageOutput {
  DinoOutput output;
  ResolvedSize size;  // the model input size actually used
};

// dino_image_input on the model's device, then one forward. Throws as
// dino_image_input does.
DinoImageOutput run_dino_on_image(const DinoModel& model, const ImageView& picture, const InputSize& input_size,
                                  const DinoForwardOptions& options = {}, ScaleMethod method = ScaleMethod::kExact);

}  // namespace dinoclip
