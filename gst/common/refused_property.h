// A property change the element cannot apply now (a model-loading property
// while the model is loaded): a GST_WARNING in the element's debug category
// and a WARNING message on the bus, never g_warning (fatal under
// G_DEBUG=fatal-warnings, invisible to applications).
#pragma once

#include <gst/gst.h>

namespace dinoclip::gst {

// The reason an inference element gives for a model-loading property
// (model, device, precision...) changed while its model is loaded.
inline constexpr const char* kModelIsLoaded = "it can only be changed in the NULL or READY state (the model is loaded)";
// The same during READY->PAUSED: the load already read the value it uses.
inline constexpr const char* kModelIsLoading =
    "it can only be changed in the NULL or READY state (the model is being loaded with the previous value; set it "
    "before READY->PAUSED, or go back to READY and set it again)";

// Logs now; posts the bus message from GStreamer's thread pool, because
// property setters run under the element's settings lock and a bus sync
// handler that reads a property back must not deadlock on it.
void warn_refused_property(GstElement* element, GstDebugCategory* category, const char* property,
                           const char* reason = "it can only be changed in the NULL or READY state");

}  // namespace dinoclip::gst
