// The GParamFlags every dinoclip element gives its properties, once, so that
// gst-inspect-1.0 reads the same for all of them: when a property may change
// (GST_PARAM_MUTABLE_*) is part of its contract.
#pragma once

#include <gst/gst.h>

namespace dinoclip::gst {

inline constexpr GParamFlags kParamReadWrite = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
// Read when the element starts (READY->PAUSED): a model, a file, a device.
inline constexpr GParamFlags kParamLoadTime = GParamFlags(kParamReadWrite | GST_PARAM_MUTABLE_READY);
// Applied from the next frame, also while PLAYING.
inline constexpr GParamFlags kParamAnyTime = GParamFlags(kParamReadWrite | GST_PARAM_MUTABLE_PLAYING);
// Counters and state the element reports.
inline constexpr GParamFlags kParamReadOnly = GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

}  // namespace dinoclip::gst
