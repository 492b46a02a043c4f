#include "common/cuda_caps.h"

#include <mutex>
#include <string>

#if defined(DINOCLIP_WITH_GST_CUDA)
#include <ATen/Context.h>
#include <gst/cuda/cuda-gst.h>
#include <gst/cuda/gstcudaloader.h>
#endif

namespace dinoclip::gst {
namespace {

#if defined(DINOCLIP_WITH_GST_CUDA)
// gst_cuda_load_library() loads the driver (libcuda.so.1) and its symbols;
// only then may a Cu* call run.
std::string probe_cuda_memory() {
  if (!gst_cuda_load_library()) {
    return "GStreamer's CUDA library found no CUDA driver (libcuda.so.1 did not load)";
  }
  CUresult result = CuInit(0);
  if (result != CUDA_SUCCESS) {
    const char* name = nullptr;
    CuGetErrorName(result, &name);
    return std::string("the CUDA driver did not initialise (") + (name ? name : "unknown error") + ")";
  }
  int devices = 0;
  if (CuDeviceGetCount(&devices) != CUDA_SUCCESS || devices <= 0) return "this machine has no CUDA device";
  if (!at::hasCUDA()) return "LibTorch sees no CUDA device (driver too old for its CUDA version?)";
  return "";
}
#endif

}  // namespace

bool cuda_memory_built() {
#if defined(DINOCLIP_WITH_GST_CUDA)
  return true;
#else
  return false;
#endif
}

const char* cuda_memory_unusable_reason() {
#if defined(DINOCLIP_WITH_GST_CUDA)
  static std::once_flag once;
  static std::string reason;
  std::call_once(once, [] { reason = probe_cuda_memory(); });
  return reason.empty() ? nullptr : reason.c_str();
#else
  return "this build of dinoclip has no CUDA memory support (it needs a CUDA LibTorch and GStreamer's CUDA "
         "library, libgstreamer-plugins-bad1.0-dev)";
#endif
}

bool caps_structure_is_cuda_memory(const GstCaps* caps, guint index) {
  GstCapsFeatures* features = gst_caps_get_features(caps, index);
  return features && !gst_caps_features_is_any(features) &&
         gst_caps_features_contains(features, DINOCLIP_CUDA_MEMORY_FEATURE);
}

bool caps_have_cuda_memory(const GstCaps* caps) {
  if (!caps || gst_caps_is_any(caps)) return false;
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    if (caps_structure_is_cuda_memory(caps, i)) return true;
  }
  return false;
}

bool caps_are_cuda_memory(const GstCaps* caps) {
  if (!caps || gst_caps_is_any(caps) || gst_caps_is_empty(caps)) return false;
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    if (!caps_structure_is_cuda_memory(caps, i)) return false;
  }
  return true;
}

GstCaps* caps_usable_here(GstCaps* caps) {
  if (!caps_have_cuda_memory(caps) || cuda_memory_usable()) return caps;
  caps = gst_caps_make_writable(caps);
  for (guint i = gst_caps_get_size(caps); i-- > 0;) {
    if (caps_structure_is_cuda_memory(caps, i)) gst_caps_remove_structure(caps, i);
  }
  return caps;
}

gboolean check_cuda_memory_caps(GstElement* element, const GstCaps* caps) {
  if (!caps_are_cuda_memory(caps)) return TRUE;
  const char* reason = cuda_memory_unusable_reason();
  if (!reason) return TRUE;
  GST_ELEMENT_ERROR(element, CORE, NEGOTIATION,
                    ("%s cannot take frames in CUDA memory (video/x-raw(memory:CUDAMemory)): %s. Give it frames in "
                     "system memory: put cudadownload before it, or let the decoder output system memory",
                     GST_ELEMENT_NAME(element), reason),
                    ("refused caps %" GST_PTR_FORMAT, caps));
  return FALSE;
}

bool answer_proxied_caps_query(GstPad* pad, GstObject* parent, GstQuery* query, gboolean* result) {
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
      *result = gst_pad_query_default(pad, parent, query);
      GstCaps* caps = nullptr;
      gst_query_parse_caps_result(query, &caps);
      if (*result && caps && caps_have_cuda_memory(caps) && !cuda_memory_usable()) {
        GstCaps* usable = caps_usable_here(gst_caps_ref(caps));
        gst_query_set_caps_result(query, usable);
        gst_caps_unref(usable);
      }
      return true;
    }
    case GST_QUERY_ACCEPT_CAPS: {
      GstCaps* caps = nullptr;
      gst_query_parse_accept_caps(query, &caps);
      if (!check_cuda_memory_caps(GST_ELEMENT(parent), caps)) {
        gst_query_set_accept_caps_result(query, FALSE);
        *result = TRUE;
        return true;
      }
      *result = gst_pad_query_default(pad, parent, query);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace dinoclip::gst
