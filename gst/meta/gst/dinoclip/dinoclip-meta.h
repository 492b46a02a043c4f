/* dinoclip's public meta API: what dinofeatures (and dinoclip's other
 * elements) attach to video buffers, readable by applications without
 * LibTorch. pkg-config: gstreamer-dinoclip-1.0. See docs/meta-api.md. */
#pragma once

#include <gst/dinoclip/classification-meta.h>
#include <gst/dinoclip/features-meta.h>
#include <gst/dinoclip/segmentation-meta.h>
