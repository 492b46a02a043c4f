#include "common/meta_tensors.h"

#include <ATen/ATen.h>

namespace dinoclip::gst {
namespace {

// from_blob wants a mutable pointer; the lib/ calls these feed only read.
at::Tensor view_of(const void* data, at::IntArrayRef sizes, at::ScalarType type) {
  return at::from_blob(const_cast<void*>(data), sizes, at::TensorOptions().dtype(type));
}

}  // namespace

at::Tensor attention_maps(GstDinoFeatures* features) {
  const GstDinoFeaturesShape* shape = gst_dino_features_get_shape(features);
  const gfloat* data = gst_dino_features_get_cls_attention(features, nullptr);
  if (!data) return at::Tensor();
  return view_of(data, {shape->n_heads, shape->grid_height, shape->grid_width}, at::kFloat);
}

at::Tensor patch_tokens(GstDinoFeatures* features) {
  const GstDinoFeaturesShape* shape = gst_dino_features_get_shape(features);
  const gfloat* data = gst_dino_features_get_patch_tokens(features, nullptr);
  if (!data) return at::Tensor();
  return view_of(data, {int64_t(shape->grid_height) * shape->grid_width, shape->dim}, at::kFloat);
}

at::Tensor class_map(GstDinoSegmentation* segmentation) {
  return view_of(gst_dino_segmentation_get_class_map(segmentation),
                 {gst_dino_segmentation_get_height(segmentation), gst_dino_segmentation_get_width(segmentation)},
                 at::kByte);
}

Palette segmentation_palette(GstDinoSegmentation* segmentation) {
  const guint8* colours = gst_dino_segmentation_get_palette(segmentation);
  if (!colours) return davis_palette();
  Palette palette(gst_dino_segmentation_get_n_classes(segmentation));
  for (size_t k = 0; k < palette.size(); ++k) palette[k] = {colours[3 * k], colours[3 * k + 1], colours[3 * k + 2]};
  return palette;
}

}  // namespace dinoclip::gst
