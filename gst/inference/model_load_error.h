// An inference element could not load its model in READY->PAUSED: the
// GST_ELEMENT_ERROR a user can act on, the same for every element. A missing
// file is RESOURCE NOT_FOUND; a model-instance-id shared with other settings
// is LIBRARY SETTINGS (the message names the setting); anything else is
// RESOURCE READ with what was expected.
#pragma once

#include <gst/gst.h>

#include <exception>
#include <string>

namespace dinoclip::gst {

// `kind`: "DINO", "CLIP"; `expected`: what the file should be, said after the
// path ("" for nothing); `device`: where it was to run, for the debug details.
void post_model_load_error(GstElement* element, const char* kind, const std::string& path, const std::exception& error,
                           const char* expected, const std::string& device);

}  // namespace dinoclip::gst
