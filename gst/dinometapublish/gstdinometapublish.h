// dinometapublish: passes buffers through untouched and publishes each
// frame's dinoclip results as one JSON line, to a file (or stdout) or an MQTT
// broker, or stores each classified frame's CLIP image embedding in a
// PostgreSQL video index (pgvector) that `dinoclip search-index` searches; in the spirit of DL Streamer's gvametaconvert + gvametapublish,
// with their property names (method, file-path, address, topic).
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_DINOMETAPUBLISH (gst_dinometapublish_get_type())
G_DECLARE_FINAL_TYPE(GstDinometapublish, gst_dinometapublish, GST, DINOMETAPUBLISH, GstBaseTransform)

typedef enum {
  GST_DINOCLIP_DINOMETAPUBLISH_METHOD_FILE,
  GST_DINOCLIP_DINOMETAPUBLISH_METHOD_MQTT,
  GST_DINOCLIP_DINOMETAPUBLISH_METHOD_POSTGRES,
} GstDinoclipDinometapublishMethod;

#define GST_TYPE_DINOCLIP_DINOMETAPUBLISH_METHOD (gst_dinoclip_dinometapublish_method_get_type())
GType gst_dinoclip_dinometapublish_method_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(dinometapublish);

G_END_DECLS
