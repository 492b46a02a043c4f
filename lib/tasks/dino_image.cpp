#include "tasks/dino_image.h"

#include <ATen/ATen.h>

#include "vision/preprocess.h"

namespace dinoclip {

DinoImageOutput run_dino_on_image(const DinoModel& model, const ImageView& picture, const InputSize& input_size,
                                  const DinoForwardOptions& options) {
  DinoImageOutput result;
  result.size = resolve_input_size(input_size, picture.width, picture.height, model.config().patch_size);
  ImageView view = picture;
  if (input_size.kind == InputSize::Kind::kNative) {
    // Top-left crop to whole patches, as DINO's visualize_attention.py.
    view.width = result.size.width;
    view.height = result.size.height;
  }
  result.output = model.forward(dino_input(view, result.size.height, result.size.width), options);
  return result;
}

}  // namespace dinoclip
