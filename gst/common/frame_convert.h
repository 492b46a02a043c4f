// Mapped GstVideoFrames as the core's image types: packed RGB-family frames
// are viewed in place, I420 / NV12 are converted to RGB by lib/vision.
#pragma once

#include <gst/video/video.h>

#include "core/image.h"
#include "vision/color_convert.h"

// The raw video formats frame_image() reads: the caps of every element that
// reads pixels (dinofeatures, clipzeroshot, attnoverlay), so that an element
// never accepts a format it cannot read. For GST_VIDEO_CAPS_MAKE.
#define DINOCLIP_FRAME_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }"

namespace dinoclip::gst {

// How the caps say Y'CbCr becomes RGB: BT.709 for HD colorimetry, BT.601
// otherwise; full range (0..255) or limited.
YuvMatrix frame_yuv_matrix(const GstVideoInfo& info);
bool frame_full_range(const GstVideoInfo& info);

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

namespace dinoclip {
struct YuvPlanes;  // vision/yuv_overlay_canvas.h
}

namespace dinoclip::gst {

// Drawing on I420 / NV12 (attnoverlay): the mapped frame's planes, writable,
// with the caps' matrix and range, for YuvOverlayCanvas.
bool is_planar_yuv(GstVideoFormat format);
YuvPlanes frame_yuv_planes(GstVideoFrame& frame);

}  // namespace dinoclip::gst
