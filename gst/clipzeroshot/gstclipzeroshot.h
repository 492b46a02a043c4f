// clipzeroshot: CLIP zero-shot labels on video frames from free text, with a
// classification meta and a bus message per classified frame, and an event
// mode for a text query; the pixels pass through untouched.
#pragma once

#include "inference/gstdinoclipinference.h"

G_BEGIN_DECLS

#define GST_TYPE_CLIPZEROSHOT (gst_clipzeroshot_get_type())
G_DECLARE_FINAL_TYPE(GstClipzeroshot, gst_clipzeroshot, GST, CLIPZEROSHOT, GstDinoclipInference)

typedef enum {
  GST_DINOCLIP_CLIPZEROSHOT_CROP_CENTER,
  GST_DINOCLIP_CLIPZEROSHOT_CROP_FULL,
} GstDinoclipClipzeroshotCrop;

#define GST_TYPE_DINOCLIP_CLIPZEROSHOT_CROP (gst_dinoclip_clipzeroshot_crop_get_type())
GType gst_dinoclip_clipzeroshot_crop_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(clipzeroshot);

G_END_DECLS
