// CUDA memory in the caps of the elements that handle frames (dinofeatures,
// clipzeroshot, dinoseg, attnoverlay): the pad templates list
// video/x-raw(memory:CUDAMemory) first, then system memory, in builds with
// GStreamer's CUDA library (DINOCLIP_WITH_GST_CUDA: a CUDA LibTorch build with
// libgstreamer-plugins-bad1.0-dev); other builds list system memory only.
// At run time the CUDA structures are dropped from every caps answer when the
// library finds no CUDA driver or device (or LibTorch no GPU), so such a
// machine negotiates system memory as before. Compiled in every build, no
// LibTorch and no gst/cuda here.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#define DINOCLIP_CUDA_MEMORY_FEATURE "memory:CUDAMemory"

// Pad template caps for `formats` (a GST_VIDEO_CAPS_MAKE format list).
#if defined(DINOCLIP_WITH_GST_CUDA)
#define DINOCLIP_VIDEO_CAPS(formats) \
  GST_VIDEO_CAPS_MAKE_WITH_FEATURES(DINOCLIP_CUDA_MEMORY_FEATURE, formats) "; " GST_VIDEO_CAPS_MAKE(formats)
// Any format (dinoseg passes frames through untouched).
#define DINOCLIP_ANY_VIDEO_CAPS "video/x-raw(" DINOCLIP_CUDA_MEMORY_FEATURE "); video/x-raw"
#else
#define DINOCLIP_VIDEO_CAPS(formats) GST_VIDEO_CAPS_MAKE(formats)
#define DINOCLIP_ANY_VIDEO_CAPS "video/x-raw"
#endif

namespace dinoclip::gst {

// Whether this build lists CUDA memory caps at all (DINOCLIP_WITH_GST_CUDA).
bool cuda_memory_built();

// Why frames in CUDA memory cannot be taken here, or nullptr when they can:
// the build has no CUDA memory support, GStreamer's CUDA library could not
// load the CUDA driver, there is no CUDA device, or LibTorch sees no GPU.
// Probed once per process; no CUDA driver call happens before the library
// loaded it.
const char* cuda_memory_unusable_reason();
inline bool cuda_memory_usable() { return cuda_memory_unusable_reason() == nullptr; }

// Whether a structure of `caps` has the memory:CUDAMemory feature.
bool caps_structure_is_cuda_memory(const GstCaps* caps, guint index);
// Some / every structure of `caps` is CUDA memory (false for empty or ANY caps).
bool caps_have_cuda_memory(const GstCaps* caps);
bool caps_are_cuda_memory(const GstCaps* caps);

// `caps` (taken) without its CUDA memory structures when CUDA memory is not
// usable here (as is otherwise): for transform_caps / caps query answers.
GstCaps* caps_usable_here(GstCaps* caps);

// For accept-caps: FALSE, after an element error saying why and what to do
// (use system memory: cudadownload before the element), when `caps` are
// CUDA memory only and this build or machine cannot take it; TRUE otherwise
// (the caller then checks the caps as it would have).
gboolean check_cuda_memory_caps(GstElement* element, const GstCaps* caps);

// For an element whose pads proxy caps (dinoseg, GST_PAD_SET_PROXY_CAPS): a
// CAPS or ACCEPT_CAPS query answered as gst_pad_query_default does, without
// CUDA memory where it is unusable (and check_cuda_memory_caps's error).
// Returns false, touching nothing, for other queries.
bool answer_proxied_caps_query(GstPad* pad, GstObject* parent, GstQuery* query, gboolean* result);

}  // namespace dinoclip::gst
