#include "dinofeatures/dinofeatures_payload.h"

#include <ATen/ATen.h>

#include <exception>

namespace dinoclip::gst {
namespace {

struct HeldTensors {
  at::Tensor tokens;     // [1 + h*w, D] float32
  at::Tensor attention;  // [heads, h*w] float32, or undefined
};

void free_held(gpointer data) { delete static_cast<HeldTensors*>(data); }

// Host, contiguous float32: what the meta's readers get as plain pointers.
at::Tensor to_host_floats(const at::Tensor& tensor) { return tensor.to(at::kCPU, at::kFloat).contiguous(); }

// GstDinoFeaturesToHostFunc for GPU results: runs on the first read, in
// whichever thread reads; no exception may leave it (it is called from C).
gboolean held_to_host(gpointer data, const gfloat** tokens, const gfloat** attention) {
  auto* held = static_cast<HeldTensors*>(data);
  try {
    held->tokens = to_host_floats(held->tokens);
    *tokens = held->tokens.data_ptr<float>();
    if (held->attention.defined()) {
      held->attention = to_host_floats(held->attention);
      *attention = held->attention.data_ptr<float>();
    }
    return TRUE;
  } catch (const std::exception& e) {
    GST_WARNING("DINO features: copy to host memory failed: %s", e.what());
    return FALSE;
  }
}

}  // namespace

GstDinoFeatures* make_features_payload(DinoOutput output, int patch_size) {
  auto* held =
      new HeldTensors{output.tokens[0], output.cls_attention.defined() ? output.cls_attention[0] : at::Tensor()};
  GstDinoFeaturesShape shape{};
  shape.grid_height = output.grid_h;
  shape.grid_width = output.grid_w;
  shape.dim = held->tokens.size(1);
  shape.n_heads = held->attention.defined() ? held->attention.size(0) : 0;
  shape.patch_size = patch_size;
  shape.input_width = output.grid_w * patch_size;
  shape.input_height = output.grid_h * patch_size;

  if (!held->tokens.is_cpu()) {
    return gst_dino_features_new_deferred(&shape, held_to_host, held, free_held);
  }
  held->tokens = to_host_floats(held->tokens);
  if (held->attention.defined()) held->attention = to_host_floats(held->attention);
  const float* attention = held->attention.defined() ? held->attention.data_ptr<float>() : nullptr;
  return gst_dino_features_new_wrapped(&shape, held->tokens.data_ptr<float>(), attention, held, free_held);
}

}  // namespace dinoclip::gst
