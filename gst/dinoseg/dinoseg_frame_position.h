// What a GstBuffer says about its place in the video, as lib/'s FramePosition
// (frame numbering itself is lib/tasks/frame_numbering, unit tested there).
#pragma once

#include <gst/gst.h>

#include "tasks/frame_numbering.h"

namespace dinoclip::gst {

// The buffer's frame counter when its OFFSET/OFFSET_END pair is one (not byte
// positions), and its PTS as stream time in `segment` when both are TIME.
FramePosition frame_position_of(GstBuffer* buffer, const GstSegment& segment);

}  // namespace dinoclip::gst
