// Pictures out of appsink samples: the one RGB copy out of a mapped frame,
// through gst/frame_convert (packed RGB-family formats repacked, I420/NV12
// converted), so the picture outlives the buffer.
#pragma once

#include <gst/gst.h>

#include "core/image.h"

namespace dinoclip::gstapp {

// The sample's frame as a tightly packed RGB Image. False (and `out`
// untouched) when the sample has no video caps, cannot be mapped, or is in a
// format frame_convert does not read.
bool copy_sample_rgb(GstSample* sample, Image* out);

}  // namespace dinoclip::gstapp
