#include "tasks/dino_image.h"

#include <ATen/ATen.h>


namespace dinoclip {

DinoImageInput dino_image_input(const ImageView& picture, const InputSize& input_size, int patch, ScaleMethod method,
                                const c10::Device& device) {
  DinoImageInput result;
  result.size = resolve_input_size(input_size, picture.width, picture.height, patch);
  ImageView view = picture;
  if (input_size.kind == InputSize::Kind::kNative) {
    // Top-left crop to whole patches, as DINO's visualize_attention.py.
    view.width = result.size.width;
    view.height = result.size.height;
  }
  result.input = dino_input(view, result.size.height, result.size.width, method, device);
  return result;
}

DinoImageOutput run_dino_on_image(const DinoModel& model, const ImageView& picture, const InputSize& input_size,
                                  const DinoForwardOptions& options, ScaleMethod method) {
  DinoImageInput prepared = dino_image_input(picture, input_size, model.config().patch_size, method, model.device());
  DinoImageOutput result;
  result.size = prepared.size;
  result.output = model.forward(prepared.input, options);
  return result;
}

}  // namespace dinoclip
