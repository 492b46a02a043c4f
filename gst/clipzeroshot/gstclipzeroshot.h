// clipzeroshot: CLIP zero-shot labels on video frames from free text, with a
// classification meta and a bus message per classified frame, and an event
// mode for a text query; the pixels pass through untouched.
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_CLIPZEROSHOT (gst_clipzeroshot_get_type())
G_DECLARE_FINAL_TYPE(GstClipzeroshot, gst_clipzeroshot, GST, CLIPZEROSHOT, GstBaseTransform)

typedef enum {
  GST_CLIP_ZERO_SHOT_CROP_CENTER,
  GST_CLIP_ZERO_SHOT_CROP_FULL,
} GstClipZeroShotCrop;

#define GST_TYPE_CLIP_ZERO_SHOT_CROP (gst_clip_zero_shot_crop_get_type())
GType gst_clip_zero_shot_crop_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(clipzeroshot);

G_END_DECLS
