// System-memory video frames as FramePlanes (vision/frame_planes.h): the
// frame's planes viewed in place, or staged for a model on a GPU. Frames in
// CUDA memory have their own mapping (common/cuda_frame.h).
#pragma once

#include <gst/video/video.h>

#include <c10/core/Device.h>

#include "vision/frame_planes.h"

namespace dinoclip::gst {

// The planes of a mapped system-memory frame (any of DINOCLIP_FRAME_FORMATS),
// no copy: keep_alive holds the GstVideoFrame mapping and a reference on the
// buffer until the last copy of the result is dropped. YUV frames carry the
// caps' colour matrix and range. Throws dinoclip::Error when the buffer cannot
// be mapped with `flags` or the format is not one the elements read.
FramePlanes map_frame_planes(GstBuffer* buffer, const GstVideoInfo& info, GstMapFlags flags);

// The planes of a frame someone else mapped (a GstVideoFilter's), no copy and
// no keep_alive: valid while `frame` stays mapped. Throws like map_frame_planes.
FramePlanes mapped_frame_planes(const GstVideoFrame& frame);

// A frame on its way to a model on `device`, as little work as possible on
// the calling (streaming) thread: for a GPU, one copy of the planes into
// pinned host memory (the buffer is unmapped before this returns; the upload
// then runs asynchronously with the rest of the batch on the model's worker);
// for the CPU, the mapped frame itself (the worker converts it in place).
// Throws as map_frame_planes.
FramePlanes frame_planes_for_device(GstBuffer* buffer, const GstVideoInfo& info, const c10::Device& device);

}  // namespace dinoclip::gst
