// dinofeatures: runs a DINO ViT on video frames and attaches the result
// (GstDinoFeaturesMeta) to each buffer; the pixels pass through untouched.
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_DINOFEATURES (gst_dinofeatures_get_type())
G_DECLARE_FINAL_TYPE(GstDinofeatures, gst_dinofeatures, GST, DINOFEATURES, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(dinofeatures);

G_END_DECLS
