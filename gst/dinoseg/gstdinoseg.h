// dinoseg: one-shot video segmentation. Trains a head on the DINO patch
// features of one annotated frame (or takes DINO's label propagation), then
// attaches a class map (GstDinoSegmentationMeta) to every frame.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DINOSEG (gst_dinoseg_get_type())
G_DECLARE_FINAL_TYPE(GstDinoseg, gst_dinoseg, GST, DINOSEG, GstElement)

GST_ELEMENT_REGISTER_DECLARE(dinoseg);

G_END_DECLS
