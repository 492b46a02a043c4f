// GstDinoSegmentation payload and GstDinoSegmentationMeta.
#include <gst/dinoclip/segmentation-meta.h>
#include <gst/video/video.h>

#include <algorithm>
#include <vector>

#include "meta_common.h"

struct _GstDinoSegmentation {
  dinoclip_meta::RefCount refs;
  guint width = 0;
  guint height = 0;
  guint n_classes = 0;
  std::vector<guint8> class_map;
  std::vector<guint8> palette;  // empty: none given
};

G_DEFINE_BOXED_TYPE(GstDinoSegmentation, gst_dino_segmentation, gst_dino_segmentation_ref, gst_dino_segmentation_unref)

GstDinoSegmentation* gst_dino_segmentation_new(guint width, guint height, guint n_classes, const guint8* class_map,
                                               const guint8* palette) {
  g_return_val_if_fail(width > 0 && height > 0, nullptr);
  g_return_val_if_fail(n_classes > 0 && n_classes <= 256, nullptr);
  g_return_val_if_fail(class_map != nullptr, nullptr);
  const gsize cells = gsize(width) * height;
  const guint8 largest = *std::max_element(class_map, class_map + cells);
  if (largest >= n_classes) {
    g_critical("gst_dino_segmentation_new: class id %u in the map but n_classes is %u", largest, n_classes);
    return nullptr;
  }
  auto* segmentation = new GstDinoSegmentation;
  segmentation->width = width;
  segmentation->height = height;
  segmentation->n_classes = n_classes;
  segmentation->class_map.assign(class_map, class_map + cells);
  if (palette) segmentation->palette.assign(palette, palette + gsize(n_classes) * 3);
  return segmentation;
}

GstDinoSegmentation* gst_dino_segmentation_ref(GstDinoSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  segmentation->refs.ref();
  return segmentation;
}

void gst_dino_segmentation_unref(GstDinoSegmentation* segmentation) {
  g_return_if_fail(segmentation != nullptr);
  if (segmentation->refs.unref()) delete segmentation;
}

guint gst_dino_segmentation_get_width(const GstDinoSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, 0);
  return segmentation->width;
}

guint gst_dino_segmentation_get_height(const GstDinoSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, 0);
  return segmentation->height;
}

guint gst_dino_segmentation_get_n_classes(const GstDinoSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, 0);
  return segmentation->n_classes;
}

const guint8* gst_dino_segmentation_get_class_map(const GstDinoSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  return segmentation->class_map.data();
}

const guint8* gst_dino_segmentation_get_palette(const GstDinoSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  return segmentation->palette.empty() ? nullptr : segmentation->palette.data();
}

/* ---- the meta ---- */

namespace {

gboolean segmentation_meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<GstDinoSegmentationMeta*>(meta);
  m->segmentation = nullptr;
  m->carried = FALSE;
  return TRUE;
}

void segmentation_meta_free(GstMeta* meta, GstBuffer*) {
  auto* m = reinterpret_cast<GstDinoSegmentationMeta*>(meta);
  if (m->segmentation) gst_dino_segmentation_unref(m->segmentation);
  m->segmentation = nullptr;
}

gboolean segmentation_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer data) {
  if (!dinoclip_meta::whole_frame_payload_survives(type, data)) return FALSE;
  auto* m = reinterpret_cast<GstDinoSegmentationMeta*>(meta);
  return gst_buffer_add_dino_segmentation_meta(dest, m->segmentation, m->carried) != nullptr;
}

}  // namespace

GType gst_dino_segmentation_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar* tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_ORIENTATION_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                nullptr};
  if (g_once_init_enter(&type)) {
    GType api = gst_meta_api_type_register("GstDinoSegmentationMetaAPI", tags);
    g_once_init_leave(&type, api);
  }
  return type;
}

const GstMetaInfo* gst_dino_segmentation_meta_get_info(void) {
  static const GstMetaInfo* info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo* registered = gst_meta_register(GST_DINO_SEGMENTATION_META_API_TYPE, "GstDinoSegmentationMeta",
                                                      sizeof(GstDinoSegmentationMeta), segmentation_meta_init,
                                                      segmentation_meta_free, segmentation_meta_transform);
    g_once_init_leave(&info, registered);
  }
  return info;
}

GstDinoSegmentationMeta* gst_buffer_add_dino_segmentation_meta(GstBuffer* buffer, GstDinoSegmentation* segmentation,
                                                               gboolean carried) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  auto* meta =
      reinterpret_cast<GstDinoSegmentationMeta*>(gst_buffer_add_meta(buffer, GST_DINO_SEGMENTATION_META_INFO, nullptr));
  if (!meta) return nullptr;
  meta->segmentation = gst_dino_segmentation_ref(segmentation);
  meta->carried = carried;
  return meta;
}

GstDinoSegmentationMeta* gst_buffer_get_dino_segmentation_meta(GstBuffer* buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  return reinterpret_cast<GstDinoSegmentationMeta*>(gst_buffer_get_meta(buffer, GST_DINO_SEGMENTATION_META_API_TYPE));
}

GBytes* gst_dino_segmentation_get_class_map_bytes(GstDinoSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  return g_bytes_new_with_free_func(segmentation->class_map.data(), segmentation->class_map.size(),
                                    reinterpret_cast<GDestroyNotify>(gst_dino_segmentation_unref),
                                    gst_dino_segmentation_ref(segmentation));
}
