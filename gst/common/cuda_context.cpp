#include "common/cuda_context.h"

#include <gmodule.h>
#include <gst/cuda/cuda-gst.h>
#include <gst/cuda/gstcudabufferpool.h>
#include <gst/cuda/gstcudautils.h>
#include <gst/video/video.h>

#include <map>
#include <mutex>
#include <string>

#include "common/cuda_caps.h"
#include "core/error.h"

GST_DEBUG_CATEGORY_STATIC(dinoclip_cuda_context_debug);
#define GST_CAT_DEFAULT dinoclip_cuda_context_debug

namespace dinoclip::gst {
namespace {

// Driver calls GStreamer 1.22's loader does not export, looked up in the
// driver library it loaded (so only after gst_cuda_load_library succeeded,
// which cuda_memory_usable() guarantees).
struct DriverCalls {
  CUresult (*primary_ctx_retain)(CUcontext*, CUdevice) = nullptr;
  CUresult (*memcpy_peer_async)(CUdeviceptr, CUcontext, CUdeviceptr, CUcontext, size_t, CUstream) = nullptr;
};

const DriverCalls* driver_calls() {
  static std::once_flag once;
  static DriverCalls calls;
  static bool loaded = false;
  std::call_once(once, [] {
    GModule* driver = g_module_open("libcuda.so.1", G_MODULE_BIND_LAZY);
    if (!driver) {
      GST_WARNING("libcuda.so.1 did not open: %s", g_module_error());
      return;
    }
    // Kept open for the process, as GStreamer keeps it.
    loaded = g_module_symbol(driver, "cuDevicePrimaryCtxRetain", reinterpret_cast<gpointer*>(&calls.primary_ctx_retain)) &&
             g_module_symbol(driver, "cuMemcpyPeerAsync", reinterpret_cast<gpointer*>(&calls.memcpy_peer_async));
    if (!loaded) GST_WARNING("the CUDA driver lacks cuDevicePrimaryCtxRetain or cuMemcpyPeerAsync");
  });
  return loaded ? &calls : nullptr;
}

std::string driver_error(CUresult result) {
  const char* name = nullptr;
  CuGetErrorName(result, &name);
  return name ? name : "unknown CUDA error " + std::to_string(int(result));
}

void init_debug() {
  static std::once_flag once;
  std::call_once(once, [] {
    GST_DEBUG_CATEGORY_INIT(dinoclip_cuda_context_debug, "dinoclipcudacontext", 0,
                            "dinoclip: the shared CUDA context (the GPU's primary context)");
  });
}

std::mutex contexts_lock;
std::map<int, GstCudaContext*> contexts;  // one per device, kept until exit

GstCudaContext* wrap_primary_context(int device) {
  const DriverCalls* calls = driver_calls();
  if (!calls) return nullptr;
  CUdevice handle = 0;
  CUresult result = CuDeviceGet(&handle, device);
  if (result != CUDA_SUCCESS) {
    GST_INFO("no CUDA device %d: %s", device, driver_error(result).c_str());
    return nullptr;
  }
  CUcontext primary = nullptr;
  result = calls->primary_ctx_retain(&primary, handle);  // never released: the context lives as long as the process
  if (result != CUDA_SUCCESS) {
    GST_WARNING("cuDevicePrimaryCtxRetain(%d) failed: %s", device, driver_error(result).c_str());
    return nullptr;
  }
  GstCudaContext* context = gst_cuda_context_new_wrapped(primary, handle);
  if (context && g_object_is_floating(context)) gst_object_ref_sink(context);
  GST_INFO("device %d: primary CUDA context %p wrapped as %" GST_PTR_FORMAT, device, primary, context);
  return context;
}

}  // namespace

GstCudaContext* primary_cuda_context(int device) {
  init_debug();
  if (device < 0 || !cuda_memory_usable()) return nullptr;
  std::lock_guard<std::mutex> lock(contexts_lock);
  auto found = contexts.find(device);
  if (found != contexts.end()) return found->second;
  GstCudaContext* context = wrap_primary_context(device);
  if (context) contexts[device] = context;
  return context;
}

bool is_primary_cuda_context(GstCudaContext* context) {
  if (!context) return false;
  guint device = 0;
  g_object_get(context, "cuda-device-id", &device, nullptr);
  GstCudaContext* primary = primary_cuda_context(int(device));
  return primary &&
         (primary == context || gst_cuda_context_get_handle(primary) == gst_cuda_context_get_handle(context));
}

gboolean answer_cuda_context_query(GstElement* element, GstQuery* query, int device) {
  if (GST_QUERY_TYPE(query) != GST_QUERY_CONTEXT) return FALSE;
  const gchar* type = nullptr;
  if (!gst_query_parse_context_type(query, &type) || g_strcmp0(type, GST_CUDA_CONTEXT_TYPE) != 0) return FALSE;
  GstCudaContext* context = primary_cuda_context(device);
  if (!context) return FALSE;
  return gst_cuda_handle_context_query(element, query, context);
}

void share_cuda_context(GstElement* element, int device) {
  GstCudaContext* cuda = primary_cuda_context(device);
  if (!cuda) return;
  GstContext* context = gst_context_new_cuda_context(cuda);
  gst_element_set_context(element, context);
  GST_INFO_OBJECT(element, "sharing the primary CUDA context of device %d", device);
  gst_element_post_message(element, gst_message_new_have_context(GST_OBJECT(element), context));
}

GstBufferPool* new_cuda_buffer_pool(int device, GstCaps* caps, guint min_buffers) {
  GstCudaContext* cuda = primary_cuda_context(device);
  GstVideoInfo info;
  if (!cuda || !gst_video_info_from_caps(&info, caps)) return nullptr;
  GstBufferPool* pool = gst_cuda_buffer_pool_new(cuda);
  GstStructure* config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, caps, guint(GST_VIDEO_INFO_SIZE(&info)), min_buffers, 0);
  gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config(pool, config)) {
    GST_WARNING("the CUDA buffer pool refused its configuration for %" GST_PTR_FORMAT, caps);
    gst_object_unref(pool);
    return nullptr;
  }
  return pool;
}

void copy_from_foreign_context(CUdeviceptr dst, int device, CUdeviceptr src, GstCudaContext* source, size_t bytes,
                               CUstream stream) {
  GstCudaContext* primary = primary_cuda_context(device);
  const DriverCalls* calls = driver_calls();
  if (!primary || !calls) throw Error("no primary CUDA context on device " + std::to_string(device));
  const CUresult result = calls->memcpy_peer_async(
      dst, static_cast<CUcontext>(gst_cuda_context_get_handle(primary)), src,
      static_cast<CUcontext>(gst_cuda_context_get_handle(source)), bytes, stream);
  if (result != CUDA_SUCCESS) {
    throw Error("copying a frame from another CUDA context failed (cuMemcpyPeerAsync: " + driver_error(result) + ")");
  }
}

}  // namespace dinoclip::gst
