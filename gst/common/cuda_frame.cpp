#include "common/cuda_frame.h"

#include <ATen/ATen.h>
#include <c10/core/DeviceGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <gst/cuda/gstcudamemory.h>

#include <atomic>
#include <mutex>
#include <string>

#include "common/cuda_context.h"
#include "common/frame_convert.h"
#include "core/error.h"

GST_DEBUG_CATEGORY_STATIC(dinoclip_cuda_debug);
#define GST_CAT_DEFAULT dinoclip_cuda_debug

namespace dinoclip::gst {
namespace {

std::atomic<uint64_t> host_maps{0};
std::atomic<uint64_t> foreign_copies{0};

void init_debug() {
  static std::once_flag once;
  std::call_once(once, [] {
    GST_DEBUG_CATEGORY_INIT(dinoclip_cuda_debug, "dinoclipcuda", 0, "dinoclip: frames in CUDA memory");
  });
}

// Waits for the device's current stream. Through c10::Stream (LibTorch's
// exported device guard), not CUDAStream::synchronize, whose inline body calls
// the CUDA runtime directly: the binaries link no libcudart of their own.
void sync_current_stream(const c10::Device& device) {
  c10::cuda::getCurrentCUDAStream(device.index()).unwrap().synchronize();
}

int device_of(GstCudaContext* context) {
  guint device = 0;
  g_object_get(context, "cuda-device-id", &device, nullptr);
  return int(device);
}

// A GST_MAP_CUDA mapping (taken over) held for as long as tensors view it.
// Released after the device's current stream finished what was queued on the
// frame, so the buffer cannot go back to its pool under a running kernel.
struct CudaMapping {
  GstVideoFrame frame;
  c10::Device device;
  CudaMapping(const GstVideoFrame& mapped, c10::Device where) : frame(mapped), device(where) {}
  CudaMapping(const CudaMapping&) = delete;
  CudaMapping& operator=(const CudaMapping&) = delete;
  ~CudaMapping() {
    try {
      sync_current_stream(device);
    } catch (const std::exception& e) {
      GST_ERROR("synchronising cuda:%d before releasing a frame failed: %s", int(device.index()), e.what());
    }
    gst_video_frame_unmap(&frame);  // drops the mapping's reference to the buffer
  }
};

// The planes of `frame` (mapped for the GPU) as views of device memory: `data`
// of plane p is `base(p)`, its stride GStreamer's.
template <typename Base>
FramePlanes planes_of(const GstVideoFrame& frame, const c10::Device& device, Base base) {
  const GstVideoInfo& info = frame.info;
  const int width = GST_VIDEO_INFO_WIDTH(&info);
  const int height = GST_VIDEO_INFO_HEIGHT(&info);
  const int64_t chroma_w = (width + 1) / 2;
  const int64_t chroma_h = (height + 1) / 2;
  const auto options = at::TensorOptions().dtype(at::kByte).device(device);
  auto stride = [&frame](int p) -> int64_t { return GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p); };
  auto view = [&](int p, at::IntArrayRef sizes, at::IntArrayRef strides) {
    return at::from_blob(base(p), sizes, strides, options);
  };
  FramePlanes planes;
  planes.width = width;
  planes.height = height;
  const GstVideoFormat format = GST_VIDEO_INFO_FORMAT(&info);
  PixelFormat packed;
  if (packed_pixel_format(format, &packed)) {
    const int64_t bpp = bytes_per_pixel(packed);
    planes.layout = FrameLayout::kPacked;
    planes.packed_format = packed;
    planes.planes.push_back(view(0, {height, width, bpp}, {stride(0), bpp, 1}));
    return planes;
  }
  planes.matrix = frame_yuv_matrix(info);
  planes.full_range = frame_full_range(info);
  if (format == GST_VIDEO_FORMAT_I420) {
    planes.layout = FrameLayout::kI420;
    planes.planes.push_back(view(0, {height, width}, {stride(0), 1}));
    planes.planes.push_back(view(1, {chroma_h, chroma_w}, {stride(1), 1}));
    planes.planes.push_back(view(2, {chroma_h, chroma_w}, {stride(2), 1}));
    return planes;
  }
  if (format == GST_VIDEO_FORMAT_NV12) {
    planes.layout = FrameLayout::kNV12;
    planes.planes.push_back(view(0, {height, width}, {stride(0), 1}));
    planes.planes.push_back(view(1, {chroma_h, chroma_w, 2}, {stride(1), 2, 1}));
    return planes;
  }
  throw Error(std::string("a CUDA frame in ") + gst_video_format_to_string(format) +
              ": only RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420 and NV12 are read");
}

// A frame of another CUDA context: its memory copied once into the primary
// context's (an owned tensor), the planes viewing the copy at the same
// offsets. `frame` stays mapped until the copy is done; the caller unmaps it.
FramePlanes copied_from_foreign_context(const GstVideoFrame& frame, GstCudaContext* source,
                                        const c10::Device& device) {
  const auto base = reinterpret_cast<CUdeviceptr>(frame.map[0].data);
  const size_t bytes = frame.map[0].size;
  at::Tensor copy = at::empty({int64_t(bytes)}, at::TensorOptions().dtype(at::kByte).device(device));
  c10::cuda::CUDAStream stream = c10::cuda::getCurrentCUDAStream(device.index());
  copy_from_foreign_context(reinterpret_cast<CUdeviceptr>(copy.data_ptr()), device.index(), base, source, bytes,
                            stream.stream());
  stream.unwrap().synchronize();  // the caller releases the source frame next
  ++foreign_copies;
  GST_DEBUG("frame copied from a foreign CUDA context %" GST_PTR_FORMAT " (%zu bytes)", source, bytes);
  auto* dst = static_cast<std::uint8_t*>(copy.data_ptr());
  FramePlanes planes = planes_of(frame, device, [&frame, dst, base](int p) {
    return dst + (reinterpret_cast<CUdeviceptr>(GST_VIDEO_FRAME_PLANE_DATA(&frame, p)) - base);
  });
  planes.keep_alive = std::make_shared<at::Tensor>(std::move(copy));
  return planes;
}

}  // namespace

bool is_cuda_buffer(GstBuffer* buffer) {
  const guint count = buffer ? gst_buffer_n_memory(buffer) : 0;
  if (count == 0) return false;
  for (guint i = 0; i < count; ++i) {
    if (!gst_is_cuda_memory(gst_buffer_peek_memory(buffer, i))) return false;
  }
  return true;
}

FramePlanes map_cuda_frame_planes(GstBuffer* buffer, const GstVideoInfo& info, GstMapFlags flags) {
  init_debug();
  if (!is_cuda_buffer(buffer)) throw Error("the frame is not in CUDA memory (the caps said memory:CUDAMemory)");
  if (gst_buffer_n_memory(buffer) != 1) {
    throw Error("a CUDA frame in " + std::to_string(gst_buffer_n_memory(buffer)) + " memories (one is read)");
  }
  auto* memory = GST_CUDA_MEMORY_CAST(gst_buffer_peek_memory(buffer, 0));
  const c10::Device device(c10::DeviceType::CUDA, c10::DeviceIndex(device_of(memory->context)));
  const c10::DeviceGuard on_device(device);  // generic guard: no inline CUDA runtime calls here
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &info, buffer, GstMapFlags(flags | GST_MAP_CUDA))) {
    throw Error("could not map a frame in CUDA memory for the GPU (GST_MAP_CUDA)");
  }
  if (!is_primary_cuda_context(memory->context)) {
    try {
      FramePlanes planes = copied_from_foreign_context(frame, memory->context, device);
      gst_video_frame_unmap(&frame);
      return planes;
    } catch (...) {
      sync_current_stream(device);
      gst_video_frame_unmap(&frame);
      throw;
    }
  }
  auto mapping = std::make_shared<CudaMapping>(frame, device);
  FramePlanes planes =
      planes_of(mapping->frame, device, [&mapping](int p) { return GST_VIDEO_FRAME_PLANE_DATA(&mapping->frame, p); });
  planes.keep_alive = std::move(mapping);
  return planes;
}

void note_host_map(GstBuffer* buffer) {
  if (!is_cuda_buffer(buffer)) return;
  init_debug();
  ++host_maps;
  GST_DEBUG("a frame in CUDA memory mapped for the CPU (downloaded): %" GST_PTR_FORMAT, buffer);
}

uint64_t cuda_frames_mapped_to_host() { return host_maps.load(); }

uint64_t cuda_frames_copied_from_foreign_context() { return foreign_copies.load(); }

}  // namespace dinoclip::gst
