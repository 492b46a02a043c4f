// The one way the CLI, the example apps and the tests turn an ERROR message
// from a pipeline's bus into text: "<message> (<debug details>)", optionally
// led by the name of the element that posted it.
#pragma once

#include <gst/gst.h>

#include <string>

namespace dinoclip::gstapp {

// The text of an ERROR (or WARNING) message; "unknown error" when it carries
// none. `name_source` prefixes "<element name>: ".
std::string bus_error_text(GstMessage* message, bool name_source = false);

// Pops the first ERROR message waiting on `element`'s bus (without waiting)
// and throws dinoclip::Error(prefix + its text); returns when there is none.
void throw_pending_bus_error(GstElement* element, const std::string& prefix, bool name_source = false);

}  // namespace dinoclip::gstapp
