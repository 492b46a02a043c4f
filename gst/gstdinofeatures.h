// dinofeatures: runs a DINO ViT on video frames and attaches the result
// (GstDinoFeaturesMeta) to each buffer; the pixels pass through untouched.
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_DINO_FEATURES_ELEMENT (gst_dino_features_element_get_type())
G_DECLARE_FINAL_TYPE(GstDinoFeaturesElement, gst_dino_features_element, GST, DINO_FEATURES_ELEMENT, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(dinofeatures);

G_END_DECLS
