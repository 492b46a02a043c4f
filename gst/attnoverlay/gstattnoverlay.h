// attnoverlay: draws the dinoclip metas (DINO attention, heads, PCA,
// segmentation masks, labels) onto the video frames they travel with.
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_ATTN_OVERLAY (gst_attn_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstAttnOverlay, gst_attn_overlay, GST, ATTN_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(attnoverlay);

G_END_DECLS
