// Mapped GstVideoFrames as the core's image types: packed RGB-family frames
// are viewed in place, I420 / NV12 are converted to RGB by lib/vision.
#pragma once

#include <gst/video/video.h>

#include "core/image.h"

namespace dinoclip::gst {

// The packed layout of a GStreamer format; false for anything else.
bool packed_pixel_format(GstVideoFormat format, PixelFormat* out);

// Something the core can read: a view into the frame itself, or into
// `converted` when the frame had to be converted first.
struct FrameImage {
  Image converted;
  ImageView view;
};

// Throws dinoclip::Error on a format that is neither packed RGB-family nor
// I420 / NV12 (the caps should have refused it).
FrameImage frame_image(const GstVideoFrame& frame);

// A writable view of a mapped packed frame; throws on other formats.
MutableImageView frame_mutable_view(GstVideoFrame& frame);

}  // namespace dinoclip::gst
