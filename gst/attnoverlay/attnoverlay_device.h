// attnoverlay's `device` property: where the drawing runs (gvawatermark's
// device, for dinoclip's overlays), and which device that is for a frame.
#pragma once

#include <glib-object.h>
#include <gst/dinoclip/dinoclip-meta.h>

#include <c10/core/Device.h>

#include <optional>
#include <string>

G_BEGIN_DECLS

typedef enum {
  GST_DINOCLIP_ATTNOVERLAY_DEVICE_AUTO,
  GST_DINOCLIP_ATTNOVERLAY_DEVICE_CPU,
  GST_DINOCLIP_ATTNOVERLAY_DEVICE_GPU,
} GstDinoclipAttnoverlayDevice;

#define GST_TYPE_DINOCLIP_ATTNOVERLAY_DEVICE (gst_dinoclip_attnoverlay_device_get_type())
GType gst_dinoclip_attnoverlay_device_get_type(void);

G_END_DECLS

namespace dinoclip::gst {

// device=gpu at start: empty when a GPU can be drawn on; otherwise why not
// (a CPU-only build, or no GPU on the machine), for the element's error.
std::string gpu_unavailable_reason();

// What to do instead, for that error.
const char* gpu_unavailable_advice();

// The device a frame is drawn on; nullopt: the CPU drawing (overlay.h, the
// reference), on the mapped frame.
//  cpu:  always nullopt.
//  auto: the frame's GPU when the negotiated caps are CUDA memory; frames in
//        system memory are drawn on the CPU, as before the property existed.
//  gpu:  CUDA memory frames on their GPU; system-memory frames are uploaded
//        once to the GPU that holds the frame's DINO features (dinofeatures on
//        a GPU), else to `fallback_gpu`, drawn there, and copied back.
// `frame_device`: the mapped frame's device (CPU for system memory).
std::optional<c10::Device> drawing_device(GstDinoclipAttnoverlayDevice choice, const c10::Device& frame_device,
                                          GstBuffer* buffer, const c10::Device& fallback_gpu);

}  // namespace dinoclip::gst
