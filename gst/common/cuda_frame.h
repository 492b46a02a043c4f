// Frames in GStreamer CUDA memory (video/x-raw(memory:CUDAMemory)) as
// FramePlanes on their GPU, without a host copy. Only in builds with
// GStreamer's CUDA library: include under #if defined(DINOCLIP_WITH_GST_CUDA)
// (common/cuda_caps.h, for the caps, is in every build).
//
// 1.22's CUDA memory has no stream of its own: producers finish their work
// before pushing, so the planes can be read on LibTorch's current stream at
// once. Whoever writes or reads them on the GPU must synchronise that stream
// before the buffer moves on (keep_alive's release does it for reads).
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include "vision/frame_planes.h"

namespace dinoclip::gst {

// Whether the buffer's memories are CUDA memory (gst_is_cuda_memory on each;
// false for an empty buffer). Check before mapping with GST_MAP_CUDA: a map
// without the flag silently downloads the frame to host memory.
bool is_cuda_buffer(GstBuffer* buffer);

// The frame's planes as uint8 tensors on cuda:N (N = the memory's device), made
// with from_blob over the GST_MAP_CUDA mapping with the memory's own strides and
// offsets (the video meta's when there is one). `flags`: GST_MAP_READ, or
// GST_MAP_READ | GST_MAP_WRITE to draw on the frame; GST_MAP_CUDA is added here.
// keep_alive holds the mapping and a reference to the buffer; dropping it (the
// last copy) synchronises the device's current stream, then unmaps, so the
// buffer cannot be reused while a kernel still reads or writes it.
// A buffer whose memory belongs to another CUDA context than the device's
// primary one (LibTorch's) is copied once, device to device, into memory of the
// primary context (then writes go to that copy, not to the buffer).
// Throws dinoclip::Error on a buffer that is not CUDA memory (is_cuda_buffer)
// or a format FramePlanes cannot hold (packed RGB family, I420, NV12).
FramePlanes map_cuda_frame_planes(GstBuffer* buffer, const GstVideoInfo& info, GstMapFlags flags);

// Host copies of CUDA frames, counted: an element that maps a buffer for the
// CPU calls note_host_map(buffer) first; a CUDA-memory buffer mapped that way
// (GStreamer downloads it) counts one. The target pipeline (nvh264dec !
// dinofeatures ! dinoseg ! attnoverlay ! cudadownload) must count none; the
// GPU tests read the count, the debug log (dinoclipcuda:5) names each.
void note_host_map(GstBuffer* buffer);
uint64_t cuda_frames_mapped_to_host();

// Device to device copies of frames from another CUDA context (see above).
uint64_t cuda_frames_copied_from_foreign_context();

}  // namespace dinoclip::gst
