// Training progress as a standard GST_MESSAGE_PROGRESS (code
// "dinoseg-training"), which gst-launch-1.0 prints and applications can
// show, alongside dinoseg's own "dinoseg-progress" element message.
#pragma once

#include <gst/gst.h>

namespace dinoclip::gst {

inline constexpr const char* kTrainingProgressCode = "dinoseg-training";

// START before the first step (iteration 0), CONTINUE while iteration <
// iterations, COMPLETE at the last one. The structure also carries
// iteration, iterations, loss (NaN at START) and percent.
void post_training_progress(GstElement* element, int iteration, int iterations, double loss);

}  // namespace dinoclip::gst
