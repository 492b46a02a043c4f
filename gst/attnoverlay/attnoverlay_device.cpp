#include "attnoverlay/attnoverlay_device.h"

#include "core/device.h"
#include "dinofeatures/dinofeatures_payload.h"

GType gst_dinoclip_attnoverlay_device_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_ATTNOVERLAY_DEVICE_AUTO,
       "follow the negotiated memory: the GPU for CUDA-memory frames, the CPU for system-memory frames", "auto"},
      {GST_DINOCLIP_ATTNOVERLAY_DEVICE_CPU, "the CPU (frames in system memory; the reference drawing)", "cpu"},
      {GST_DINOCLIP_ATTNOVERLAY_DEVICE_GPU,
       "a CUDA GPU: CUDA-memory frames in place; system-memory frames uploaded once to the features' GPU (else GPU "
       "0), drawn there and copied back; an error at start without a GPU",
       "gpu"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) {
    g_once_init_leave(&type, g_enum_register_static("GstDinoclipAttnoverlayDevice", values));
  }
  return type;
}

namespace dinoclip::gst {

std::string gpu_unavailable_reason() {
#ifndef DINOCLIP_WITH_CUDA
  return "this dinoclip was built against a CPU-only LibTorch";
#else
  if (!cuda_available()) return "no CUDA GPU is visible on this machine";
  return "";
#endif
}

const char* gpu_unavailable_advice() {
#ifndef DINOCLIP_WITH_CUDA
  return "use device=cpu or device=auto (both draw on the CPU here), or rebuild dinoclip with "
         "-Dlibtorch=/path/to/cuda/libtorch (docs/gpu.md)";
#else
  return "use device=cpu or device=auto (both draw on the CPU without a GPU)";
#endif
}

namespace {

// The GPU dinofeatures left the frame's features on, if it did.
std::optional<c10::Device> features_gpu(GstBuffer* buffer) {
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(buffer);
  if (!meta) return std::nullopt;
  const at::Tensor tokens = resident_tokens(meta->features);
  if (!tokens.defined() || !tokens.is_cuda()) return std::nullopt;
  return tokens.device();
}

}  // namespace

std::optional<c10::Device> drawing_device(GstDinoclipAttnoverlayDevice choice, const c10::Device& frame_device,
                                          GstBuffer* buffer, const c10::Device& fallback_gpu) {
  switch (choice) {
    case GST_DINOCLIP_ATTNOVERLAY_DEVICE_CPU:
      return std::nullopt;
    case GST_DINOCLIP_ATTNOVERLAY_DEVICE_AUTO:
      if (frame_device.is_cuda()) return frame_device;
      return std::nullopt;
    case GST_DINOCLIP_ATTNOVERLAY_DEVICE_GPU:
      break;
  }
  if (frame_device.is_cuda()) return frame_device;
  return features_gpu(buffer).value_or(fallback_gpu);
}

}  // namespace dinoclip::gst
