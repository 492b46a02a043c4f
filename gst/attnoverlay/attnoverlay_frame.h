// A mapped system-memory GstVideoFrame as FramePlanes (strided host views, no
// copy) for DeviceOverlay: attnoverlay's own adapter until the shared
// gst/common/frame_planes_map arrives; valid while the frame stays mapped.
#pragma once

#include <gst/video/video.h>

#include "vision/frame_planes.h"

namespace dinoclip::gst {

// Packed RGB family, I420 or NV12 (what attnoverlay's caps accept); throws
// dinoclip::Error on another format.
FramePlanes mapped_frame_planes(GstVideoFrame& frame);

}  // namespace dinoclip::gst
