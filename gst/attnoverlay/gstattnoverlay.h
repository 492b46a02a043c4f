// attnoverlay: draws the dinoclip metas (DINO attention, heads, PCA,
// segmentation masks, labels) onto the video frames they travel with.
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_DINOCLIP_ATTNOVERLAY (gst_dinoclip_attnoverlay_get_type())
G_DECLARE_FINAL_TYPE(GstDinoclipAttnoverlay, gst_dinoclip_attnoverlay, GST, DINOCLIP_ATTNOVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(attnoverlay);

G_END_DECLS
