#include "dinofeatures/dinofeatures_payload.h"

#include <ATen/ATen.h>

#include <exception>

namespace dinoclip::gst {
namespace {

// `tokens` and `attention` are the model's tensors and never change after the
// payload is made (resident_tokens may read them from any thread); the host
// copies of a GPU result are made once, on the first host read.
struct HeldTensors {
  at::Tensor tokens;     // [1 + h*w, D]
  at::Tensor attention;  // [heads, h*w], or undefined
  at::Tensor host_tokens;     // float32 host copies (the same tensors for a CPU result)
  at::Tensor host_attention;
  std::shared_ptr<const runtime::OutputsReady> ready;  // GPU: passes when the worker has written the tensors
};

void free_held(gpointer data) { delete static_cast<HeldTensors*>(data); }

// Host, contiguous float32: what the meta's readers get as plain pointers.
at::Tensor to_host_floats(const at::Tensor& tensor) { return tensor.to(at::kCPU, at::kFloat).contiguous(); }

// GstDinoclipFeaturesToHostFunc for GPU results: runs on the first read, in
// whichever thread reads; no exception may leave it (it is called from C).
gboolean held_to_host(gpointer data, const gfloat** tokens, const gfloat** attention) {
  auto* held = static_cast<HeldTensors*>(data);
  try {
    // The copies run on this thread's current stream: after the producer's writes.
    if (held->ready) held->ready->block_current_stream();
    held->host_tokens = to_host_floats(held->tokens);
    *tokens = held->host_tokens.data_ptr<float>();
    if (held->attention.defined()) {
      held->host_attention = to_host_floats(held->attention);
      *attention = held->host_attention.data_ptr<float>();
    }
    return TRUE;
  } catch (const std::exception& e) {
    GST_WARNING("DINO features: copy to host memory failed: %s", e.what());
    return FALSE;
  }
}

}  // namespace

GstDinoclipFeatures* make_features_payload(DinoOutput output, int patch_size,
                                           std::shared_ptr<const runtime::OutputsReady> ready) {
  auto* held =
      new HeldTensors{output.tokens[0], output.cls_attention.defined() ? output.cls_attention[0] : at::Tensor()};
  held->ready = std::move(ready);
  GstDinoclipFeaturesShape shape{};
  shape.grid_height = output.grid_h;
  shape.grid_width = output.grid_w;
  shape.dim = held->tokens.size(1);
  shape.n_heads = held->attention.defined() ? held->attention.size(0) : 0;
  shape.patch_size = patch_size;
  shape.input_width = output.grid_w * patch_size;
  shape.input_height = output.grid_h * patch_size;

  if (!held->tokens.is_cpu()) {
    return gst_dinoclip_features_new_deferred(&shape, held_to_host, held, free_held);
  }
  held->tokens = held->host_tokens = to_host_floats(held->tokens);
  if (held->attention.defined()) held->attention = held->host_attention = to_host_floats(held->attention);
  const float* attention = held->attention.defined() ? held->host_attention.data_ptr<float>() : nullptr;
  return gst_dinoclip_features_new_wrapped(&shape, held->host_tokens.data_ptr<float>(), attention, held, free_held);
}

at::Tensor resident_tokens(GstDinoclipFeatures* features) {
  const auto* held = static_cast<const HeldTensors*>(gst_dinoclip_features_get_producer_data(features, free_held));
  if (!held) return at::Tensor();
  return runtime::ready_on_current_stream(held->ready, held->tokens);
}

at::Tensor resident_attention(GstDinoclipFeatures* features) {
  const auto* held = static_cast<const HeldTensors*>(gst_dinoclip_features_get_producer_data(features, free_held));
  return held ? held->attention : at::Tensor();
}

}  // namespace dinoclip::gst
