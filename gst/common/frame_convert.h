// Mapped GstVideoFrames as the core's image types: packed RGB-family frames
// are viewed in place, I420 / NV12 are converted to RGB by lib/vision.
#pragma once

#include <gst/video/video.h>

#include "core/image.h"

// The raw video formats frame_image() reads: the caps of every element that
// reads pixels (dinofeatures, clipzeroshot, attnoverlay), so that an element
// never accepts a format it cannot read. For GST_VIDEO_CAPS_MAKE.
#define DINOCLIP_FRAME_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }"

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

// An owned, tightly packed RGB copy of the frame (any format frame_image
// reads), for pictures that must outlive the mapping. Throws like frame_image.
Image frame_rgb(const GstVideoFrame& frame);

// A writable view of a mapped packed frame; throws on other formats.
MutableImageView frame_mutable_view(GstVideoFrame& frame);

}  // namespace dinoclip::gst

namespace dinoclip::gst {

// Drawing on I420 / NV12: the frame as RGB, and back. Both directions use the
// textbook matrices (YuvConversion::kStandard) so that pixels nothing was drawn
// on come back within a grey level or two.
bool is_planar_yuv(GstVideoFormat format);
Image yuv_frame_to_rgb(const GstVideoFrame& frame);
void write_rgb_to_yuv_frame(const Image& rgb, GstVideoFrame& frame);

}  // namespace dinoclip::gst
