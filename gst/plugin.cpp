// The `dinoclip` plugin: DINO and CLIP for video.
#include <gst/gst.h>

#include "attnoverlay/gstattnoverlay.h"
#include "clipzeroshot/gstclipzeroshot.h"
#include "dinofeatures/gstdinofeatures.h"
#include "dinometapublish/gstdinometapublish.h"
#include "dinoseg/gstdinoseg.h"

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(dinofeatures, plugin);
  ok |= GST_ELEMENT_REGISTER(attnoverlay, plugin);
  ok |= GST_ELEMENT_REGISTER(dinoseg, plugin);
  ok |= GST_ELEMENT_REGISTER(clipzeroshot, plugin);
  ok |= GST_ELEMENT_REGISTER(dinometapublish, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, dinoclip,
                  "DINO self-supervised vision transformers and CLIP on video: features, attention, overlays",
                  plugin_init, VERSION, "LGPL", "dinoclip", "Unknown package origin")
